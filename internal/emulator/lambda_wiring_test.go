package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

// TestLambdaWiring checks what the root gives Lambda: IAM's trust check,
// ECR's images, the transition delay from the fault settings, Lambda's own
// throttling error, reset, and the invocations endpoint. Creating a function
// needs no Docker; invoking one is the lambda package's test.
func TestLambdaWiring(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	ic := awsiam.NewFromConfig(cfg)
	createRole(t, ic, "exec")
	if _, err := ic.CreateRole(ctx, &awsiam.CreateRoleInput{
		RoleName:                 aws.String("ec2only"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	}); err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	uri := emulatortest.PushImage(t, e, "ops/train", img)
	lc := lambda.NewFromConfig(cfg)

	create := func(name, role string) (*lambda.CreateFunctionOutput, error) {
		return lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			PackageType:  lambdatypes.PackageTypeImage,
			Code:         &lambdatypes.FunctionCode{ImageUri: aws.String(uri)},
			Role:         aws.String("arn:aws:iam::000000000000:role/" + role),
			MemorySize:   aws.Int32(512),
		})
	}
	_, err = create("untrusted", "ec2only")
	var invalid *lambdatypes.InvalidParameterValueException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "The role defined for the function cannot be assumed by Lambda.") {
		t.Errorf("CreateFunction with an untrusted role = %v, want IAM's verdict as InvalidParameterValueException", err)
	}

	ms := 800
	if err := e.SetFaults(emulator.Faults{ThrottleRate: 0.5, Services: []string{"lambda"}, TransitionDelayMS: &ms}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := create("train", "exec")
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if out.State != lambdatypes.StatePending {
		t.Errorf("State after create = %s, want Pending", out.State)
	}
	if aws.ToString(out.CodeSha256) == "" {
		t.Error("CodeSha256 is empty: the image was not resolved in ECR")
	}
	w := lambda.NewFunctionActiveV2Waiter(lc, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("train")}, 30*time.Second); err != nil {
		t.Fatalf("waiting for Active: %v", err)
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("Active after %v, before transition_delay_ms 800", d)
	}
	if n := count(e, func(r emulator.Request) bool {
		return r.Service == "lambda" && r.Fault == "throttle" && r.Status == http.StatusTooManyRequests
	}); n == 0 {
		t.Error("no TooManyRequestsException 429 logged at throttle_rate 0.5")
	}

	status, body := adminDo(t, e, http.MethodGet, "/_emulator/invocations", "")
	var inv map[string]int
	if status != http.StatusOK || json.Unmarshal([]byte(body), &inv) != nil || inv["train"] != 0 {
		t.Errorf("invocations = %d %s", status, body)
	}

	if err := e.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	list, err := lc.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Errorf("functions after reset = %+v, %v", list, err)
	}
	if e.Lambda() == nil {
		t.Error("Lambda() is nil")
	}
}
