package plannedsource

import (
	"encoding/json"
	"os"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Phase
	}{
		{nil, Unknown},
		{[]string{"/usr/bin/python3", "apply", "x"}, Unknown},
		{[]string{"terraform", "plan", "-out=tfplan"}, Planning},
		{[]string{"/opt/bin/terraform", "-chdir=infra", "plan"}, Planning},
		{[]string{"terraform", "destroy"}, Planning},
		{[]string{"terraform", "apply"}, Applying},
		{[]string{"terraform", "apply", "-auto-approve", "-var", "x=1", "-var-file", "a.tfvars", "-target", "aqueduct_operator.a"}, Applying},
		{[]string{"terraform", "apply", "-var=x=1", "-parallelism=2"}, Applying},
		{[]string{"terraform", "-chdir=infra", "apply", "tfplan"}, ApplyingSavedPlan},
		{[]string{"terraform", "apply", "-auto-approve", "-lock-timeout", "5s", "tfplan"}, ApplyingSavedPlan},
		{[]string{"/home/u/.local/bin/tofu", "apply", "plan.out"}, ApplyingSavedPlan},
	} {
		if got := parse(c.args); got != c.want {
			t.Errorf("parse(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func setPhase(t *testing.T, p Phase) {
	t.Helper()
	phaseOnce.Do(func() {})
	old := phase
	phase = p
	t.Cleanup(func() { phase = old })
}

// A saved plan's apply gets back the hash its plan recorded, whatever the
// files hash to now; a new plan reads the files again.
func TestPlanned_savedPlan(t *testing.T) {
	dir = t.TempDir()
	op := "us-east-1:aqueduct/e/wf/op"
	setPhase(t, Planning)
	if got := Planned(op, "sha256:old", "sha256:one"); got != "sha256:one" {
		t.Fatalf("plan returned %s", got)
	}
	setPhase(t, ApplyingSavedPlan)
	if got := Planned(op, "sha256:old", "sha256:two"); got != "sha256:one" {
		t.Fatalf("apply of the saved plan returned %s, want the planned sha256:one", got)
	}
	if got := Planned(op, "sha256:other-state", "sha256:two"); got != "sha256:two" {
		t.Fatalf("another prior state returned %s", got)
	}
	setPhase(t, Planning)
	if got := Planned(op, "sha256:old", "sha256:two"); got != "sha256:two" {
		t.Fatalf("a new plan returned %s, want the files' sha256:two", got)
	}
	Forget(op, "sha256:old")
	setPhase(t, ApplyingSavedPlan)
	if got := Planned(op, "sha256:old", "sha256:three"); got != "sha256:three" {
		t.Fatalf("after Forget, apply returned %s", got)
	}
}

// An interactive apply: the plan half records, the apply half (another
// process of the same terraform) finds it; a record of another terraform
// is not used.
func TestPlanned_interactiveApply(t *testing.T) {
	dir = t.TempDir()
	op := "us-east-1:aqueduct/e/wf/op"
	setPhase(t, Applying)
	if got := Planned(op, "", "sha256:one"); got != "sha256:one" {
		t.Fatalf("plan half returned %s", got)
	}
	if got := Planned(op, "", "sha256:two"); got != "sha256:one" {
		t.Fatalf("apply half returned %s, want the planned sha256:one", got)
	}
	// A record left by another terraform process is not this apply's plan.
	write(op, "x", "sha256:stale")
	r, _ := read(op, "x")
	r.PPID = os.Getppid() + 1
	writeRecord(t, op, "x", r)
	if got := Planned(op, "x", "sha256:fresh"); got != "sha256:fresh" {
		t.Fatalf("another terraform's record was used: %s", got)
	}
}

func TestPlanned_unknownParentReadsTheFiles(t *testing.T) {
	dir = t.TempDir()
	setPhase(t, Unknown)
	if got := Planned("op", "", "sha256:now"); got != "sha256:now" {
		t.Fatal(got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("records written without a terraform parent: %v", entries)
	}
}

func writeRecord(t *testing.T, operator, prior string, r record) {
	t.Helper()
	b, _ := json.Marshal(r)
	if err := os.WriteFile(file(operator, prior), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
