package quickstart_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// files is the quickstart as a user copies it: every file of this directory
// but the tests.
func files(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".go" {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// outputs are the terraform outputs, decoded.
func outputs(t *testing.T, w *clitest.Workspace) map[string]any {
	t.Helper()
	var raw map[string]struct{ Value any }
	if err := json.Unmarshal([]byte(w.Must("output", "-json", "-no-color")), &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for k, v := range raw {
		out[k] = v.Value
	}
	return out
}

// The quickstart, as its README runs it, gives the same model, scores and
// accuracy on Step Functions as in terraform.
func TestQuickstart_stepFunctionsMatchesLocal(t *testing.T) {
	if !testenv.Complete() {
		t.Skip("acceptance test: runs the real Terraform CLI, Docker and the emulator; set TF_ACC=1 (make testacc)")
	}
	testenv.Image(t, testenv.Docker(t), "aqueduct-local/python-ml:3.11")
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	t.Cleanup(func() { emulatortest.RemoveLocalImages(e.Addr()) })
	c := fixtures.New(emulatortest.Config(t, e))
	ctx := context.Background()
	role, _, err := c.EnsureRole(ctx, "quickstart-exec")
	if err != nil {
		t.Fatal(err)
	}
	orch, _, err := c.EnsureOrchestrationRole(ctx, "quickstart-orchestration")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureBucket(ctx, "quickstart-artifacts"); err != nil {
		t.Fatal(err)
	}

	run := func(name string, extra ...string) map[string]any {
		w := clitest.New(t, e.URL(), e.Region(), files(t))
		vars := append([]string{"-var", "name=" + name, "-var", "role_arn=" + role, "-var", "bucket=quickstart-artifacts"}, extra...)
		w.Must(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
		t.Cleanup(func() {
			if out, code := w.Run(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 {
				t.Errorf("destroy of %s exited %d:\n%s", name, code, out)
			}
		})
		return outputs(t, w)
	}
	local := run("qs-local")
	onSFN := run("qs-sfn", "-var", "orchestration_role_arn="+orch)

	if local["executor"] != "local" || onSFN["executor"] != "step_functions" {
		t.Fatalf("executors %v and %v, want local and step_functions", local["executor"], onSFN["executor"])
	}
	for _, k := range []string{"best_model", "accuracy", "scores", "invoked"} {
		if !reflect.DeepEqual(local[k], onSFN[k]) {
			t.Errorf("%s: %v in terraform, %v on Step Functions", k, local[k], onSFN[k])
		}
	}
	if local["best_model"] == nil || local["invoked"] != 5.0 {
		t.Errorf("the local run gave best_model %v after invoking %v operators", local["best_model"], local["invoked"])
	}
}
