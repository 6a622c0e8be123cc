package lambdafn

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Settings are the function settings production needs beyond memory and
// time: network, tracing, logging, encryption and concurrency. Their zero
// value is Lambda's default, and an update applies all of them, so a
// setting removed from the configuration goes back to the default.
type Settings struct {
	// VPC attaches the function to subnets; nil detaches it.
	VPC *VPC
	// TracingMode is Active or PassThrough; "" is PassThrough.
	TracingMode string
	// LogFormat is Text or JSON; "" is Text. The levels apply to JSON only.
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	// LogGroup is where the function logs; "" is /aws/lambda/<name>.
	LogGroup string
	// KMSKeyARN encrypts the environment; "" is Lambda's own key.
	KMSKeyARN string
	// ReservedConcurrency caps (and reserves) concurrent executions; nil
	// leaves the function on the account's unreserved pool.
	ReservedConcurrency *int32
}

// VPC is a function's network attachment.
type VPC struct {
	SubnetIDs               []string
	SecurityGroupIDs        []string
	IPv6AllowedForDualStack bool
	// VPCID is reported by Lambda, from the subnets.
	VPCID string
}

// concurrencyAPI is the part of the client that sets reserved concurrency.
type concurrencyAPI interface {
	PutFunctionConcurrency(context.Context, *lambda.PutFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error)
	DeleteFunctionConcurrency(context.Context, *lambda.DeleteFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error)
}

func (s Settings) vpcConfig() *types.VpcConfig {
	if s.VPC == nil {
		// Empty lists detach the function from its VPC.
		return &types.VpcConfig{SubnetIds: []string{}, SecurityGroupIds: []string{}}
	}
	return &types.VpcConfig{
		SubnetIds: s.VPC.SubnetIDs, SecurityGroupIds: s.VPC.SecurityGroupIDs,
		Ipv6AllowedForDualStack: aws.Bool(s.VPC.IPv6AllowedForDualStack),
	}
}

func (s Settings) tracingConfig() *types.TracingConfig {
	mode := types.TracingModePassThrough
	if s.TracingMode != "" {
		mode = types.TracingMode(s.TracingMode)
	}
	return &types.TracingConfig{Mode: mode}
}

func (s Settings) loggingConfig() *types.LoggingConfig {
	c := &types.LoggingConfig{LogFormat: types.LogFormatText}
	if s.LogFormat != "" {
		c.LogFormat = types.LogFormat(s.LogFormat)
	}
	if c.LogFormat == types.LogFormatJson {
		c.ApplicationLogLevel = types.ApplicationLogLevel(s.ApplicationLogLevel)
		c.SystemLogLevel = types.SystemLogLevel(s.SystemLogLevel)
	}
	if s.LogGroup != "" {
		c.LogGroup = aws.String(s.LogGroup)
	}
	return c
}

// readSettings fills a Function's settings from GetFunction.
func readSettings(f *Function, out *lambda.GetFunctionOutput) {
	if out.Concurrency != nil && out.Concurrency.ReservedConcurrentExecutions != nil {
		f.ReservedConcurrency = aws.Int32(*out.Concurrency.ReservedConcurrentExecutions)
	}
	cfg := out.Configuration
	if cfg == nil {
		return
	}
	if v := cfg.VpcConfig; v != nil && (len(v.SubnetIds) > 0 || len(v.SecurityGroupIds) > 0) {
		f.VPC = &VPC{SubnetIDs: v.SubnetIds, SecurityGroupIDs: v.SecurityGroupIds,
			IPv6AllowedForDualStack: aws.ToBool(v.Ipv6AllowedForDualStack), VPCID: aws.ToString(v.VpcId)}
	}
	if cfg.TracingConfig != nil {
		f.TracingMode = string(cfg.TracingConfig.Mode)
	}
	if l := cfg.LoggingConfig; l != nil {
		f.LogFormat = string(l.LogFormat)
		f.ApplicationLogLevel = string(l.ApplicationLogLevel)
		f.SystemLogLevel = string(l.SystemLogLevel)
		f.LogGroup = aws.ToString(l.LogGroup)
	}
	f.KMSKeyARN = aws.ToString(cfg.KMSKeyArn)
}

// syncConcurrency makes the function's reserved concurrency want, in place.
func (c *Client) syncConcurrency(ctx context.Context, fn *Function, want *int32) error {
	api, ok := c.api.(concurrencyAPI)
	if !ok {
		return fmt.Errorf("the Lambda client cannot set reserved concurrency")
	}
	switch {
	case want == nil && fn.ReservedConcurrency == nil,
		want != nil && fn.ReservedConcurrency != nil && *want == *fn.ReservedConcurrency:
		return nil
	case want == nil:
		err := c.call(ctx, fn.Name, retryThrottle|retryConflict, func() error {
			_, err := api.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(fn.Name)})
			return err
		})
		if err != nil {
			return fmt.Errorf("removing the reserved concurrency of Lambda function %q: %w", fn.Name, err)
		}
	default:
		err := c.call(ctx, fn.Name, retryThrottle|retryConflict, func() error {
			_, err := api.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(fn.Name), ReservedConcurrentExecutions: want})
			return err
		})
		if err != nil {
			return fmt.Errorf("setting the reserved concurrency of Lambda function %q to %d: %w", fn.Name, *want, err)
		}
	}
	fn.ReservedConcurrency = want
	return nil
}
