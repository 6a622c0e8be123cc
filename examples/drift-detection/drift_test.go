package drift_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

// config is a one-operator pipeline; its function_name output lets the test
// change the function behind Terraform's back.
const config = `
terraform {
  required_providers {
    aqueduct = { source = "aqueduct/aqueduct" }
  }
}

variable "role_arn" { type = string }
variable "bucket" { type = string }
variable "base_image" { type = string }

resource "aqueduct_lambda_resource" "engine" {
  name          = "drift"
  role_arn      = var.role_arn
  force_destroy = true
  artifact_store {
    s3_bucket = var.bucket
  }
}

resource "aqueduct_workflow" "wf" {
  name   = "nightly"
  engine = aqueduct_lambda_resource.engine.id
}

resource "aqueduct_operator" "score" {
  workflow_id = aqueduct_workflow.wf.id
  name        = "score"
  source      = "${path.module}/src"
  function    = "score:run"
  base_image  = var.base_image
  memory      = "256MB"
  timeout     = 30
}

output "function_name" {
  value = aqueduct_operator.score.function_name
}
`

// env is what the test runs terraform and the script with.
type env struct {
	t         *testing.T
	root      string // the repository
	dir       string // the Terraform working directory
	terraform string
	vars      []string
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// terraformPath is $TF_ACC_TERRAFORM_PATH, bin/terraform or one on PATH.
func terraformPath(t *testing.T, root string) string {
	t.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	if p := filepath.Join(root, "bin", "terraform"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	t.Fatal("no terraform: set TF_ACC_TERRAFORM_PATH or run 'make tools'")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// buildProvider builds the provider into a directory for dev_overrides.
func buildProvider(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-aqueduct"), ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	return dir
}

// setEnv points terraform at the provider build and the emulator, and
// nothing of the user's: no AWS profile, no CLI config of their own.
func setEnv(t *testing.T, e *emulator.Emulator, providerDir string) {
	t.Helper()
	rc := filepath.Join(t.TempDir(), "terraformrc")
	cli := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/aqueduct/aqueduct" = %q
  }
  direct {}
}
`, providerDir)
	if err := os.WriteFile(rc, []byte(cli), 0o644); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"TF_CLI_CONFIG_FILE":          rc,
		"TF_IN_AUTOMATION":            "1",
		"CHECKPOINT_DISABLE":          "1",
		"AWS_ENDPOINT_URL":            e.URL(),
		"AWS_REGION":                  e.Region(),
		"AWS_ACCESS_KEY_ID":           emulatortest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       emulatortest.SecretAccessKey,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_PROFILE":                 "",
	} {
		t.Setenv(k, v)
	}
}

func (v *env) tf(args ...string) (string, error) {
	cmd := exec.Command(v.terraform, append([]string{"-chdir=" + v.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (v *env) mustTF(args ...string) string {
	v.t.Helper()
	out, err := v.tf(args...)
	if err != nil {
		v.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// checkDrift runs the script as CI would and returns its output and status.
func (v *env) checkDrift(args ...string) (string, int) {
	v.t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(v.root, "examples", "drift-detection", "check-drift.sh"), v.dir}, args...)...)
	cmd.Env = append(os.Environ(), "TERRAFORM="+v.terraform)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		v.t.Fatalf("running check-drift.sh: %v", err)
	}
	return string(out), 0
}

func TestCheckDrift_passesWithoutDriftAndNamesTheDriftedOperator(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs the real Terraform CLI, Docker and the emulator; set TF_ACC=1 (make testacc)")
	}
	root := repoRoot(t)
	v := &env{t: t, root: root, dir: t.TempDir(), terraform: terraformPath(t, root)}
	providerDir := buildProvider(t, root)
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	t.Cleanup(func() { emulatortest.RemoveLocalImages(e.Addr()) })
	cfg := emulatortest.Config(t, e)
	setEnv(t, e, providerDir)
	ctx := context.Background()

	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("drift-exec"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3.NewFromConfig(cfg, emulatortest.S3PathStyle).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drift-artifacts")}); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.tf":      config,
		"src/score.py": "def run():\n    return {'score': 1}\n",
	}
	for name, body := range files {
		p := filepath.Join(v.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	baseImage := os.Getenv("AQUEDUCT_TEST_BASE_IMAGE")
	if baseImage == "" {
		baseImage = "aqueduct-local/python:3.11"
	}
	v.vars = []string{"-var", "role_arn=" + aws.ToString(role.Role.Arn), "-var", "bucket=drift-artifacts", "-var", "base_image=" + baseImage}

	v.mustTF(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, v.vars...)...)
	t.Cleanup(func() {
		if out, err := v.tf(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, v.vars...)...); err != nil {
			t.Errorf("terraform destroy: %v\n%s", err, out)
		}
	})

	out, code := v.checkDrift(v.vars...)
	if code != 0 || !strings.Contains(out, "no drift") {
		t.Fatalf("right after apply, check-drift.sh exited %d, want 0 and 'no drift':\n%s", code, out)
	}

	// Someone doubles the memory in the console.
	fn := strings.TrimSpace(v.mustTF("output", "-raw", "function_name"))
	lc := lambda.NewFromConfig(cfg)
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(512)}); err != nil {
		t.Fatal(err)
	}
	waiter := lambda.NewFunctionUpdatedV2Waiter(lc)
	if err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	out, code = v.checkDrift(v.vars...)
	if code != 2 {
		t.Fatalf("after a memory change outside Terraform, check-drift.sh exited %d, want 2 (drift):\n%s", code, out)
	}
	t.Logf("the drift report:\n%s", out)
	for _, want := range []string{"DRIFT", "1 resource(s) differ", "- aqueduct_operator.score (", "memory"} {
		if !strings.Contains(out, want) {
			t.Errorf("the drift report does not contain %q:\n%s", want, out)
		}
	}

	// Applying restores the configuration, and the check passes again.
	v.mustTF(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, v.vars...)...)
	out, code = v.checkDrift(v.vars...)
	if code != 0 {
		t.Fatalf("after apply restored the memory, check-drift.sh exited %d, want 0:\n%s", code, out)
	}
	got, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(got.MemorySize) != 256 {
		t.Errorf("after apply the function has %d MB, want the configured 256", aws.ToInt32(got.MemorySize))
	}
}

// A plan that fails is an error (exit 1), never reported as drift or as a
// pass: CI must tell "fix the pipeline" from "fix the plan".
func TestCheckDrift_failedPlanIsAnErrorNotDrift(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs the real Terraform CLI; set TF_ACC=1 (make testacc)")
	}
	root := repoRoot(t)
	v := &env{t: t, root: root, dir: t.TempDir(), terraform: terraformPath(t, root)}
	t.Setenv("TF_CLI_CONFIG_FILE", os.DevNull)
	t.Setenv("CHECKPOINT_DISABLE", "1")
	if err := os.WriteFile(filepath.Join(v.dir, "main.tf"), []byte("output \"x\" {\n  value = var.missing\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := v.checkDrift()
	if code != 1 {
		t.Fatalf("check-drift.sh exited %d on a failing plan, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "terraform plan failed") || !strings.Contains(out, "not drift") || !strings.Contains(out, "var.missing") {
		t.Errorf("the error does not say the plan failed and why:\n%s", out)
	}
}
