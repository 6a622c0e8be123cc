package provider

// Tests that need terraform itself, not the provider served from this test
// process: killing the apply, and applying a saved plan in a new process.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
)

// testCLIConfig is a pipeline of n operators, each with its own source.
func testCLIConfig(eng, role, bucket, wf string, n int) string {
	cfg := `
terraform {
  required_providers {
    aqueduct = { source = "aqueduct/aqueduct" }
  }
}
` + testAccPipeline(eng, role, bucket, wf)
	for i := range n {
		cfg += fmt.Sprintf(`
resource "aqueduct_operator" "op%[1]d" {
  workflow_id = aqueduct_workflow.test.id
  name        = "op%[1]d"
  source      = "${path.module}/src%[1]d"
  function    = "main:run"
  base_image  = %[2]q
  memory      = 256
}
`, i, testLocalBaseImage)
	}
	return cfg
}

func testCLIWorkspace(t *testing.T, cfg string, n int) *clitest.Workspace {
	files := map[string]string{"main.tf": cfg}
	for i := range n {
		files[fmt.Sprintf("src%d/main.py", i)] = fmt.Sprintf("def run():\n    return %d\n", i)
	}
	return clitest.New(t, testEmulator.URL(), "us-east-1", files)
}

// testConverged checks that the emulator holds exactly one function, one
// manifest and one image per operator, and that a plan is empty.
func testConverged(t *testing.T, w *clitest.Workspace, eng, wf, bucket string, n int) {
	t.Helper()
	if fns := testEngineFunctions(t, eng); len(fns) != n {
		t.Errorf("engine %s has %d functions %v, want %d", eng, len(fns), fns, n)
	}
	if keys := testKeys(t, bucket, testEngineRoot(eng)+"/workflows/"+wf+"/operators/"); len(keys) != n {
		t.Errorf("workflow %s has %d manifests %v, want %d", wf, len(keys), keys, n)
	}
	if imgs := testImages(t, eng); len(imgs) != n {
		t.Errorf("repository holds %d images, want %d", len(imgs), n)
	}
	if out, code := w.Run("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Errorf("plan after convergence exited %d, want 0 (empty):\n%s", code, out)
	}
}

// SIGKILL terraform mid-apply, as a CI runner does on timeout, at several
// points: the next apply converges, with no duplicate function, image or
// manifest, and no "already exists".
func TestAccOperator_killedApplyConverges(t *testing.T) {
	testAccPreCheck(t)
	const n = 3
	for _, point := range []struct {
		name string
		// reached says the apply got far enough to kill it.
		reached func(eng string) bool
	}{
		{"after the first image is pushed", func(eng string) bool {
			out, err := testClients(t).ECR.ListImages(context.Background(), &ecr.ListImagesInput{RepositoryName: aws.String("aqueduct/" + eng)})
			return err == nil && len(out.ImageIds) > 0
		}},
		{"after the first function exists", func(eng string) bool { return len(testEngineFunctions(t, eng)) > 0 }},
	} {
		t.Run(point.name, func(t *testing.T) {
			role, bucket := testFixtures(t)
			eng, wf := testName("kill"), testName("wf")
			w := testCLIWorkspace(t, testCLIConfig(eng, role, bucket, wf, n), n)
			p := w.Start("apply", "-auto-approve", "-input=false", "-no-color")
			deadline := time.Now().Add(3 * time.Minute)
			for !point.reached(eng) {
				select {
				case <-p.Done():
					t.Fatalf("the apply finished before it could be killed %s:\n%s", point.name, p.Output())
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("the apply never got %s:\n%s", point.name, p.Output())
				}
			}
			p.Kill()
			t.Logf("killed %s; the engine then had %d functions", point.name, len(testEngineFunctions(t, eng)))

			out := w.Must("apply", "-auto-approve", "-input=false", "-no-color")
			if strings.Contains(out, "already exists") {
				t.Errorf("the second apply talked of something that already exists:\n%s", out)
			}
			testConverged(t, w, eng, wf, bucket, n)
			w.Must("destroy", "-auto-approve", "-input=false", "-no-color")
			if err := testAccCheckPipelineGone(t, eng, bucket)(nil); err != nil {
				t.Error(err)
			}
		})
	}
}

// A source edited between `terraform plan -out` and applying that plan is
// reported as what it is, for an operator being updated and one being
// created, not as "Provider produced inconsistent final plan".
func TestAccOperator_sourceChangedAfterThePlan(t *testing.T) {
	testAccPreCheck(t)
	role, bucket := testFixtures(t)
	eng, wf := testName("eng"), testName("wf")
	w := testCLIWorkspace(t, testCLIConfig(eng, role, bucket, wf, 1), 1)
	w.Must("apply", "-auto-approve", "-input=false", "-no-color")
	t.Cleanup(func() { w.Run("destroy", "-auto-approve", "-input=false", "-no-color") })
	edit := func(name, body string) {
		if err := os.WriteFile(filepath.Join(w.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantChanged := regexp.MustCompile(`(?s)source\s+of\s+operator\s+"op\d"\s+.*changed\s+after\s+the\s+plan.*plan.*again`)

	// Update: edited, planned, edited again, then the saved plan applied.
	edit("src0/main.py", "def run():\n    return 'v2'\n")
	w.Must("plan", "-out=tfplan", "-input=false", "-no-color")
	edit("src0/main.py", "def run():\n    return 'v3'\n")
	out, code := w.Run("apply", "-input=false", "-no-color", "tfplan")
	if code == 0 || !wantChanged.MatchString(out) || strings.Contains(out, "inconsistent final plan") {
		t.Fatalf("applying a plan whose source changed since exited %d; want an error that says the source changed after the plan:\n%s", code, out)
	}
	// Planning again builds what is there now.
	w.Must("apply", "-auto-approve", "-input=false", "-no-color")

	// Create: a new operator's source edited after the plan.
	w.Write(map[string]string{"main.tf": testCLIConfig(eng, role, bucket, wf, 2), "src1/main.py": "def run():\n    return 1\n"})
	w.Must("plan", "-out=tfplan", "-input=false", "-no-color")
	edit("src1/main.py", "def run():\n    return 'edited'\n")
	out, code = w.Run("apply", "-input=false", "-no-color", "tfplan")
	if code == 0 || !wantChanged.MatchString(out) || strings.Contains(out, "inconsistent final plan") {
		t.Fatalf("applying a create whose source changed since exited %d; want an error that says the source changed after the plan:\n%s", code, out)
	}
	w.Must("apply", "-auto-approve", "-input=false", "-no-color")
	if out, code := w.Run("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("plan after the fix exited %d:\n%s", code, out)
	}
}
