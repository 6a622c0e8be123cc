package lambda

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// The settings Lambda keeps and the emulator stores and reports without
// acting on them (there is no VPC, KMS or X-Ray here), except the log
// group, which invocations write to, and reserved concurrency, which
// throttles.

type vpcConfig struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	Ipv6AllowedForDualStack *bool    `json:"Ipv6AllowedForDualStack,omitempty"`
}

type vpcConfigResponse struct {
	SubnetIds               []string `json:"SubnetIds"`
	SecurityGroupIds        []string `json:"SecurityGroupIds"`
	VpcId                   string   `json:"VpcId"`
	Ipv6AllowedForDualStack bool     `json:"Ipv6AllowedForDualStack"`
}

type tracingConfig struct {
	Mode *string `json:"Mode"`
}

type loggingConfig struct {
	LogFormat           *string `json:"LogFormat,omitempty"`
	ApplicationLogLevel *string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      *string `json:"SystemLogLevel,omitempty"`
	LogGroup            *string `json:"LogGroup,omitempty"`
}

// Limits and patterns of Lambda's API model.
const (
	maxSubnets        = 16
	maxSecurityGroups = 5
	// accountLimit is the default concurrent-executions quota Lambda
	// reports, and minUnreserved what it keeps unreserved.
	accountLimit, minUnreserved = 1000, 100
)

var (
	subnetRE   = regexp.MustCompile(`^subnet-[0-9a-z]*$`)
	sgRE       = regexp.MustCompile(`^sg-[0-9a-zA-Z]*$`)
	kmsPattern = `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`
	kmsRE      = regexp.MustCompile(`^` + kmsPattern + `$`)
	logGroupRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
)

// checkSettings validates the VPC, tracing, logging and KMS settings of a
// create or update, as Lambda does: model constraints into v, the rest as
// InvalidParameterValueException.
func checkSettings(v *awsproto.Validation, vpc *vpcConfig, tracing *tracingConfig, logging *loggingConfig, kms *string) *awsproto.Error {
	if vpc != nil {
		if len(vpc.SubnetIds) > maxSubnets {
			v.Add(fmt.Sprintf("[%s]", strings.Join(vpc.SubnetIds, ", ")), "vpcConfig.subnetIds", fmt.Sprintf("Member must have length less than or equal to %d", maxSubnets))
		}
		if len(vpc.SecurityGroupIds) > maxSecurityGroups {
			v.Add(fmt.Sprintf("[%s]", strings.Join(vpc.SecurityGroupIds, ", ")), "vpcConfig.securityGroupIds", fmt.Sprintf("Member must have length less than or equal to %d", maxSecurityGroups))
		}
	}
	if tracing != nil {
		v.Enum(tracing.Mode, "tracingConfig.mode", "Active", "PassThrough")
	}
	if logging != nil {
		v.Enum(logging.LogFormat, "loggingConfig.logFormat", "JSON", "Text")
		v.Enum(logging.ApplicationLogLevel, "loggingConfig.applicationLogLevel", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
		v.Enum(logging.SystemLogLevel, "loggingConfig.systemLogLevel", "DEBUG", "INFO", "WARN")
		if logging.LogGroup != nil && (len(*logging.LogGroup) > 512 || !logGroupRE.MatchString(*logging.LogGroup)) {
			v.Add(*logging.LogGroup, "loggingConfig.logGroup", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
		}
	}
	if kms != nil && !kmsRE.MatchString(*kms) {
		v.Add(*kms, "kmsKeyArn", "Member must satisfy regular expression pattern: "+kmsPattern)
	}
	if vpc != nil {
		for _, s := range vpc.SubnetIds {
			if !subnetRE.MatchString(s) {
				return invalidParam("Subnet ID '%s' is not valid. Subnet IDs start with subnet- followed by hexadecimal characters.", s)
			}
		}
		for _, s := range vpc.SecurityGroupIds {
			if !sgRE.MatchString(s) {
				return invalidParam("Security group ID '%s' is not valid. Security group IDs start with sg- followed by hexadecimal characters.", s)
			}
		}
		if len(vpc.SubnetIds) > 0 && len(vpc.SecurityGroupIds) == 0 {
			return invalidParam("SecurityGroupIds must not be empty when SubnetIds are set.")
		}
	}
	if logging != nil && logging.LogFormat != nil && *logging.LogFormat == "Text" &&
		(logging.ApplicationLogLevel != nil || logging.SystemLogLevel != nil) {
		return invalidParam("Log levels can only be set when the LogFormat is JSON.")
	}
	return nil
}

// applySettings records the settings a create or update sets. Holds s.mu,
// or f is not yet shared.
func applySettings(f *function, vpc *vpcConfig, tracing *tracingConfig, logging *loggingConfig, kms *string) {
	if vpc != nil {
		if len(vpc.SubnetIds) == 0 && len(vpc.SecurityGroupIds) == 0 {
			f.VPC = nil
		} else {
			c := *vpc
			f.VPC = &c
		}
	}
	if tracing != nil && tracing.Mode != nil {
		f.Tracing = *tracing.Mode
	}
	if logging != nil {
		if logging.LogFormat != nil {
			f.LogFormat = *logging.LogFormat
		}
		// Levels go with the JSON format; Text drops them, as Lambda does.
		f.AppLogLevel, f.SystemLogLevel = "", ""
		if f.LogFormat == "JSON" {
			f.AppLogLevel, f.SystemLogLevel = "INFO", "INFO"
			if logging.ApplicationLogLevel != nil {
				f.AppLogLevel = *logging.ApplicationLogLevel
			}
			if logging.SystemLogLevel != nil {
				f.SystemLogLevel = *logging.SystemLogLevel
			}
		}
		if logging.LogGroup != nil {
			f.LogGroup = *logging.LogGroup
		}
	}
	if kms != nil {
		f.KMSKeyArn = *kms
	}
}

// logGroup is where f's invocations write: its configured group, or
// /aws/lambda/<name>.
func (f *function) logGroup() string {
	if f.LogGroup != "" {
		return f.LogGroup
	}
	return "/aws/lambda/" + f.Name
}

// settingsResponse fills the configuration document's settings.
func (f *function) settingsResponse(c *functionConfiguration) {
	mode := f.Tracing
	if mode == "" {
		mode = "PassThrough"
	}
	c.TracingConfig = map[string]string{"Mode": mode}
	format := f.LogFormat
	if format == "" {
		format = "Text"
	}
	c.LoggingConfig = map[string]string{"LogFormat": format, "LogGroup": f.logGroup()}
	if format == "JSON" {
		c.LoggingConfig["ApplicationLogLevel"] = f.AppLogLevel
		c.LoggingConfig["SystemLogLevel"] = f.SystemLogLevel
	}
	if f.VPC != nil {
		c.VpcConfig = &vpcConfigResponse{
			SubnetIds: f.VPC.SubnetIds, SecurityGroupIds: f.VPC.SecurityGroupIds,
			VpcId: vpcID(f.VPC.SubnetIds), Ipv6AllowedForDualStack: f.VPC.Ipv6AllowedForDualStack != nil && *f.VPC.Ipv6AllowedForDualStack,
		}
	}
	c.KMSKeyArn = f.KMSKeyArn
}

// vpcID stands in for the VPC that AWS looks up from the subnets: there is
// no EC2 here, so it is derived from the first subnet.
func vpcID(subnets []string) string {
	if len(subnets) == 0 {
		return ""
	}
	h := sha256.Sum256([]byte(subnets[0]))
	return "vpc-" + hex.EncodeToString(h[:])[:17]
}

// Reserved concurrency.

type concurrencyInput struct {
	FunctionName                 string `http:"label=FunctionName"`
	ReservedConcurrentExecutions *int   `json:"ReservedConcurrentExecutions"`
}

func (s *Service) putFunctionConcurrency(_ *awsproto.Call, in *concurrencyInput) (any, error) {
	f, e := s.lookup(in.FunctionName, "")
	if e != nil {
		return nil, e
	}
	var v awsproto.Validation
	if in.ReservedConcurrentExecutions == nil {
		v.Add(nil, "reservedConcurrentExecutions", "Member must not be null")
	} else if *in.ReservedConcurrentExecutions < 0 {
		v.Add(*in.ReservedConcurrentExecutions, "reservedConcurrentExecutions", "Member must have value greater than or equal to 0")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	n := *in.ReservedConcurrentExecutions
	s.mu.Lock()
	defer s.mu.Unlock()
	reserved := 0
	for _, g := range s.functions {
		if g != f && g.Reserved != nil {
			reserved += *g.Reserved
		}
	}
	if accountLimit-reserved-n < minUnreserved {
		return nil, invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreserved)
	}
	f.Reserved = &n
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	return map[string]int{"ReservedConcurrentExecutions": n}, nil
}

func (s *Service) getFunctionConcurrency(_ *awsproto.Call, in *functionInput) (any, error) {
	f, e := s.lookup(in.FunctionName, "")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Reserved == nil {
		return map[string]any{}, nil
	}
	return map[string]int{"ReservedConcurrentExecutions": *f.Reserved}, nil
}

func (s *Service) deleteFunctionConcurrency(_ *awsproto.Call, in *functionInput) (any, error) {
	f, e := s.lookup(in.FunctionName, "")
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Reserved = nil
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	return nil, nil
}

// acquireReserved takes one of f's reserved executions, or answers with
// Lambda's throttle when they are all in use (a reservation of 0 throttles
// every invocation). release gives it back.
func (s *Service) acquireReserved(f *function) (release func(), e *awsproto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Reserved == nil {
		return func() {}, nil
	}
	if s.running[f.Name] >= *f.Reserved {
		return nil, &awsproto.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException",
			Message: "Rate Exceeded.", Header: http.Header{"Retry-After": {"1"}},
			Fields: map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}}
	}
	s.running[f.Name]++
	return func() {
		s.mu.Lock()
		s.running[f.Name]--
		s.mu.Unlock()
	}, nil
}

// Logs is the emulated CloudWatch Logs, where invocations write.
type Logs interface {
	Append(group, stream string, lines []string) bool
}

// writeLog appends an invocation's log to a new stream of the function's
// log group, named as Lambda names streams, when the group exists. Lambda
// writes one stream per execution environment; the emulator writes one
// per invocation.
func (s *Service) writeLog(group string, log []byte) {
	if s.opts.Logs == nil || len(log) == 0 {
		return
	}
	stream := time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16)
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	s.opts.Logs.Append(group, stream, lines)
}
