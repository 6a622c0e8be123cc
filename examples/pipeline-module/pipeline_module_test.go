package pipelinemodule_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// tree is every file under examples/<dir> but the tests, keyed by its path
// from the repository root, so that the example's "../modules/pipeline"
// resolves in the copy as it does here.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	root := clitest.RepoRoot()
	out := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "examples", dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".go" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// workspace copies the module and files (paths from the repository root)
// into a workspace whose working directory is examples/<dir>, and
// installs the module.
func workspace(t *testing.T, endpoint, region, dir string, files map[string]string) *clitest.Workspace {
	t.Helper()
	all := tree(t, "modules/pipeline")
	for k, v := range files {
		all[k] = v
	}
	w := clitest.New(t, endpoint, region, all)
	w.Dir = filepath.Join(w.Dir, "examples", dir)
	// get, not init: init would look the dev_overrides provider up in a
	// registry. get installs the local module only.
	w.Must("get", "-no-color")
	return w
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

// plannedChanges are the addresses of the resources a plan changes, with
// their actions.
func plannedChanges(t *testing.T, w *clitest.Workspace, vars []string) map[string][]string {
	t.Helper()
	w.Must(append([]string{"plan", "-input=false", "-no-color", "-out=tfplan"}, vars...)...)
	var plan struct {
		ResourceChanges []struct {
			Address string
			Mode    string
			Change  struct{ Actions []string }
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(w.Must("show", "-json", "tfplan")), &plan); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, rc := range plan.ResourceChanges {
		if rc.Mode == "managed" && !slices.Equal(rc.Change.Actions, []string{"no-op"}) {
			out[rc.Address] = rc.Change.Actions
		}
	}
	return out
}

func statuses(out map[string]any) map[string]any {
	got := map[string]any{}
	for name, r := range out["results"].(map[string]any) { //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
		got[name] = r.(map[string]any)["status"] //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
	}
	return got
}

// The example applies the module's diamond on the emulator, runs it, plans
// nothing more, and after an edit to one operator's code updates and runs
// that operator alone.
func TestPipelineModule_diamondRunsAndRerunsOnlyTheEditedOperator(t *testing.T) {
	if !testenv.Complete() {
		t.Skip("acceptance test: runs the real Terraform CLI, Docker and the emulator; set TF_ACC=1 (make testacc)")
	}
	testenv.Image(t, testenv.Docker(t), "aqueduct-local/python:3.11")
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	t.Cleanup(func() { emulatortest.RemoveLocalImages(e.Addr()) })
	cfg := emulatortest.Config(t, e)
	c := fixtures.New(cfg)
	ctx := context.Background()
	role, _, err := c.EnsureRole(ctx, "numbers-exec")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnsureBucket(ctx, "numbers-artifacts"); err != nil {
		t.Fatal(err)
	}

	w := workspace(t, e.URL(), e.Region(), "pipeline-module", tree(t, "pipeline-module"))
	vars := []string{"-var", "role_arn=" + role, "-var", "bucket=numbers-artifacts", "-var", "n=4"}
	w.Must(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	destroyed := false
	t.Cleanup(func() {
		if destroyed {
			return
		}
		if out, code := w.Run(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 {
			t.Errorf("destroy exited %d:\n%s", code, out)
		}
	})

	out := outputs(t, w)
	// 2*(1+2+3+4) + (1+4+9+16).
	if out["total"] != 50.0 {
		t.Errorf("total = %v, want 50", out["total"])
	}
	run := out["run"].(map[string]any) //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
	if run["status"] != "succeeded" || run["invoked"] != 4.0 || run["executor"] != "local" {
		t.Errorf("run = %v, want succeeded, 4 invoked, local", run)
	}
	wantLevels := []any{[]any{"load"}, []any{"double", "square"}, []any{"combine"}}
	if !reflect.DeepEqual(out["levels"], wantLevels) {
		t.Errorf("levels = %v, want %v", out["levels"], wantLevels)
	}

	// On the AWS side: one function per operator, with the memory of the
	// operator or of the module's defaults; the engine's repository has
	// the module's tags.
	lc := lambda.NewFromConfig(cfg)
	ops := out["operators"].(map[string]any) //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
	for name, mb := range map[string]int32{"load": 256, "double": 256, "square": 512, "combine": 256} {
		fn := ops[name].(map[string]any)["function_name"].(string) //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
		got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Fatalf("GetFunction %s (%s): %v", fn, name, err)
		}
		if m := aws.ToInt32(got.Configuration.MemorySize); m != mb {
			t.Errorf("%s: Lambda has %d MB, want %d", name, m, mb)
		}
		// The module's tags, and square's own.
		if got.Tags["team"] != "ml" || got.Tags["pipeline"] != "numbers" || (got.Tags["size"] == "large") != (name == "square") {
			t.Errorf("%s: function tags %v, want team=ml, pipeline=numbers and size=large on square alone", name, got.Tags)
		}
	}
	ec := ecr.NewFromConfig(cfg)
	repo, err := ec.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"aqueduct/numbers"}})
	if err != nil {
		t.Fatal(err)
	}
	tags, err := ec.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.Repositories[0].RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	gotTags := map[string]string{}
	for _, tg := range tags.Tags {
		gotTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if gotTags["team"] != "ml" || gotTags["pipeline"] != "numbers" {
		t.Errorf("repository tags %v lack the module's team=ml, pipeline=numbers", gotTags)
	}

	// A second plan changes nothing.
	if outp, code := w.Run(append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, vars...)...); code != 0 {
		t.Fatalf("second plan exited %d, want 0 (no changes):\n%s", code, outp)
	}

	// Edit combine: only combine is updated, and only combine runs.
	w.Write(map[string]string{"operators/combine/combine.py": "def combine(doubled, squared):\n    return {\"doubled\": sum(doubled), \"squared\": sum(squared), \"total\": sum(doubled) + sum(squared) + 1}\n"})
	changes := plannedChanges(t, w, vars)
	want := map[string][]string{`module.numbers.aqueduct_operator.level2["combine"]`: {"update"}}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("after editing combine the plan changes %v, want %v", changes, want)
	}
	w.Must("apply", "-auto-approve", "-input=false", "-no-color", "tfplan")
	out = outputs(t, w)
	if out["total"] != 51.0 {
		t.Errorf("total after the edit = %v, want 51", out["total"])
	}
	if n := out["run"].(map[string]any)["invoked"]; n != 1.0 { //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
		t.Errorf("the run after editing combine invoked %v operators, want 1", n)
	}
	wantStatus := map[string]any{"load": "cached", "double": "cached", "square": "cached", "combine": "succeeded"}
	if got := statuses(out); !reflect.DeepEqual(got, wantStatus) {
		t.Errorf("statuses after editing combine = %v, want %v", got, wantStatus)
	}

	// Destroy leaves no function behind.
	w.Must(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	destroyed = true
	for name, op := range ops {
		fn := op.(map[string]any)["function_name"].(string) //nolint:forcetypeassert // terraform output of a known shape; a panic names the line
		var gone *lambdatypes.ResourceNotFoundException
		if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}); !errors.As(err, &gone) {
			t.Errorf("after destroy, GetFunction %s (%s) = %v, want not found", fn, name, err)
		}
	}
}

// Wiring the module cannot build fails the plan, naming what is wrong,
// before anything reaches AWS.
func TestPipelineModule_badWiringFailsThePlan(t *testing.T) {
	if !testenv.Complete() {
		t.Skip("acceptance test: runs the real Terraform CLI; set TF_ACC=1 (make testacc)")
	}
	op := func(inputs ...string) string {
		return `{ source = "src", handler = "m:f", inputs = ["` + strings.Join(inputs, `", "`) + `"] }`
	}
	chain := "a0 = { source = \"src\", handler = \"m:f\" }\n"
	for i := 1; i <= 8; i++ {
		chain += "a" + string(rune('0'+i)) + " = " + op("a"+string(rune('0'+i-1))) + "\n"
	}
	for name, c := range map[string]struct{ operators, engine, want string }{
		"cycle":         {"a = " + op("b") + "\nb = " + op("a") + "\nc = { source = \"src\", handler = \"m:f\" }", `engine_id = "us-east-1:aqueduct/x"`, "The operators' inputs form a cycle through a, b"},
		"self":          {"a = " + op("a"), `engine_id = "us-east-1:aqueduct/x"`, "form a cycle through a;"},
		"unknown input": {"a = " + op("zz"), `engine_id = "us-east-1:aqueduct/x"`, `a takes "zz"`},
		"too deep":      {chain, `engine_id = "us-east-1:aqueduct/x"`, "deeper than this module's 8 levels: a8 lie"},
		"no engine":     {"a = { source = \"src\", handler = \"m:f\" }", "", "Set exactly one of engine_id"},
	} {
		t.Run(name, func(t *testing.T) {
			main := "module \"p\" {\n  source = \"../modules/pipeline\"\n  name = \"wf\"\n  " + c.engine + "\n  operators = {\n" + c.operators + "\n}\n}\n"
			w := workspace(t, "http://127.0.0.1:1", "us-east-1", "bad", map[string]string{"examples/bad/main.tf": main})
			out, code := w.Run("plan", "-input=false", "-no-color")
			if code == 0 {
				t.Fatalf("plan succeeded, want an error containing %q:\n%s", c.want, out)
			}
			if flat := strings.Join(strings.Fields(out), " "); !strings.Contains(flat, c.want) {
				t.Errorf("plan output lacks %q:\n%s", c.want, out)
			}
		})
	}
}
