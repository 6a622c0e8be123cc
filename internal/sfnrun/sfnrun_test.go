package sfnrun

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// The emulated Step Functions, through the unchanged SDK client, and a role
// it may assume.
func setup(t *testing.T) (*sfn.Client, string) {
	t.Helper()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	role, _, err := fixtures.New(cfg).EnsureOrchestrationRole(context.Background(), "orchestration")
	if err != nil {
		t.Fatal(err)
	}
	return sfn.NewFromConfig(cfg), role
}

const (
	passes = `{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}`
	fails  = `{"StartAt":"Failed","States":{"Failed":{"Type":"Fail","Error":"Aqueduct.RunFailed","Cause":"an operator failed"}}}`
)

func machine(name, role, def, owner string) Machine {
	return Machine{Name: name, Definition: []byte(def), RoleARN: role, Tags: map[string]string{naming.TagOwner: owner, naming.TagEngine: "ml", naming.TagWorkflow: "iris"}}
}

// Ensure creates a machine once, updates its definition in place, and
// refuses one of the same name that another owner made.
func TestEnsure(t *testing.T) {
	api, role := setup(t)
	ctx := context.Background()
	arn := ARN("arn:aws:ecr:us-east-1:000000000000:repository/aqueduct/ml", "us-east-1", "000000000000", "ml-iris-run-1")
	if arn != "arn:aws:states:us-east-1:000000000000:stateMachine:ml-iris-run-1" {
		t.Fatalf("ARN = %s", arn)
	}
	for i, want := range []bool{true, false} {
		created, err := Ensure(ctx, api, arn, machine("ml-iris-run-1", role, passes, "me"))
		if err != nil || created != want {
			t.Fatalf("Ensure #%d: created %v, %v; want %v", i+1, created, err, want)
		}
	}
	if _, err := Ensure(ctx, api, arn, machine("ml-iris-run-1", role, fails, "me")); err != nil {
		t.Fatal(err)
	}
	d, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || aws.ToString(d.Definition) != fails {
		t.Fatalf("after a new definition: %v, %v", aws.ToString(d.Definition), err)
	}
	_, err = Ensure(ctx, api, arn, machine("ml-iris-run-1", role, passes, "someone else"))
	if err == nil || !strings.Contains(err.Error(), "is not this one's") || !strings.Contains(err.Error(), `owner me (engine "ml", workflow "iris")`) {
		t.Fatalf("a machine of another owner: %v", err)
	}
}

// Ensure brings an existing machine's tags in line: changed and new tags
// set, removed ones untagged, kept ones (ignore_tags) left alone.
func TestEnsure_syncsTags(t *testing.T) {
	api, role := setup(t)
	ctx := context.Background()
	arn := ARN("arn:aws:iam::000000000000:role/x", "us-east-1", "000000000000", "ml-iris-run-tags")
	m := machine("ml-iris-run-tags", role, passes, "me")
	m.Tags["env"], m.Tags["old"] = "dev", "1"
	if _, err := Ensure(ctx, api, arn, m); err != nil {
		t.Fatal(err)
	}
	if _, err := api.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("owner-team"), Value: aws.String("data")}}}); err != nil {
		t.Fatal(err)
	}
	m = machine("ml-iris-run-tags", role, passes, "me")
	m.Tags["env"], m.Tags["new"] = "prod", "2"
	m.KeepTag = func(k string) bool { return k == "owner-team" }
	if _, err := Ensure(ctx, api, arn, m); err != nil {
		t.Fatal(err)
	}
	got, err := Tags(ctx, api, arn)
	if err != nil {
		t.Fatal(err)
	}
	if got["env"] != "prod" || got["new"] != "2" || got["owner-team"] != "data" || got[naming.TagOwner] != "me" {
		t.Errorf("tags after Ensure: %v", got)
	}
	if _, ok := got["old"]; ok {
		t.Errorf("a removed tag stays: %v", got)
	}
}

// A run id's closed executions are followed by the next name, whatever
// they ended as; the first is named by the id itself, at the ARN AWS
// derives from the machine's.
func TestStartOrAttach_closedExecutionsGetTheNextName(t *testing.T) {
	api, role := setup(t)
	ctx := context.Background()
	r := &Runner{API: api}
	for _, def := range []string{passes, fails} {
		name := "runs-" + map[string]string{passes: "pass", fails: "fail"}[def]
		arn := ARN("arn:aws:iam::000000000000:role/x", "us-east-1", "000000000000", name)
		if _, err := Ensure(ctx, api, arn, machine(name, role, def, "me")); err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"r-1", "r-1-2", "r-1-3"} {
			exec, err := r.startOrAttach(ctx, arn, "r-1", `{"n":`+string(rune('0'+i))+`}`)
			if err != nil {
				t.Fatal(err)
			}
			if exec != ExecutionARN(arn, want) {
				t.Fatalf("%s: execution %d is %s, want %s", name, i+1, exec, ExecutionARN(arn, want))
			}
			out, err := r.wait(ctx, exec)
			if err != nil {
				t.Fatal(err)
			}
			if wantStatus := map[string]types.ExecutionStatus{passes: types.ExecutionStatusSucceeded, fails: types.ExecutionStatusFailed}[def]; out.Status != wantStatus {
				t.Fatalf("%s: %s ended %s", name, want, out.Status)
			}
		}
	}
}

// DeleteIfIdle and Delete leave nothing; a missing machine is not an error.
func TestDelete(t *testing.T) {
	api, role := setup(t)
	ctx := context.Background()
	arn := ARN("arn:aws:iam::000000000000:role/x", "us-east-1", "000000000000", "ml-iris-run-2")
	if _, err := Ensure(ctx, api, arn, machine("ml-iris-run-2", role, passes, "me")); err != nil {
		t.Fatal(err)
	}
	if deleted, err := DeleteIfIdle(ctx, api, arn); err != nil || !deleted {
		t.Fatalf("DeleteIfIdle of an idle machine: %v, %v", deleted, err)
	}
	if err := Delete(ctx, api, arn, "test"); err != nil {
		t.Fatalf("Delete of a missing machine: %v", err)
	}
	if _, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)}); err == nil {
		t.Fatal("the machine is still there")
	}
}
