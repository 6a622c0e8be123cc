package drift_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
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

// checkDrift runs the script as CI would and returns its output and status.
func checkDrift(t *testing.T, w *clitest.Workspace, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(clitest.RepoRoot(), "examples", "drift-detection", "check-drift.sh"), w.Dir}, args...)...)
	cmd.Env = append(w.Env, "TERRAFORM="+w.Terraform)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running check-drift.sh: %v", err)
	}
	return string(out), 0
}

func TestCheckDrift_passesWithoutDriftAndNamesTheDriftedOperator(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs the real Terraform CLI, Docker and the emulator; set TF_ACC=1 (make testacc)")
	}
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	t.Cleanup(func() { emulatortest.RemoveLocalImages(e.Addr()) })
	cfg := emulatortest.Config(t, e)
	ctx := context.Background()
	role, _, err := fixtures.New(cfg).EnsureRole(ctx, "drift-exec")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fixtures.New(cfg).EnsureBucket(ctx, "drift-artifacts"); err != nil {
		t.Fatal(err)
	}
	w := clitest.New(t, e.URL(), e.Region(), map[string]string{
		"main.tf":      config,
		"src/score.py": "def run():\n    return {'score': 1}\n",
	})
	baseImage := os.Getenv("AQUEDUCT_TEST_BASE_IMAGE")
	if baseImage == "" {
		baseImage = "aqueduct-local/python:3.11"
	}
	vars := []string{"-var", "role_arn=" + role, "-var", "bucket=drift-artifacts", "-var", "base_image=" + baseImage}

	w.Must(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	t.Cleanup(func() {
		if out, code := w.Run(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 {
			t.Errorf("terraform destroy exited %d:\n%s", code, out)
		}
	})

	out, code := checkDrift(t, w, vars...)
	if code != 0 || !strings.Contains(out, "no drift") {
		t.Fatalf("right after apply, check-drift.sh exited %d, want 0 and 'no drift':\n%s", code, out)
	}

	// Someone doubles the memory in the console.
	fn := strings.TrimSpace(w.Must("output", "-raw", "function_name"))
	lc := lambda.NewFromConfig(cfg)
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fn), MemorySize: aws.Int32(512)}); err != nil {
		t.Fatal(err)
	}
	waiter := lambda.NewFunctionUpdatedV2Waiter(lc)
	if err := waiter.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	out, code = checkDrift(t, w, vars...)
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
	w.Must(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	out, code = checkDrift(t, w, vars...)
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
	w := clitest.New(t, "http://127.0.0.1:1", "us-east-1", map[string]string{"main.tf": "output \"x\" {\n  value = var.missing\n}\n"})
	out, code := checkDrift(t, w)
	if code != 1 {
		t.Fatalf("check-drift.sh exited %d on a failing plan, want 1:\n%s", code, out)
	}
	if !strings.Contains(out, "terraform plan failed") || !strings.Contains(out, "not drift") || !strings.Contains(out, "var.missing") {
		t.Errorf("the error does not say the plan failed and why:\n%s", out)
	}
}
