package ids

import (
	"strings"
	"testing"
)

func TestParse_roundTrips(t *testing.T) {
	e := Engine{Region: "eu-west-1", Repository: "team/ml/aqueduct"}
	w := Workflow{Engine: e, Name: "iris"}
	o := w.Operator("train_knn")
	if got, err := ParseEngine(e.String(), ""); err != nil || got != e {
		t.Fatalf("ParseEngine(%q) = %+v, %v", e, got, err)
	}
	if got, err := ParseWorkflow(w.String()); err != nil || got != w {
		t.Fatalf("ParseWorkflow(%q) = %+v, %v", w, got, err)
	}
	if got, err := ParseOperator(o.String()); err != nil || got != o {
		t.Fatalf("ParseOperator(%q) = %+v, %v", o, got, err)
	}
	if o.String() != "eu-west-1:team/ml/aqueduct/iris/train_knn" {
		t.Fatalf("operator id %q", o)
	}
}

func TestParseEngine_defaultRegion(t *testing.T) {
	got, err := ParseEngine("aqueduct/ml", "us-east-2")
	if err != nil || got != (Engine{"us-east-2", "aqueduct/ml"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := ParseEngine("aqueduct/ml", ""); err == nil {
		t.Fatal("a bare repository without a default region was accepted")
	}
}

// Each kind reports itself: a bad operator id never talks about a workflow id.
func TestParse_errorsNameTheirKind(t *testing.T) {
	for _, bad := range []string{"", "x", "/", "us-east-1:repo", "us-east-1:repo/", "us-east-1:repo/wf/", "repo/wf/op", "us-east-1:repo/wf/Op", ":repo/wf/op"} {
		if _, err := ParseOperator(bad); err == nil || !strings.Contains(err.Error(), "operator id") {
			t.Errorf("ParseOperator(%q) = %v, want an error about an operator id", bad, err)
		}
	}
	for _, bad := range []string{"", "wf", "us-east-1:/wf", "us-east-1:repo/", "repo/wf", "us-east-1:repo/W F"} {
		if _, err := ParseWorkflow(bad); err == nil || !strings.Contains(err.Error(), "workflow id") {
			t.Errorf("ParseWorkflow(%q) = %v, want an error about a workflow id", bad, err)
		}
	}
	for _, bad := range []string{"", "us-east-1:", ":repo", "us-east-1:a:b"} {
		if _, err := ParseEngine(bad, "us-east-1"); err == nil || !strings.Contains(err.Error(), "engine id") {
			t.Errorf("ParseEngine(%q) = %v, want an error about an engine id", bad, err)
		}
	}
}

func TestParseArtifact(t *testing.T) {
	op := Workflow{Engine: Engine{"us-east-1", "aqueduct/ml"}, Name: "iris"}.Operator("train")
	a := Artifact{Operator: op, Lineage: "sha256:" + strings.Repeat("ab", 32)}
	if got, err := ParseArtifact(a.String()); err != nil || got != a {
		t.Fatalf("ParseArtifact(%q) = %+v, %v", a, got, err)
	}
	if _, err := ParseArtifact(op.String()); err == nil || !strings.Contains(err.Error(), "is an operator id, not an artifact handle") {
		t.Errorf("a bare operator id: %v", err)
	}
	for _, bad := range []string{"", "x@sha256:" + strings.Repeat("ab", 32), op.String() + "@sha256:abc", op.String() + "@" + strings.Repeat("ab", 32)} {
		if _, err := ParseArtifact(bad); err == nil || !strings.Contains(err.Error(), "artifact handle") {
			t.Errorf("ParseArtifact(%q) = %v", bad, err)
		}
	}
}

// A schedule's id never parses as an operator's, nor the other way round.
func TestParseSchedule(t *testing.T) {
	s := Schedule{Workflow: Workflow{Engine: Engine{"us-east-1", "aqueduct/ml"}, Name: "iris"}, Name: "nightly"}
	if s.String() != "us-east-1:aqueduct/ml/iris/schedule:nightly" {
		t.Fatalf("schedule id %q", s)
	}
	if got, err := ParseSchedule(s.String()); err != nil || got != s {
		t.Fatalf("ParseSchedule(%q) = %+v, %v", s, got, err)
	}
	if _, err := ParseOperator(s.String()); err == nil {
		t.Errorf("a schedule id parsed as an operator id")
	}
	for _, bad := range []string{s.Workflow.Operator("nightly").String(), "us-east-1:aqueduct/ml/iris/schedule:", "us-east-1:aqueduct/ml/iris/schedule:Night", "schedule:x", "us-east-1:aqueduct/ml/schedule:x/y"} {
		if _, err := ParseSchedule(bad); err == nil || !strings.Contains(err.Error(), "schedule id") {
			t.Errorf("ParseSchedule(%q) = %v, want an error about a schedule id", bad, err)
		}
	}
}
