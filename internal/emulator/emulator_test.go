package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func createRole(t *testing.T, c *awsiam.Client, name string) {
	t.Helper()
	_, err := c.CreateRole(context.Background(), &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
}

func count(e *emulator.Emulator, match func(emulator.Request) bool) int {
	n := 0
	for _, r := range e.Requests() {
		if match(r) {
			n++
		}
	}
	return n
}

func attempts(md middleware.Metadata) int {
	res, ok := retry.GetAttemptResults(md)
	if !ok {
		return 1
	}
	return len(res.Results)
}

// TestOneAddress drives every API service through one URL with unchanged
// SDK clients, and checks the request log names each call.
func TestOneAddress(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)

	createRole(t, awsiam.NewFromConfig(cfg), "exec")
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "000000000000" {
		t.Fatalf("GetCallerIdentity = %+v, %v", id, err)
	}
	sc := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	repo, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("ops/train")})
	if err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	if got, want := aws.ToString(repo.Repository.RepositoryUri), e.Addr()+"/ops/train"; got != want {
		t.Errorf("repositoryUri = %q, want %q (the registry on the same address)", got, want)
	}
	resp, err := http.Get(e.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %s, want the registry's answer", resp.Status)
	}

	want := map[string]string{"iam": "CreateRole", "sts": "GetCallerIdentity", "s3": "PutObject", "ecr": "CreateRepository", "registry": "Ping"}
	for svc, op := range want {
		if count(e, func(r emulator.Request) bool { return r.Service == svc && r.Operation == op && r.Status < 500 }) != 1 {
			t.Errorf("request log has no single %s %s: %+v", svc, op, e.Requests())
		}
	}
}

// TestThrottlingIsRetried: with half of the requests throttled, the SDK's
// default retryer still gets every call through, and the log shows it had
// to.
func TestThrottlingIsRetried(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	ic := awsiam.NewFromConfig(cfg)
	createRole(t, ic, "exec")

	if err := e.SetFaults(emulator.Faults{ThrottleRate: 0.5, Services: []string{"iam", "s3", "ecr"}}); err != nil {
		t.Fatal(err)
	}
	retried := 0
	for range 4 {
		out, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("exec")})
		if err != nil {
			t.Fatalf("GetRole under throttling: %v", err)
		}
		if attempts(out.ResultMetadata) > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no GetRole needed a retry at throttle_rate 0.5")
	}
	throttled := count(e, func(r emulator.Request) bool {
		return r.Service == "iam" && r.Operation == "GetRole" && r.Fault == "throttle" && r.Status == 400
	})
	if throttled < 2 {
		t.Errorf("%d throttled GetRole requests logged, want at least 2", throttled)
	}

	// S3's SlowDown (503) and ECR's ThrottlingException are retried too.
	sc := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
	for _, b := range []string{"bucket-1", "bucket-2"} {
		if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket under throttling: %v", err)
		}
	}
	if n := count(e, func(r emulator.Request) bool { return r.Service == "s3" && r.Fault == "throttle" && r.Status == 503 }); n == 0 {
		t.Error("no SlowDown 503 logged for s3")
	}
	ec := ecr.NewFromConfig(cfg)
	for range 2 {
		if _, err := ec.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
			t.Fatalf("DescribeRepositories under throttling: %v", err)
		}
	}
	if n := count(e, func(r emulator.Request) bool { return r.Service == "ecr" && r.Fault == "throttle" }); n == 0 {
		t.Error("no ThrottlingException logged for ecr")
	}
}

// TestServerErrorsExhaustRetries: with every request failing, the SDK tries
// its default three times and returns the 500.
func TestServerErrorsExhaustRetries(t *testing.T) {
	e := emulatortest.Start(t, emulatortest.WithFaults(emulator.Faults{ErrorRate: 1, Services: []string{"sts"}}))
	cfg := emulatortest.Config(t, e)

	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("GetCallerIdentity = %v, want a 500", err)
	}
	if !strings.Contains(err.Error(), "InternalFailure") {
		t.Errorf("error %q lacks the service's error code", err)
	}
	n := count(e, func(r emulator.Request) bool { return r.Service == "sts" && r.Fault == "error" && r.Status == 500 })
	if n != retry.DefaultMaxAttempts {
		t.Errorf("%d failed attempts logged, want the retryer's %d", n, retry.DefaultMaxAttempts)
	}
	// IAM is not in services and is untouched.
	createRole(t, awsiam.NewFromConfig(cfg), "fine")
}

func TestLatency(t *testing.T) {
	e := emulatortest.Start(t, emulatortest.WithFaults(emulator.Faults{LatencyMS: 150}))
	start := time.Now()
	if _, err := sts.NewFromConfig(emulatortest.Config(t, e)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("call took %v with latency_ms 150", d)
	}
}

func adminDo(t *testing.T, e *emulator.Emulator, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminFaults(t *testing.T) {
	e := emulatortest.Start(t)
	status, body := adminDo(t, e, http.MethodPost, "/_emulator/faults",
		`{"throttle_rate": 0.2, "error_rate": 0.05, "latency_ms": 50, "transition_delay_ms": 300, "services": ["lambda", "s3"]}`)
	if status != http.StatusOK {
		t.Fatalf("POST faults = %d %s", status, body)
	}
	status, body = adminDo(t, e, http.MethodGet, "/_emulator/faults", "")
	var got emulator.Faults
	if status != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET faults = %d %s", status, body)
	}
	if got.ThrottleRate != 0.2 || got.ErrorRate != 0.05 || got.LatencyMS != 50 || got.TransitionDelayMS == nil || *got.TransitionDelayMS != 300 ||
		strings.Join(got.Services, ",") != "lambda,s3" {
		t.Errorf("GET faults = %s", body)
	}
	if f := e.Faults(); f.ThrottleRate != 0.2 {
		t.Errorf("Faults() = %+v", f)
	}

	for _, bad := range []string{`{"throttle_rate": 2}`, `{"services": ["dynamodb"]}`, `{"throttle": 0.1}`, `not json`} {
		if status, body := adminDo(t, e, http.MethodPost, "/_emulator/faults", bad); status != http.StatusBadRequest || !strings.Contains(body, "error") {
			t.Errorf("POST faults %s = %d %s, want 400", bad, status, body)
		}
	}
	if got := e.Faults(); got.ThrottleRate != 0.2 {
		t.Errorf("a rejected POST changed the faults: %+v", got)
	}
	if status, _ := adminDo(t, e, http.MethodDelete, "/_emulator/faults", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE faults = %d", status)
	}
	// Admin paths are never faulted, even with every request failing.
	if err := e.SetFaults(emulator.Faults{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	if status, body := adminDo(t, e, http.MethodGet, "/_emulator/health", ""); status != http.StatusOK || !strings.Contains(body, `"status": "running"`) {
		t.Errorf("health under faults = %d %s", status, body)
	}
}

func TestAdminReset(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	ic := awsiam.NewFromConfig(cfg)
	sc := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
	createRole(t, ic, "exec")
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket")}); err != nil {
		t.Fatal(err)
	}
	ec := ecr.NewFromConfig(cfg)
	if _, err := ec.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("repo")}); err != nil {
		t.Fatal(err)
	}

	if status, body := adminDo(t, e, http.MethodPost, "/_emulator/reset", ""); status != http.StatusOK {
		t.Fatalf("reset = %d %s", status, body)
	}
	_, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("exec")})
	var noEntity *iamtypes.NoSuchEntityException
	if !errors.As(err, &noEntity) {
		t.Errorf("GetRole after reset = %v, want NoSuchEntity", err)
	}
	bl, err := sc.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(bl.Buckets) != 0 {
		t.Errorf("buckets after reset = %+v, %v", bl, err)
	}
	rl, err := ec.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err != nil || len(rl.Repositories) != 0 {
		t.Errorf("repositories after reset = %+v, %v", rl, err)
	}
	if status, _ := adminDo(t, e, http.MethodGet, "/_emulator/reset", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("GET reset = %d, want 405", status)
	}
}

func TestAdminHealthAndRequests(t *testing.T) {
	e := emulatortest.Start(t)
	status, body := adminDo(t, e, http.MethodGet, "/_emulator/health", "")
	var h struct {
		Status   string
		URL      string
		Account  string
		Services map[string]string
	}
	if status != http.StatusOK || json.Unmarshal([]byte(body), &h) != nil {
		t.Fatalf("health = %d %s", status, body)
	}
	if h.Status != "running" || h.URL != e.URL() || h.Account != "000000000000" || h.Services["s3"] != "running" || h.Services["ecr"] != "running" {
		t.Errorf("health = %s", body)
	}

	cfg := emulatortest.Config(t, e)
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	status, body = adminDo(t, e, http.MethodGet, "/_emulator/requests", "")
	var counts map[string]map[string]map[string]int
	if status != http.StatusOK || json.Unmarshal([]byte(body), &counts) != nil {
		t.Fatalf("requests = %d %s", status, body)
	}
	if counts["sts"]["GetCallerIdentity"]["200"] != 1 {
		t.Errorf("requests = %s", body)
	}
	if status, _ := adminDo(t, e, http.MethodGet, "/_emulator/nope", ""); status != http.StatusNotFound {
		t.Errorf("unknown admin path = %d", status)
	}
}

func TestUnknownSignedService(t *testing.T) {
	e := emulatortest.Start(t)
	req, _ := http.NewRequest(http.MethodPost, e.URL()+"/", strings.NewReader("{}"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(b), "dynamodb") {
		t.Errorf("dynamodb request = %s %s, want 501 naming it", resp.Status, b)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	first, err := emulator.Start(ctx, emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emulatortest.Config(t, first)
	createRole(t, awsiam.NewFromConfig(cfg), "kept")
	sc := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("kept"), Key: aws.String("a/b.json"), Body: strings.NewReader(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	second := emulatortest.Start(t, emulatortest.WithDataDir(dir))
	cfg = emulatortest.Config(t, second)
	out, err := awsiam.NewFromConfig(cfg).GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("kept")})
	if err != nil || aws.ToString(out.Role.Arn) != "arn:aws:iam::000000000000:role/kept" {
		t.Fatalf("role after restart: %+v, %v", out, err)
	}
	obj, err := s3.NewFromConfig(cfg, emulatortest.S3PathStyle).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("kept"), Key: aws.String("a/b.json")})
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	b, _ := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if string(b) != `{"x":1}` {
		t.Errorf("object after restart = %q", b)
	}
}

// TestUnknownOperationThroughTheSDK: an operation a service's table does
// not have reaches the SDK as that service's own error, with its code and
// status, and is logged under the service.
func TestUnknownOperationThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	cases := []struct {
		service, op string
		call        func() error
		code        string
		status      int
		msg         string
	}{
		{"lambda", "GET /2016-08-19/account-settings", func() error {
			_, err := lambda.NewFromConfig(cfg).GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
			return err
		}, "UnknownOperationException", 404, "not emulated"},
		{"ecr", "DescribeRegistry", func() error {
			_, err := ecr.NewFromConfig(cfg).DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
			return err
		}, "UnknownOperationException", 400, "The operation DescribeRegistry is not supported by the emulated ECR"},
		{"iam", "ListUsers", func() error {
			_, err := awsiam.NewFromConfig(cfg).ListUsers(ctx, &awsiam.ListUsersInput{})
			return err
		}, "InvalidAction", 400, "Could not find operation ListUsers for version 2010-05-08"},
		{"sts", "GetSessionToken", func() error {
			_, err := sts.NewFromConfig(cfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
			return err
		}, "InvalidAction", 400, "Could not find operation GetSessionToken for version 2011-06-15"},
	}
	for _, c := range cases {
		t.Run(c.service, func(t *testing.T) {
			err := c.call()
			var ae smithy.APIError
			var re *smithyhttp.ResponseError
			if !errors.As(err, &ae) || !errors.As(err, &re) {
				t.Fatalf("err = %v, want an API error", err)
			}
			if ae.ErrorCode() != c.code || re.HTTPStatusCode() != c.status || !strings.Contains(ae.ErrorMessage(), c.msg) {
				t.Errorf("got %s %d %q, want %s %d containing %q", ae.ErrorCode(), re.HTTPStatusCode(), ae.ErrorMessage(), c.code, c.status, c.msg)
			}
			if count(e, func(r emulator.Request) bool {
				return r.Service == c.service && r.Operation == c.op && r.Status == c.status
			}) != 1 {
				t.Errorf("request log has no single %s %s %d: %+v", c.service, c.op, c.status, e.Requests())
			}
		})
	}
}
