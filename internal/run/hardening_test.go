package run

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
)

// A workflow without operators is not a succeeded run: it is an error that
// says how to make the run wait for them (run their artifacts).
func TestExecute_workflowWithoutOperatorsIsAnError(t *testing.T) {
	s := newFakeStore()
	s.putWorkflow(t, "wf", nil, nil)
	rec, err := Execute(context.Background(), s, newFakeInvoker(s), Request{Workflow: "wf"})
	if err == nil || rec != nil {
		t.Fatalf("Execute = %+v, %v; want an error", rec, err)
	}
	for _, want := range []string{`workflow "wf" has no operators yet`, "artifacts = [aqueduct_operator.<name>.artifact]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if keys, _ := s.List(context.Background(), artifacts.WorkflowPrefix(fakePrefix, "wf")+"runs/"); len(keys) != 0 {
		t.Errorf("a run record was written for an empty workflow: %v", keys)
	}
}

// A changed environment (its keyed hash) is a new run, never the old
// result: the operator and everything downstream of it run again.
func TestExecute_changedEnvironmentIsANewRun(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})
	s.apply(t, "wf", "C", func(m *artifacts.OperatorManifest) { m.EnvironmentHMAC = "hmac-sha256:" + strings.Repeat("b", 64) })
	inv.reset()
	second := execute(t, s, inv, Request{})
	if second.Reused || second.ID == first.ID {
		t.Fatalf("after an environment change the run was reused (%s)", second.ID)
	}
	if got := inv.functions(); !slices.Equal(got, []string{"wf-C", "wf-D"}) {
		t.Errorf("after C's environment changed, invoked %v, want [wf-C wf-D]", got)
	}
}

// A succeeded run whose output was deleted is not read back with a dangling
// output URI: the missing output is made again, and only it.
func TestExecute_reusedRunNeedsItsOutputs(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})
	if again := execute(t, s, inv, Request{}); !again.Reused {
		t.Fatal("an unchanged run was not reused")
	}
	s.delete(first.Operators["B"].OutputKey)
	inv.reset()
	third := execute(t, s, inv, Request{})
	if third.Reused || third.Status != StatusSucceeded {
		t.Fatalf("with an output gone the run was reused=%v status=%s", third.Reused, third.Status)
	}
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B"}) || statuses(third) != "A=cached B=succeeded C=cached D=cached" {
		t.Fatalf("invoked %v: %s; want only B made again", got, statuses(third))
	}
	b := third.Operators["B"]
	if ok, _ := s.Exists(context.Background(), b.OutputKey); !ok || b.CacheKey != first.Operators["B"].CacheKey {
		t.Fatalf("B's output %s is not stored again under its cache key (%s, was %s)", b.OutputKey, b.CacheKey, first.Operators["B"].CacheKey)
	}
	// And the cache now points at the new object.
	inv.reset()
	if fourth := execute(t, s, inv, Request{Parameters: param("unused", "1")}); inv.count() != 0 || fourth.Operators["B"].OutputKey != b.OutputKey {
		t.Errorf("after B was made again, a run invoked %d functions and read B from %s, want %s", inv.count(), fourth.Operators["B"].OutputKey, b.OutputKey)
	}
}

// A function that no longer matches its manifest is not invoked: its result
// would be stored under the manifest's identity.
func TestExecute_functionNotMatchingItsManifestIsNotInvoked(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.changed = map[string]bool{"wf-B": true}
	rec := execute(t, s, inv, Request{})
	if rec.Status != StatusFailed {
		t.Fatalf("status %s, want failed", rec.Status)
	}
	b := rec.Operators["B"]
	if b.Status != StatusFailed || b.Error == nil || b.Error.Type != "Aqueduct.FunctionChanged" {
		t.Fatalf("B: %+v", b)
	}
	if n := len(inv.callsOf("wf-B")); n != 0 {
		t.Fatalf("B was invoked %d times", n)
	}
	if rec.Operators["D"].Status != StatusSkipped || rec.Operators["C"].Status != StatusSucceeded {
		t.Fatalf("D %s, C %s", rec.Operators["D"].Status, rec.Operators["C"].Status)
	}
}

// Presigned URLs live as long as the operator may run, and no longer than
// the credentials that sign them, which the record then warns about.
func TestExecute_presignedURLsLastTheOperatorsTimeout(t *testing.T) {
	s, inv := diamond(t, 0) // operators have a 60 s timeout
	rec := execute(t, s, inv, Request{})
	if len(rec.Warnings) != 0 {
		t.Fatalf("warnings without expiring credentials: %v", rec.Warnings)
	}
	for _, ttl := range s.ttls {
		if ttl != 60*time.Second+presignMargin {
			t.Fatalf("a URL lives %s, want the 60 s timeout plus %s", ttl, presignMargin)
		}
	}

	s, inv = diamond(t, 0)
	rec = execute(t, s, inv, Request{CredentialsExpire: time.Now().Add(2 * time.Minute)})
	if rec.Status != StatusSucceeded {
		t.Fatalf("status %s", rec.Status)
	}
	if len(rec.Warnings) != 4 || !strings.Contains(rec.Warnings[0], "expire") || !strings.Contains(rec.Warnings[0], `operator "A"`) {
		t.Fatalf("warnings %v, want one per operator about expiring credentials", rec.Warnings)
	}
	for _, ttl := range s.ttls {
		if ttl > 2*time.Minute {
			t.Fatalf("a URL lives %s, past the credentials' expiry", ttl)
		}
	}
}

func TestPresignTTL(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if ttl, w := presignTTL(900, time.Time{}, now); ttl != 20*time.Minute || w != "" {
		t.Errorf("900 s: %s %q", ttl, w)
	}
	if ttl, w := presignTTL(0, time.Time{}, now); ttl != 20*time.Minute || w != "" {
		t.Errorf("unknown timeout: %s %q", ttl, w)
	}
	if ttl, w := presignTTL(60, now.Add(time.Hour), now); ttl != 6*time.Minute || w != "" {
		t.Errorf("credentials that outlive the run: %s %q", ttl, w)
	}
	ttl, w := presignTTL(900, now.Add(10*time.Minute), now)
	if ttl != 10*time.Minute || !strings.Contains(w, "2026-12-01T00:10:00Z") || !strings.Contains(w, "900 s") {
		t.Errorf("credentials that expire first: %s %q", ttl, w)
	}
}

func TestCycleThrough(t *testing.T) {
	s, _ := diamond(t, 0) // A→B, A→C, B+C→D
	ctx := context.Background()
	if c := CycleThrough(ctx, s, "wf", "A", []string{"D"}); strings.Join(c, " <- ") != "A <- D <- B <- A" {
		t.Errorf("A taking D: cycle %v, want A <- D <- B <- A", c)
	}
	if c := CycleThrough(ctx, s, "wf", "E", []string{"D", "C"}); c != nil {
		t.Errorf("a new operator below D: cycle %v", c)
	}
	if c := CycleThrough(ctx, s, "wf", "B", []string{"C"}); c != nil {
		t.Errorf("B taking C: cycle %v", c)
	}
}
