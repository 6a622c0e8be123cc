package provider

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/awsconfig"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/iamrole"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// testAccProtoV6ProviderFactories runs the provider in-process for the
// real Terraform CLI that terraform-plugin-testing drives.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"aqueduct": providerserver.NewProtocol6WithError(New("test")()),
}

// testEmulator is the package's emulator, started once by TestMain when
// acceptance tests run. The provider reaches it through AWS_ENDPOINT_URL,
// the way a user points it at a local endpoint.
var testEmulator *emulator.Emulator

// testLocalBaseImage is the offline Python base image (`make base-image`).
var testLocalBaseImage = envOr("AQUEDUCT_TEST_BASE_IMAGE", "aqueduct-local/python:3.11")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	if err := clitest.PrepareEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "preparing the environment for", os.Getenv("TF_ACC_TERRAFORM_PATH")+":", err)
		os.Exit(1)
	}
	logFile, err := os.CreateTemp("", "aqueduct-emulator-*.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	testEmulator, err = emulator.Start(ctx, emulator.Options{
		Logger:          slog.New(slog.NewTextHandler(logFile, nil)),
		TransitionDelay: 300 * time.Millisecond,
		IdleTimeout:     time.Minute,
	})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the emulator for acceptance tests:", err)
		os.Exit(1)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            testEmulator.URL(),
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		os.Setenv(k, v)
	}
	// A role that does not exist is waited for as if IAM were propagating
	// it; tests of a missing role need not wait the full two minutes.
	iamrole.PropagationTimeout = 10 * time.Second
	code := m.Run()
	emulatortest.RemoveLocalImages(testEmulator.Addr())
	if err := testEmulator.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "closing the emulator:", err)
		code = 1
	}
	fmt.Fprintln(os.Stderr, "emulator log:", logFile.Name())
	logFile.Close()
	os.Exit(code)
}

// testAccPreCheck skips, saying why, when TF_ACC is unset, as
// terraform-plugin-testing does; with TF_ACC set (make test, CI) it fails,
// never skips, when the acceptance environment is incomplete.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs the real Terraform CLI, Docker and the emulator; set TF_ACC=1 (make testacc)")
	}
	if testEmulator == nil {
		t.Fatal("the emulator is not running: acceptance tests need TF_ACC=1 (make testacc)")
	}
}

// testClients returns SDK clients on the emulator, for fixtures and for
// changes made outside Terraform.
func testClients(t *testing.T) *awsconfig.Clients {
	t.Helper()
	c, err := awsconfig.Load(context.Background(), awsconfig.Settings{Region: "us-east-1", AccessKey: "test", SecretKey: "test",
		Endpoints: map[string]string{"lambda": testEmulator.URL(), "ecr": testEmulator.URL(), "s3": testEmulator.URL(), "iam": testEmulator.URL(), "sts": testEmulator.URL(), "sfn": testEmulator.URL(), "scheduler": testEmulator.URL(), "logs": testEmulator.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testSeq atomic.Int64

// testName returns a name unique in this test binary, valid everywhere a
// name is used.
func testName(prefix string) string {
	return fmt.Sprintf("%s%d%d", prefix, time.Now().UnixNano()%100000, testSeq.Add(1))
}

// testFixtures creates what a user brings: an execution role that trusts
// Lambda and an S3 bucket.
func testFixtures(t *testing.T) (roleARN, bucket string) {
	t.Helper()
	c := testClients(t)
	f := fixtures.Clients{IAM: c.IAM, S3: c.S3, STS: c.STS}
	roleARN, _, err := f.EnsureRole(context.Background(), testName("exec-"))
	if err != nil {
		t.Fatal(err)
	}
	bucket = testName("artifacts-")
	if _, err := f.EnsureBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	return roleARN, bucket
}

// testSource writes an operator's source directory and returns its path.
func testSource(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testAccount is the emulator's account.
const testAccount = "000000000000"

// testEngineID is the id of an engine named eng with the default repository.
func testEngineID(eng string) ids.Engine {
	return ids.Engine{Region: "us-east-1", Repository: "aqueduct/" + eng}
}

// testEngineRoot is the artifact store root of an engine named eng with the
// default repository and prefix.
func testEngineRoot(eng string) string {
	return path.Join("aqueduct", naming.Namespace(testAccount, testEngineID(eng), eng))
}

// testFunctionName is the function of operator op of workflow wf on engine eng.
func testFunctionName(eng, wf, op string) string {
	return naming.FunctionName(ids.Workflow{Engine: testEngineID(eng), Name: wf}.Operator(op))
}

// hcl quotes a Go string for a Terraform configuration.
func hcl(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "\n", `\n`).Replace(s) + `"`
}

func TestAccProvider_configuration(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	name := testName("eng")
	engine := testAccLambdaResourceConfig(name, role, bucket, "")
	// The endpoints come from the block alone here, not the environment.
	t.Setenv("AWS_ENDPOINT_URL", "")
	u := testEmulator.URL()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      `provider "aqueduct" {` + "\n" + `endpoints { s3 = "localhost:4566" }` + "\n}\n" + engine,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)s3 = "localhost:4566".*"localhost:4566" is not a valid endpoint`),
			},
			{
				Config:      `provider "aqueduct" {` + "\n" + `access_key = "AKIDEXAMPLE"` + "\n}\n" + engine,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)secret_key.*must be set together`),
			},
			{
				Config: fmt.Sprintf(`
provider "aqueduct" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
  endpoints {
    lambda = %[1]q
    ecr    = %[1]q
    s3     = %[1]q
    iam    = %[1]q
    sts    = %[1]q
  }
}
`, u) + engine,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("aqueduct_lambda_resource.test", tfjsonpath.New("account_id"), knownvalue.StringExact("000000000000")),
				},
			},
		},
	})
}

// TestProvider_credentialsAreSensitive guards that credentials are sensitive,
// so they never reach plans or logs.
func TestProvider_credentialsAreSensitive(t *testing.T) {
	p := New("test")()
	var resp provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &resp)
	for _, name := range []string{"access_key", "secret_key", "token"} {
		if !resp.Schema.Attributes[name].IsSensitive() {
			t.Errorf("%s must be sensitive", name)
		}
	}
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("provider schema: %v", diags)
	}
}

// testOrchestrationRole creates a role that Step Functions and EventBridge
// Scheduler may assume, as a user brings for runs on AWS.
func testOrchestrationRole(t *testing.T) string {
	t.Helper()
	c := testClients(t)
	arn, _, err := fixtures.Clients{IAM: c.IAM, S3: c.S3, STS: c.STS}.EnsureOrchestrationRole(context.Background(), testName("orch-"))
	if err != nil {
		t.Fatal(err)
	}
	return arn
}
