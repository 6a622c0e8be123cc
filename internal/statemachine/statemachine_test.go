package statemachine

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden definitions in testdata")

var store = Store{Bucket: "artifacts", Region: "us-east-1", Root: "aqueduct/engines/ml-0123456789ab", Workflow: "iris"}

// quickstart is examples/quickstart's DAG.
func quickstart() Spec {
	return Spec{
		Workflow: "iris",
		Operators: []Operator{
			{Name: "load", FunctionName: "ml-iris-load-111111111111", TimeoutS: 120},
			{Name: "split", FunctionName: "ml-iris-split-222222222222", Inputs: []string{"load"}, TimeoutS: 120},
			{Name: "train_knn", FunctionName: "ml-iris-train_knn-333333333333", Inputs: []string{"split"}, TimeoutS: 300},
			{Name: "train_tree", FunctionName: "ml-iris-train_tree-444444444444", Inputs: []string{"split"}, TimeoutS: 300,
				Retry: &artifacts.RetryPolicy{Attempts: 2, IntervalS: 5, BackoffRate: 2}},
			{Name: "evaluate", FunctionName: "ml-iris-evaluate-555555555555", Inputs: []string{"split", "train_knn", "train_tree"}, TimeoutS: 120},
		},
		Targets: []string{"evaluate"},
		Store:   store,
	}
}

// diamond is a -> b, a -> c, b + c -> d.
func diamond() Spec {
	s := store
	s.Workflow = "diamond"
	return Spec{
		Workflow: "diamond",
		Operators: []Operator{
			{Name: "a", FunctionName: "ml-diamond-a-aaaaaaaaaaaa"},
			{Name: "b", FunctionName: "ml-diamond-b-bbbbbbbbbbbb", Inputs: []string{"a"}},
			{Name: "c", FunctionName: "ml-diamond-c-cccccccccccc", Inputs: []string{"a"}},
			{Name: "d", FunctionName: "ml-diamond-d-dddddddddddd", Inputs: []string{"b", "c"}},
		},
		Targets: []string{"d"},
		Store:   s,
	}
}

// The definitions are readable, reviewed artifacts: golden files.
func TestCompile_golden(t *testing.T) {
	for name, spec := range map[string]Spec{"quickstart": quickstart(), "diamond": diamond()} {
		got, err := Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join("testdata", name+".asl.json")
		if *update {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -update to write it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the definition differs from %s (go test -update rewrites it after review)", name, file)
		}
	}
}

// Operators run level by level: each in the first level after all its
// inputs, independent ones in the same Parallel.
func TestCompile_levels(t *testing.T) {
	def := compile(t, quickstart())
	states := def["States"].(map[string]any)
	want := map[string][]string{"Level 0": {"load"}, "Level 1": {"split"}, "Level 2": {"train_knn", "train_tree"}, "Level 3": {"evaluate"}}
	for level, ops := range want {
		p, ok := states[level].(map[string]any)
		if !ok || p["Type"] != "Parallel" {
			t.Fatalf("%s is %v, want a Parallel", level, states[level])
		}
		branches := p["Branches"].([]any)
		if len(branches) != len(ops) {
			t.Fatalf("%s has %d branches, want %v", level, len(branches), ops)
		}
		for i, op := range ops {
			b := branches[i].(map[string]any)["States"].(map[string]any)
			task, ok := b[op].(map[string]any)
			if !ok || task["Type"] != "Task" || task["Resource"] != "arn:aws:states:::lambda:invoke" {
				t.Fatalf("%s branch %d lacks the Task of %s: %v", level, i, op, b)
			}
		}
	}
	if _, ok := states["Level 4"]; ok {
		t.Fatal("a fifth level")
	}
}

// Nothing that changes with an operator's code is in the definition, so the
// state machine's name follows the DAG's structure alone.
func TestCompile_contentAddressedByStructure(t *testing.T) {
	a, _ := Compile(quickstart())
	b, _ := Compile(quickstart())
	if !bytes.Equal(a, b) {
		t.Fatal("the same spec compiled twice differs")
	}
	if strings.Contains(string(a), "sha256:") {
		t.Fatal("a lineage is in the definition")
	}
	changed := quickstart()
	changed.Operators[3].Retry.Attempts = 3
	c, _ := Compile(changed)
	if bytes.Equal(a, c) {
		t.Fatal("a changed retry policy kept the definition")
	}
}

// Retry: throttling always, the operator's policy for its own errors; a
// Catch makes any other failure a result, and a Choice skips an operator
// whose input did not succeed.
func TestCompile_retryCatchAndSkip(t *testing.T) {
	def := compile(t, quickstart())
	states := def["States"].(map[string]any)
	level2 := states["Level 2"].(map[string]any)["Branches"].([]any)
	tree := level2[1].(map[string]any)["States"].(map[string]any)
	task := tree["train_tree"].(map[string]any)
	retry := task["Retry"].([]any)
	if len(retry) != 3 {
		t.Fatalf("retry %v", retry)
	}
	if stale := retry[1].(map[string]any); stale["ErrorEquals"].([]any)[0] != runtime.ErrorStaleLineage || stale["MaxAttempts"] != 0.0 {
		t.Fatalf("a stale lineage is retried: %v", stale)
	}
	own := retry[2].(map[string]any)
	if own["MaxAttempts"] != 2.0 || own["IntervalSeconds"] != 5.0 || own["BackoffRate"] != 2.0 {
		t.Fatalf("the operator's retry policy is %v", own)
	}
	if c := task["Catch"].([]any)[0].(map[string]any); c["Next"] != "train_tree failed" {
		t.Fatalf("catch %v", c)
	}
	ready := tree["train_tree ready?"].(map[string]any)
	if ready["Type"] != "Choice" || ready["Default"] != "train_tree cached?" {
		t.Fatalf("ready check %v", ready)
	}
	// An output found in the cache before the start is taken without an
	// invocation; otherwise the Task runs.
	cached := tree["train_tree cached?"].(map[string]any)
	rule := cached["Choices"].([]any)[0].(map[string]any)
	if rule["Variable"] != "$.cached.train_tree" || rule["IsPresent"] != true || rule["Next"] != "train_tree from cache" || cached["Default"] != "train_tree" {
		t.Fatalf("cache check %v", cached)
	}
	if from := tree["train_tree from cache"].(map[string]any); from["Type"] != "Pass" || from["End"] != true {
		t.Fatalf("from cache %v", from)
	}
	knn := level2[0].(map[string]any)["States"].(map[string]any)["train_knn"].(map[string]any)
	if len(knn["Retry"].([]any)) != 1 {
		t.Fatal("an operator without a retry policy retries its own errors")
	}
}

func TestCompile_rejects(t *testing.T) {
	cyclic := diamond()
	cyclic.Operators[0].Inputs = []string{"d"}
	if _, err := Compile(cyclic); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("a cycle: %v", err)
	}
	missing := diamond()
	missing.Operators = missing.Operators[1:]
	if _, err := Compile(missing); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("a missing input: %v", err)
	}
	noTarget := diamond()
	noTarget.Targets = []string{"z"}
	if _, err := Compile(noTarget); err == nil {
		t.Error("an unknown target was accepted")
	}
}

func compile(t *testing.T, spec Spec) map[string]any {
	t.Helper()
	b, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	return def
}
