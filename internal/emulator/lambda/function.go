package lambda

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

// Lambda's limits.
const (
	minMemory, maxMemory   = 128, 10240
	minTimeout, maxTimeout = 1, 900
	minStorage, maxStorage = 512, 10240
	maxDescription         = 256
	maxEnvBytes            = 4096
	maxNameLen             = 64
	latest                 = "$LATEST"
	lastModifiedLayout     = "2006-01-02T15:04:05.000-0700"
)

// State and LastUpdateStatus values, with the reasons Lambda gives.
const (
	statePending = "Pending"
	stateActive  = "Active"
	stateFailed  = "Failed"

	updateInProgress = "InProgress"
	updateSuccessful = "Successful"

	reasonCreating     = "The function is being created."
	reasonCodeCreating = "Creating"
)

type imageConfig struct {
	EntryPoint       []string `json:"EntryPoint,omitempty"`
	Command          []string `json:"Command,omitempty"`
	WorkingDirectory string   `json:"WorkingDirectory,omitempty"`
}

// function is one emulated function ($LATEST; versions and aliases are not emulated).
type function struct {
	Name             string            `json:"name"`
	Role             string            `json:"role"`
	Description      string            `json:"description"`
	MemorySize       int               `json:"memorySize"`
	Timeout          int               `json:"timeout"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	Environment      map[string]string `json:"environment,omitempty"`
	Architectures    []string          `json:"architectures"`
	ImageURI         string            `json:"imageUri"`
	ResolvedImageURI string            `json:"resolvedImageUri"`
	CodeSha256       string            `json:"codeSha256"`
	ImageConfig      *imageConfig      `json:"imageConfig,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	LastModified     time.Time         `json:"lastModified"`
	RevisionID       string            `json:"revisionId"`

	VPC            *vpcConfig `json:"vpc,omitempty"`
	Tracing        string     `json:"tracing,omitempty"`
	LogFormat      string     `json:"logFormat,omitempty"`
	AppLogLevel    string     `json:"appLogLevel,omitempty"`
	SystemLogLevel string     `json:"systemLogLevel,omitempty"`
	LogGroup       string     `json:"logGroup,omitempty"`
	KMSKeyArn      string     `json:"kmsKeyArn,omitempty"`
	Reserved       *int       `json:"reservedConcurrency,omitempty"`

	State                      string `json:"state"`
	StateReason                string `json:"stateReason,omitempty"`
	StateReasonCode            string `json:"stateReasonCode,omitempty"`
	LastUpdateStatus           string `json:"lastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string `json:"lastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string `json:"lastUpdateStatusReasonCode,omitempty"`

	// Live is what invocations run: the configuration as of the last
	// completed create or update, as Lambda keeps serving the old one while
	// an update is in progress.
	Live *runner.Spec `json:"live,omitempty"`

	gen   int64       // bumped on every change; a transition completes only its own
	timer *time.Timer // pending transition
}

func (s *Service) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.region, awsproto.AccountID, name)
}

// spec is what an invocation of f's current configuration runs.
func (s *Service) spec(f *function) *runner.Spec {
	sp := &runner.Spec{
		Function:   f.Name,
		Version:    latest,
		Region:     s.region,
		Image:      f.ResolvedImageURI,
		MemoryMB:   f.MemorySize,
		TimeoutSec: f.Timeout,
		Env:        f.Environment,
		Role:       f.Role,
	}
	if f.ImageConfig != nil {
		sp.EntryPoint = f.ImageConfig.EntryPoint
		sp.Command = f.ImageConfig.Command
		sp.WorkingDir = f.ImageConfig.WorkingDirectory
	}
	return sp
}

// The FunctionConfiguration document.
type functionConfiguration struct {
	FunctionName               string               `json:"FunctionName"`
	FunctionArn                string               `json:"FunctionArn"`
	Role                       string               `json:"Role"`
	CodeSize                   int64                `json:"CodeSize"`
	Description                string               `json:"Description"`
	Timeout                    int                  `json:"Timeout"`
	MemorySize                 int                  `json:"MemorySize"`
	LastModified               string               `json:"LastModified"`
	CodeSha256                 string               `json:"CodeSha256"`
	Version                    string               `json:"Version"`
	Environment                *environmentResponse `json:"Environment,omitempty"`
	TracingConfig              map[string]string    `json:"TracingConfig"`
	RevisionId                 string               `json:"RevisionId"`
	State                      string               `json:"State"`
	StateReason                string               `json:"StateReason,omitempty"`
	StateReasonCode            string               `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string               `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string               `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string               `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string               `json:"PackageType"`
	ImageConfigResponse        *imageConfigResponse `json:"ImageConfigResponse,omitempty"`
	Architectures              []string             `json:"Architectures"`
	EphemeralStorage           map[string]int       `json:"EphemeralStorage"`
	SnapStart                  map[string]string    `json:"SnapStart"`
	LoggingConfig              map[string]string    `json:"LoggingConfig"`
	VpcConfig                  *vpcConfigResponse   `json:"VpcConfig,omitempty"`
	KMSKeyArn                  string               `json:"KMSKeyArn,omitempty"`
}

type environmentResponse struct {
	Variables map[string]string `json:"Variables"`
}

type imageConfigResponse struct {
	ImageConfig *imageConfig `json:"ImageConfig"`
}

func (s *Service) configuration(f *function) functionConfiguration {
	c := functionConfiguration{
		FunctionName:               f.Name,
		FunctionArn:                s.arn(f.Name),
		Role:                       f.Role,
		Description:                f.Description,
		Timeout:                    f.Timeout,
		MemorySize:                 f.MemorySize,
		LastModified:               f.LastModified.UTC().Format(lastModifiedLayout),
		CodeSha256:                 f.CodeSha256,
		Version:                    latest,
		RevisionId:                 f.RevisionID,
		State:                      f.State,
		StateReason:                f.StateReason,
		StateReasonCode:            f.StateReasonCode,
		LastUpdateStatus:           f.LastUpdateStatus,
		LastUpdateStatusReason:     f.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: f.LastUpdateStatusReasonCode,
		PackageType:                "Image",
		Architectures:              f.Architectures,
		EphemeralStorage:           map[string]int{"Size": f.EphemeralStorage},
		SnapStart:                  map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
	}
	f.settingsResponse(&c)
	if len(f.Environment) > 0 {
		c.Environment = &environmentResponse{Variables: f.Environment}
	}
	if f.ImageConfig != nil {
		c.ImageConfigResponse = &imageConfigResponse{ImageConfig: f.ImageConfig}
	}
	return c
}

// Patterns from Lambda's API model.
var (
	functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	functionNameRE      = regexp.MustCompile(`^` + functionNamePattern + `$`)
	rolePattern         = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	roleRE              = regexp.MustCompile(`^` + rolePattern + `$`)
	envKeyPattern       = `[a-zA-Z]([a-zA-Z0-9_])+`
	envKeyRE            = regexp.MustCompile(`^` + envKeyPattern + `$`)
)

// functionRef is a function named in a request: a name, a partial ARN or an ARN.
type functionRef struct {
	name, qualifier, region, account string
}

// parseFunctionName checks a FunctionName against Lambda's rules and splits it.
func parseFunctionName(v *awsproto.Validation, field, s string) functionRef {
	switch {
	case s == "":
		v.Add(s, field, "Member must have length greater than or equal to 1")
		return functionRef{}
	case len(s) > 140:
		v.Add(s, field, "Member must have length less than or equal to 140")
		return functionRef{}
	case !functionNameRE.MatchString(s):
		v.Add(s, field, "Member must satisfy regular expression pattern: "+functionNamePattern)
		return functionRef{}
	}
	var ref functionRef
	parts := strings.Split(s, ":")
	switch {
	case strings.HasPrefix(s, "arn:"): // arn:aws:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 {
			v.Add(s, field, "Member must satisfy regular expression pattern: "+functionNamePattern)
			return functionRef{}
		}
		ref.region, ref.account, ref.name = parts[3], parts[4], parts[6]
		if len(parts) > 7 {
			ref.qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function": // account:function:name[:qualifier]
		ref.account, ref.name = parts[0], parts[2]
		if len(parts) > 3 {
			ref.qualifier = parts[3]
		}
	default: // name[:qualifier]
		ref.name = parts[0]
		if len(parts) > 1 {
			ref.qualifier = parts[1]
		}
	}
	if len(ref.name) > maxNameLen {
		v.Add(ref.name, field, fmt.Sprintf("Member must have length less than or equal to %d", maxNameLen))
	}
	return ref
}

// envErrors checks environment variables as Lambda does, in Lambda's order:
// a key outside the model's pattern is a validation error (the value is not
// quoted: Environment is a sensitive member), then reserved keys, then the
// 4 KB limit. Model-constraint violations go into v; the others come back as
// InvalidParameterValueException.
func envErrors(v *awsproto.Validation, env map[string]string) *awsproto.Error {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !envKeyRE.MatchString(k) {
			v.AddSensitive("environment.variables", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+envKeyPattern+"]")
			return nil
		}
	}
	var used []string
	for _, k := range reservedEnv {
		if _, ok := env[k]; ok {
			used = append(used, k)
		}
	}
	if len(used) > 0 {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(used, ", "))
	}
	if measured := measureEnv(env); len(measured) > maxEnvBytes {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
	}
	return nil
}

// measureEnv is the string Lambda holds to its 4 KB limit and quotes when it
// is exceeded: the variables as compact JSON, keys sorted, UTF-8 unescaped.
func measureEnv(env map[string]string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if env == nil {
		env = map[string]string{}
	}
	_ = enc.Encode(env) // a map of strings always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// reservedEnv are the variables Lambda sets and does not let a function
// override, in the order of Lambda's documentation ("Defined runtime
// environment variables"), which is also the order its error lists them in.
// TZ was reserved once and no longer is.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// checkLimits validates the numeric and text limits shared by create and update.
func checkLimits(v *awsproto.Validation, memory, timeout, storage *int, description *string) {
	v.Between(memory, "memorySize", minMemory, maxMemory)
	v.Between(timeout, "timeout", minTimeout, maxTimeout)
	v.Between(storage, "ephemeralStorage.size", minStorage, maxStorage)
	v.Length(description, "description", 0, maxDescription)
}

func checkRole(v *awsproto.Validation, role *string) {
	if role == nil {
		return
	}
	if !roleRE.MatchString(*role) {
		v.Add(*role, "role", "Member must satisfy regular expression pattern: "+rolePattern)
	}
}

func checkArchitectures(v *awsproto.Validation, archs []string) {
	if archs == nil {
		return
	}
	if len(archs) == 0 {
		v.Add("[]", "architectures", "Member must have length greater than or equal to 1")
		return
	}
	if len(archs) > 1 {
		v.Add("["+strings.Join(archs, ", ")+"]", "architectures", "Member must have length less than or equal to 1")
		return
	}
	if archs[0] != "x86_64" && archs[0] != "arm64" {
		v.Add(fmt.Sprintf("[%s]", archs[0]), "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
	}
}
