package lambda

import (
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// recordingLogs is CloudWatch Logs as the service sees it: groups that
// exist, and what was appended to them.
type recordingLogs struct {
	mu     sync.Mutex
	groups map[string]map[string][]string // group -> stream -> lines
}

func (r *recordingLogs) Append(group, stream string, lines []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.groups[group]
	if !ok {
		return false
	}
	g[stream] = append(g[stream], lines...)
	return true
}

func TestSettingsStoredAndReported(t *testing.T) {
	e := newEnv(t, nil)
	kms := "arn:aws:kms:us-east-1:000000000000:key/1234"
	e.create("configured", func(in *awslambda.CreateFunctionInput) {
		in.VpcConfig = &types.VpcConfig{SubnetIds: []string{"subnet-0123abcd"}, SecurityGroupIds: []string{"sg-0123abcd"}}
		in.TracingConfig = &types.TracingConfig{Mode: types.TracingModeActive}
		in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelDebug}
		in.KMSKeyArn = aws.String(kms)
	})
	out, err := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("configured")})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Configuration
	if c.VpcConfig == nil || c.VpcConfig.SubnetIds[0] != "subnet-0123abcd" || !strings.HasPrefix(aws.ToString(c.VpcConfig.VpcId), "vpc-") ||
		c.TracingConfig.Mode != types.TracingModeActive || aws.ToString(c.KMSKeyArn) != kms ||
		c.LoggingConfig.LogFormat != types.LogFormatJson || c.LoggingConfig.ApplicationLogLevel != types.ApplicationLogLevelDebug ||
		c.LoggingConfig.SystemLogLevel != types.SystemLogLevelInfo || aws.ToString(c.LoggingConfig.LogGroup) != "/aws/lambda/configured" {
		t.Fatalf("configuration %+v %+v %+v %+v", c.VpcConfig, c.TracingConfig, c.LoggingConfig, aws.ToString(c.KMSKeyArn))
	}

	// Detaching the VPC, back to Text and Lambda's key.
	if _, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), VpcConfig: &types.VpcConfig{SubnetIds: []string{}, SecurityGroupIds: []string{}},
		LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText}, KMSKeyArn: aws.String(""),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("configured")
	out, _ = e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("configured")})
	c = out.Configuration
	if c.VpcConfig != nil || c.LoggingConfig.LogFormat != types.LogFormatText || c.LoggingConfig.ApplicationLogLevel != "" || c.KMSKeyArn != nil {
		t.Errorf("after update: %+v %+v %q", c.VpcConfig, c.LoggingConfig, aws.ToString(c.KMSKeyArn))
	}

	// Lambda's own rules.
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), LoggingConfig: &types.LoggingConfig{LogFormat: types.LogFormatText, SystemLogLevel: types.SystemLogLevelWarn},
	})
	apiErr(t, err, "InvalidParameterValueException", 400, "Log levels can only be set when the LogFormat is JSON.")
	_, err = e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), VpcConfig: &types.VpcConfig{SubnetIds: []string{"net-1"}, SecurityGroupIds: []string{"sg-1"}},
	})
	apiErr(t, err, "InvalidParameterValueException", 400, "Subnet ID 'net-1' is not valid")
}

func TestReservedConcurrencyAndLogs(t *testing.T) {
	logs := &recordingLogs{groups: map[string]map[string][]string{"/aws/lambda/logged": {}}}
	e := newEnv(t, func(o *Options) { o.Logs = logs })
	e.create("logged", nil)
	e.create("unlogged", nil)

	got, err := e.c.GetFunctionConcurrency(ctx(t), &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("logged")})
	if err != nil || got.ReservedConcurrentExecutions != nil {
		t.Fatalf("unreserved: %v %v", got, err)
	}
	_, err = e.c.PutFunctionConcurrency(ctx(t), &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("logged"), ReservedConcurrentExecutions: aws.Int32(901)})
	apiErr(t, err, "InvalidParameterValueException", 400, "below its minimum value of [100]")
	if _, err := e.c.PutFunctionConcurrency(ctx(t), &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("logged"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	fn, _ := e.c.GetFunction(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("logged")})
	if fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 0 {
		t.Fatalf("GetFunction concurrency %+v", fn.Concurrency)
	}
	// Zero reserved executions throttle every invocation.
	_, err = e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("logged"), Payload: []byte(`{}`)},
		func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
	apiErr(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
	if _, err := e.c.DeleteFunctionConcurrency(ctx(t), &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("logged")}); err != nil {
		t.Fatal(err)
	}

	out := e.invoke("logged", map[string]any{"echo": "hi"}, nil)
	decodeResult(t, out)
	e.invoke("unlogged", map[string]any{"echo": "hi"}, nil)
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.groups) != 1 || len(logs.groups["/aws/lambda/logged"]) != 1 {
		t.Fatalf("groups %v", logs.groups)
	}
	for stream, lines := range logs.groups["/aws/lambda/logged"] {
		if !strings.Contains(stream, "/[$LATEST]") || !strings.HasPrefix(strings.Join(lines, "\n"), "START RequestId: ") {
			t.Errorf("stream %q lines %q", stream, lines)
		}
	}
}
