package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

const (
	trustStates = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	trustLambda = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// env is an emulator and the clients the tests drive it with.
type env struct {
	t    *testing.T
	e    *emulator.Emulator
	cfg  aws.Config
	sfn  *sfn.Client
	iam  *awsiam.Client
	role string // trusts states.amazonaws.com
}

func newEnv(t *testing.T, opts ...emulatortest.Option) *env {
	t.Helper()
	e := emulatortest.Start(t, opts...)
	cfg := emulatortest.Config(t, e)
	v := &env{t: t, e: e, cfg: cfg, sfn: sfn.NewFromConfig(cfg), iam: awsiam.NewFromConfig(cfg)}
	v.role = v.createRole("sfn-exec", trustStates)
	return v
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// createRole makes a role, or reads it when a restarted emulator kept it.
func (v *env) createRole(name, trust string) string {
	v.t.Helper()
	if got, err := v.iam.GetRole(ctx(v.t), &awsiam.GetRoleInput{RoleName: aws.String(name)}); err == nil {
		return aws.ToString(got.Role.Arn)
	}
	out, err := v.iam.CreateRole(ctx(v.t), &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		v.t.Fatalf("CreateRole %s: %v", name, err)
	}
	return aws.ToString(out.Role.Arn)
}

// machine creates a state machine with the env's role.
func (v *env) machine(name, definition string) string {
	v.t.Helper()
	out, err := v.sfn.CreateStateMachine(ctx(v.t), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition), RoleArn: aws.String(v.role),
	})
	if err != nil {
		v.t.Fatalf("CreateStateMachine %s: %v", name, err)
	}
	return aws.ToString(out.StateMachineArn)
}

func (v *env) start(machine, name, input string) string {
	v.t.Helper()
	in := &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := v.sfn.StartExecution(ctx(v.t), in)
	if err != nil {
		v.t.Fatalf("StartExecution: %v", err)
	}
	return aws.ToString(out.ExecutionArn)
}

// wait polls the execution until it is no longer RUNNING.
func (v *env) wait(arn string) *sfn.DescribeExecutionOutput {
	v.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := v.sfn.DescribeExecution(ctx(v.t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			v.t.Fatalf("DescribeExecution: %v", err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("%s still RUNNING", arn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run starts an execution and waits for its end.
func (v *env) run(machine, input string) *sfn.DescribeExecutionOutput {
	v.t.Helper()
	return v.wait(v.start(machine, "", input))
}

// succeeded runs an execution that must succeed and returns its output.
func (v *env) succeeded(machine, input string) string {
	v.t.Helper()
	out := v.run(machine, input)
	if out.Status != types.ExecutionStatusSucceeded {
		v.t.Fatalf("execution %s: %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	return aws.ToString(out.Output)
}

// history reads the whole history, oldest first.
func (v *env) history(arn string) []types.HistoryEvent {
	v.t.Helper()
	var events []types.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(v.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(v.t))
		if err != nil {
			v.t.Fatalf("GetExecutionHistory: %v", err)
		}
		events = append(events, page.Events...)
	}
	return events
}

func eventTypes(events []types.HistoryEvent) string {
	var out []string
	for _, e := range events {
		out = append(out, string(e.Type))
	}
	return strings.Join(out, " ")
}

// apiError asserts err is the AWS error code, with a message holding want.
func apiError(t *testing.T, err error, code, want string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), want) {
		t.Errorf("error %v, want %s with %q", err, code, want)
	}
}

// jsonEqual compares JSON texts as values.
func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("output %s\nwant   %s", gb, wb)
	}
}

// parked is a machine whose execution stays RUNNING until it is stopped:
// its Task names a function that does not exist and retries after a
// minute.
const parked = `{"StartAt":"Wait","States":{"Wait":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
  "Parameters":{"FunctionName":"not-there","Payload.$":"$"},
  "Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":60,"MaxAttempts":5}],"End":true}}}`
