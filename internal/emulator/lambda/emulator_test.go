package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

// TestThroughTheEmulator runs a function end to end on the real emulator:
// the role from its IAM, the image pushed by Docker to its ECR with an
// authorization token, the pull with ECR's credentials.
func TestThroughTheEmulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	cfg := emulatortest.Config(t, e)

	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("fn-exec"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	ec := ecr.NewFromConfig(cfg)
	repo, err := ec.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("ops/echo")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ec.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	user, pass, _ := strings.Cut(string(raw), ":")

	d, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	bin, err := lambda.FunctionBinary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	uri := aws.ToString(repo.Repository.RepositoryUri) + ":v1"
	if err := lambda.BuildAndPush(ctx, d, bin, uri, user, pass, e.Addr()); err != nil {
		t.Fatal(err)
	}

	lc := awslambda.NewFromConfig(cfg)
	if _, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("echo"),
		Role:         role.Role.Arn,
		PackageType:  types.PackageTypeImage,
		Code:         &types.FunctionCode{ImageUri: aws.String(uri)},
		MemorySize:   aws.Int32(256),
	}); err != nil {
		t.Fatal(err)
	}
	if err := awslambda.NewFunctionActiveV2Waiter(lc).Wait(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := lc.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	resolved := aws.ToString(got.Code.ResolvedImageUri)
	if !strings.HasPrefix(resolved, aws.ToString(repo.Repository.RepositoryUri)+"@sha256:") {
		t.Errorf("ResolvedImageUri %q", resolved)
	}
	t.Cleanup(func() {
		if ins, err := d.ImageInspect(context.Background(), resolved); err == nil {
			_, _ = d.ImageRemove(context.Background(), ins.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})

	out, err := lc.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"msg":"through the emulator"}`), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Echo string }
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &r) != nil || r.Echo != "through the emulator" {
		t.Fatalf("invoke: error %v payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
	log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(log), "handler log: through the emulator") {
		t.Errorf("log tail:\n%s", log)
	}
	if n := e.Lambda().Invocations()["echo"]; n != 1 {
		t.Errorf("%d invocations", n)
	}

	// Closing the emulator leaves no container behind.
	instance := e.Lambda().Instance()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	list, err := d.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runner.LabelInstance+"="+instance))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d containers left after Close", len(list))
	}
}
