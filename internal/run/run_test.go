package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// diamond is A→B, A→C, B+C→D, with the signatures its Python would have:
// a(base) returns the parameter "base" (or its input when it runs alone),
// b(a, scale=1) adds scale, c(a) multiplies by ten, d(b, c) returns [b, c].
// So A takes "base", B takes "scale", and C and D take no parameter.
func diamond(t testing.TB, sleep time.Duration) (*fakeStore, *fakeInvoker) {
	t.Helper()
	s := newFakeStore()
	s.putWorkflow(t, "wf", map[string]string{"base": "2"}, map[string][]string{
		"A": nil, "B": {"A"}, "C": {"A"}, "D": {"B", "C"},
	})
	inv := newFakeInvoker(s)
	inv.set("wf-A", &fakeFn{params: []string{"base"}, fn: func(a []any, ev runtime.Event) (any, error) {
		if len(a) > 0 {
			return a[0], nil
		}
		var base float64
		if err := json.Unmarshal(ev.Parameters["base"], &base); err != nil {
			return nil, fmt.Errorf("base %s: %w", ev.Parameters["base"], err)
		}
		return base, nil
	}})
	inv.set("wf-B", &fakeFn{sleep: sleep, params: []string{"a", "scale"}, fn: func(a []any, ev runtime.Event) (any, error) {
		scale := 1.0
		if raw, ok := ev.Parameters["scale"]; ok {
			if err := json.Unmarshal(raw, &scale); err != nil {
				return nil, err
			}
		}
		return a[0].(float64) + scale, nil
	}})
	inv.set("wf-C", &fakeFn{sleep: sleep, params: []string{"a"}, fn: func(a []any, _ runtime.Event) (any, error) { return a[0].(float64) * 10, nil }})
	inv.set("wf-D", &fakeFn{params: []string{"b", "c"}, fn: func(a []any, _ runtime.Event) (any, error) { return a, nil }})
	return s, inv
}

func execute(t *testing.T, s *fakeStore, inv *fakeInvoker, req Request) *Record {
	t.Helper()
	if req.Workflow == "" {
		req.Workflow = "wf"
	}
	rec, err := Execute(context.Background(), s, inv, req)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return rec
}

func only(t *testing.T, inv *fakeInvoker, function string) fakeCall {
	t.Helper()
	calls := inv.callsOf(function)
	if len(calls) != 1 {
		t.Fatalf("%s was invoked %d times, want 1", function, len(calls))
	}
	return calls[0]
}

func overlap(a, b fakeCall) bool { return a.Start.Before(b.End) && b.Start.Before(a.End) }

// statuses is each operator's status, "A=cached B=succeeded ...", for
// comparing a run with what it should have done.
func statuses(rec *Record) string {
	var out []string
	for _, name := range sortedKeys(rec.Operators) {
		out = append(out, name+"="+rec.Operators[name].Status)
	}
	return strings.Join(out, " ")
}

// param is a run parameter.
func param(name, value string) map[string]json.RawMessage {
	return map[string]json.RawMessage{name: json.RawMessage(value)}
}

func TestExecute_diamondRunsInDependencyOrderWithBranchesInParallel(t *testing.T) {
	s, inv := diamond(t, 200*time.Millisecond)
	rec := execute(t, s, inv, Request{})

	if rec.Status != StatusSucceeded || rec.Reused {
		t.Fatalf("status %q reused %v, want a fresh succeeded run", rec.Status, rec.Reused)
	}
	if got := string(rec.Operators["D"].Output); got != "[3,20]" {
		t.Errorf("D's output is %s, want [3,20]", got)
	}
	a, b, c, d := only(t, inv, "wf-A"), only(t, inv, "wf-B"), only(t, inv, "wf-C"), only(t, inv, "wf-D")
	if b.Start.Before(a.End) || c.Start.Before(a.End) {
		t.Error("B or C started before A finished")
	}
	if d.Start.Before(b.End) || d.Start.Before(c.End) {
		t.Error("D started before B and C finished")
	}
	if !overlap(b, c) {
		t.Errorf("B [%v, %v] and C [%v, %v] did not overlap", b.Start, b.End, c.Start, c.End)
	}
	if rec.Invoked != 4 {
		t.Errorf("Invoked %d, want 4", rec.Invoked)
	}
	ms := s.manifests(t, "wf")
	for name, op := range rec.Operators {
		// Nothing ran before, so what each takes, and so its cache key, was
		// learnt from this run: its output is in the run's folder.
		out := artifacts.RunOutputKey(fakePrefix, "wf", rec.ID, name)
		if op.Status != StatusSucceeded || op.FunctionName != "wf-"+name || op.ContentType != runtime.ContentTypeJSON ||
			op.OutputKey != out || op.OutputURI != s.URI(out) || op.StartedAt.IsZero() || op.FinishedAt.Before(op.StartedAt) ||
			!strings.Contains(op.LogTail, "ran wf-"+name) || op.ImageURI == "" || op.Lineage != ms[name].Lineage ||
			op.CacheKey == "" || op.CachedFrom != "" {
			t.Errorf("operator %s: %+v", name, op)
		}
		if _, ok := s.get(artifacts.ResultKey(fakePrefix, "wf", op.CacheKey)); !ok {
			t.Errorf("operator %s: no cached result at %s", name, artifacts.ResultKey(fakePrefix, "wf", op.CacheKey))
		}
	}
	if !slices.Equal(rec.Targets, []string{"D"}) {
		t.Errorf("targets %v, want the terminal operator [D]", rec.Targets)
	}
	if rec.Operators["B"].DurationMS < 200 {
		t.Errorf("B's duration %d ms is shorter than its 200 ms sleep", rec.Operators["B"].DurationMS)
	}
	if rec.DurationMS < 200 || rec.FinishedAt.Before(rec.StartedAt) {
		t.Errorf("run duration %d ms, shorter than B's 200 ms", rec.DurationMS)
	}

	var stored Record
	if found, err := s.GetJSON(context.Background(), artifacts.RunKey(fakePrefix, "wf", rec.ID), &stored); !found || err != nil {
		t.Fatalf("no run record at %s: %v", artifacts.RunKey(fakePrefix, "wf", rec.ID), err)
	}
	if stored.Status != StatusSucceeded || string(stored.Operators["D"].Output) != "[3,20]" || stored.ID != rec.ID {
		t.Errorf("stored record: %+v", stored)
	}
	if !regexp.MustCompile(`^r-[0-9a-f]{16}$`).MatchString(rec.ID) {
		t.Errorf("run id %q is not r-<16 hex>", rec.ID)
	}
}

func TestExecute_maxParallelBoundsConcurrency(t *testing.T) {
	t.Run("one serialises the branches", func(t *testing.T) {
		s, inv := diamond(t, 50*time.Millisecond)
		rec := execute(t, s, inv, Request{MaxParallel: 1})
		if rec.Status != StatusSucceeded {
			t.Fatalf("status %s", rec.Status)
		}
		if b, c := only(t, inv, "wf-B"), only(t, inv, "wf-C"); overlap(b, c) || inv.maxActive != 1 {
			t.Errorf("B and C overlapped (max %d at once) with max_parallel 1", inv.maxActive)
		}
	})
	t.Run("a wide DAG runs at most max_parallel at once", func(t *testing.T) {
		s := newFakeStore()
		ops := map[string][]string{}
		inv := newFakeInvoker(s)
		for i := range 9 {
			name := fmt.Sprintf("op%d", i)
			ops[name] = nil
			inv.set(fnName("wide", name), &fakeFn{sleep: 100 * time.Millisecond, fn: func([]any, runtime.Event) (any, error) { return i, nil }})
		}
		s.putWorkflow(t, "wide", nil, ops)
		rec := execute(t, s, inv, Request{Workflow: "wide", MaxParallel: 3})
		if rec.Status != StatusSucceeded || inv.count() != 9 {
			t.Fatalf("status %s after %d invocations", rec.Status, inv.count())
		}
		if inv.maxActive != 3 {
			t.Errorf("%d operators ran at once, want 3", inv.maxActive)
		}
	})
}

func TestExecute_failureSkipsDescendantsWhileIndependentBranchesFinish(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-B", &fakeFn{fn: func([]any, runtime.Event) (any, error) { return nil, errors.New("bad value: 5") }})
	inv.set("wf-C", &fakeFn{sleep: 100 * time.Millisecond, fn: func(a []any, _ runtime.Event) (any, error) { return "c ok", nil }})
	rec := execute(t, s, inv, Request{})

	if rec.Status != StatusFailed {
		t.Fatalf("run status %s, want failed", rec.Status)
	}
	b := rec.Operators["B"]
	if b.Status != StatusFailed || b.Error == nil || b.Error.Type != "ValueError" || b.Error.Message != "bad value: 5" ||
		!strings.HasPrefix(b.Error.Traceback, "Traceback (most recent call last):\n") || !strings.HasSuffix(b.Error.Traceback, "\nValueError: bad value: 5") ||
		!strings.Contains(b.LogTail, "[ERROR] ValueError") {
		t.Errorf("B: %+v error %+v", b, b.Error)
	}
	if c := rec.Operators["C"]; c.Status != StatusSucceeded || string(c.Output) != `"c ok"` {
		t.Errorf("C, independent of B, should succeed: %+v", c)
	}
	d := rec.Operators["D"]
	if d.Status != StatusSkipped || !strings.Contains(d.SkippedBecause, `"B" failed`) || !d.StartedAt.IsZero() {
		t.Errorf("D: %+v", d)
	}
	if n := len(inv.callsOf("wf-D")); n != 0 {
		t.Errorf("D was invoked %d times", n)
	}
	if got := rec.FailedOperators(); !slices.Equal(got, []string{"B"}) {
		t.Errorf("FailedOperators() = %v", got)
	}
}

func TestExecute_invokeErrorsAndForeignAnswersFailTheOperator(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-B", &fakeFn{invokeErr: errors.New("AccessDeniedException: not authorized to perform lambda:InvokeFunction")})
	timeout := runtime.FunctionError{ErrorType: "Sandbox.Timedout", ErrorMessage: "Task timed out after 60.00 seconds"}
	tb, _ := json.Marshal(timeout)
	inv.set("wf-C", &fakeFn{answer: &Invocation{Payload: tb, FunctionError: "Unhandled"}})
	rec := execute(t, s, inv, Request{})
	if e := rec.Operators["B"].Error; e == nil || e.Type != "Aqueduct.InvokeError" || !strings.Contains(e.Message, "AccessDenied") {
		t.Errorf("B error %+v", e)
	}
	if e := rec.Operators["C"].Error; e == nil || e.Type != "Sandbox.Timedout" || e.Traceback != "" {
		t.Errorf("C error %+v", e)
	}

	s, inv = diamond(t, 0)
	inv.set("wf-A", &fakeFn{answer: &Invocation{Payload: []byte(`{"statusCode":200,"body":"hi"}`)}})
	inv.set("wf-D", &fakeFn{answer: &Invocation{Payload: []byte("Internal crash"), FunctionError: "Unhandled"}})
	rec = execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "B")}})
	if e := rec.Operators["A"].Error; e == nil || e.Type != "Aqueduct.BadResponse" || !strings.Contains(e.Message, `"body":"hi"`) {
		t.Errorf("A error %+v", e)
	}
	if rec.Operators["B"].Status != StatusSkipped {
		t.Errorf("B %+v", rec.Operators["B"])
	}
}

func TestExecute_targetsRunOnlyThemAndTheirAncestors(t *testing.T) {
	s, inv := diamond(t, 0)
	rec := execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "B")}})
	if got := sortedKeys(rec.Operators); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("record has operators %v, want [A B]", got)
	}
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A", "wf-B"}) {
		t.Errorf("invoked %v, want [wf-A wf-B]", got)
	}
	if !slices.Equal(rec.Targets, []string{"B"}) {
		t.Errorf("record targets %v", rec.Targets)
	}

	// C needs A, which B's run made: only C is invoked.
	inv.reset()
	rec = execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "C")}})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-C"}) || statuses(rec) != "A=cached C=succeeded" {
		t.Errorf("target C after target B: invoked %v, %s", got, statuses(rec))
	}

	_, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", Targets: []Target{s.target(t, "wf", "B"), {Operator: "Z"}}})
	if err == nil || !strings.Contains(err.Error(), `operator "Z"`) || !strings.Contains(err.Error(), "A, B, C, D") {
		t.Errorf("unknown target: %v", err)
	}
}

// Without targets, a run makes every terminal operator (one no other takes
// as input), and so runs the whole DAG.
func TestExecute_withoutTargetsRunsEveryTerminalOperator(t *testing.T) {
	s := newFakeStore()
	s.putWorkflow(t, "wf", nil, map[string][]string{"A": nil, "B": {"A"}, "C": {"A"}, "E": nil, "F": {"B", "B"}})
	inv := newFakeInvoker(s)
	for _, name := range []string{"A", "B", "C", "E", "F"} {
		inv.set(fnName("wf", name), &fakeFn{fn: func([]any, runtime.Event) (any, error) { return name, nil }})
	}
	rec := execute(t, s, inv, Request{})
	if !slices.Equal(rec.Targets, []string{"C", "E", "F"}) {
		t.Errorf("targets %v, want the terminal operators [C E F]", rec.Targets)
	}
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A", "wf-B", "wf-C", "wf-E", "wf-F"}) || rec.Status != StatusSucceeded {
		t.Errorf("invoked %v, %s", got, statuses(rec))
	}
	// The same targets named explicitly, with their lineages, are the same run.
	again := execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "F"), s.target(t, "wf", "C"), s.target(t, "wf", "E")}})
	if !again.Reused || again.ID != rec.ID {
		t.Errorf("explicit targets [F C E]: run %s reused %v, want %s reused", again.ID, again.Reused, rec.ID)
	}
}

func TestExecute_reusesASucceededRunAndInvokesNothing(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})
	n := inv.count()
	second := execute(t, s, inv, Request{})
	if !second.Reused || second.ID != first.ID || inv.count() != n {
		t.Fatalf("second run: reused %v id %s (first %s), invocations %d→%d", second.Reused, second.ID, first.ID, n, inv.count())
	}
	if string(second.Operators["D"].Output) != "[3,20]" || second.Status != StatusSucceeded {
		t.Errorf("reused record lost its results: %+v", second.Operators["D"])
	}
	// The terminal operator named as a target is the same run.
	third := execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "D")}})
	if !third.Reused || third.ID != first.ID {
		t.Errorf("target D is what a run without targets makes, but made run %s (reused %v)", third.ID, third.Reused)
	}
	// Other targets are another run, but everything they need is cached.
	fourth := execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "D"), s.target(t, "wf", "A")}})
	if fourth.Reused || fourth.ID == first.ID || inv.count() != n || fourth.Invoked != 0 {
		t.Fatalf("targets [D A]: reused %v id %s, %d invocations, Invoked %d", fourth.Reused, fourth.ID, inv.count()-n, fourth.Invoked)
	}
	for name, op := range fourth.Operators {
		if op.Status != StatusCached || op.CachedFrom != first.ID || op.OutputKey != first.Operators[name].OutputKey {
			t.Errorf("%s: %+v, want cached from %s", name, op, first.ID)
		}
	}
}

func TestExecute_failedRunResumesWhereItFailed(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-C", &fakeFn{invokeErr: errors.New("TooManyRequestsException: Rate exceeded")})
	first := execute(t, s, inv, Request{})
	if first.Status != StatusFailed || statuses(first) != "A=succeeded B=succeeded C=failed D=skipped" {
		t.Fatalf("first run %s: %s", first.Status, statuses(first))
	}
	inv.set("wf-C", &fakeFn{params: []string{"a"}, fn: func(a []any, _ runtime.Event) (any, error) { return a[0].(float64) * 10, nil }})
	inv.reset()
	second := execute(t, s, inv, Request{})
	if second.Reused || second.Status != StatusSucceeded || second.ID != first.ID {
		t.Errorf("second run: reused %v status %s id %s (first %s)", second.Reused, second.Status, second.ID, first.ID)
	}
	// Only the failed operator and what it skipped run again.
	if got := inv.functions(); !slices.Equal(got, []string{"wf-C", "wf-D"}) || second.Invoked != 2 {
		t.Errorf("the resumed run invoked %v (Invoked %d), want [wf-C wf-D]", got, second.Invoked)
	}
	if statuses(second) != "A=cached B=cached C=succeeded D=succeeded" || string(second.Operators["D"].Output) != "[3,20]" {
		t.Errorf("resumed run: %s, D %s", statuses(second), second.Operators["D"].Output)
	}
	if a := second.Operators["A"]; a.CachedFrom != first.ID || a.OutputKey != first.Operators["A"].OutputKey {
		t.Errorf("A: %+v, want cached from %s", a, first.ID)
	}
}

func TestExecute_rerunForcesAFreshRun(t *testing.T) {
	s, inv := diamond(t, 0)
	// D's output changes with each invocation, as a model trained with a
	// fresh seed does, so a test can tell which run made an output.
	var trained int
	inv.set("wf-D", &fakeFn{params: []string{"b", "c"}, fn: func(a []any, _ runtime.Event) (any, error) {
		trained++
		return append(a, trained), nil
	}})
	first := execute(t, s, inv, Request{})
	firstKey := artifacts.RunKey(fakePrefix, "wf", first.ID)

	again := execute(t, s, inv, Request{Rerun: true})
	if again.Reused || !strings.HasPrefix(again.ID, first.ID+"-") || again.Identity != first.Identity {
		t.Fatalf("rerun: reused %v id %s identity %s", again.Reused, again.ID, again.Identity)
	}
	if c := inv.counts(); c["wf-A"] != 2 || c["wf-B"] != 2 || c["wf-C"] != 2 || c["wf-D"] != 2 || again.Invoked != 4 {
		t.Errorf("after a rerun the functions ran %v times (Invoked %d), want twice each", c, again.Invoked)
	}
	if got := string(again.Operators["D"].Output); got != "[3,20,2]" {
		t.Errorf("the rerun's D is %s, want [3,20,2]", got)
	}
	if _, ok := s.get(artifacts.RunKey(fakePrefix, "wf", again.ID)); !ok {
		t.Error("the rerun's record was not written under its own id")
	}
	// Without rerun, the identity now reads the latest run.
	latest := execute(t, s, inv, Request{})
	if !latest.Reused || latest.ID != again.ID || string(latest.Operators["D"].Output) != "[3,20,2]" {
		t.Errorf("after a rerun, a plain run read %s (reused %v, D %s), want %s", latest.ID, latest.Reused, latest.Operators["D"].Output, again.ID)
	}
	if _, ok := s.get(firstKey); !ok {
		t.Error("identity record missing")
	}
	// And another run that needs the same outputs finds the rerun's in the cache.
	inv.reset()
	other := execute(t, s, inv, Request{Parameters: param("unused", "1")})
	if inv.count() != 0 || string(other.Operators["D"].Output) != "[3,20,2]" || other.Operators["D"].CachedFrom != again.ID {
		t.Errorf("a run after the rerun: %d invocations, D %+v, want cached from %s", inv.count(), other.Operators["D"], again.ID)
	}

	third := execute(t, s, inv, Request{Rerun: true})
	if third.ID == again.ID || string(third.Operators["D"].Output) != "[3,20,3]" {
		t.Errorf("two reruns got the same id, or the second did not run D: %s %s", third.ID, third.Operators["D"].Output)
	}
	// No rerun changes an output an earlier record names: each record's
	// output objects still hold what it says they do.
	for _, r := range []*Record{first, again, third} {
		for name, op := range r.Operators {
			if got, _ := s.get(op.OutputKey); string(got) != string(op.Output) {
				t.Errorf("run %s: %s's output %s now holds %s, but the record says %s", r.ID, name, op.OutputKey, got, op.Output)
			}
		}
	}
}

func TestExecute_identityFollowsWhatRuns(t *testing.T) {
	id := func(s *fakeStore, req Request) string {
		t.Helper()
		req.Workflow = "wf"
		_, inv := diamond(t, 0)
		inv.store = s
		rec, err := Execute(context.Background(), s, inv, req)
		if err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	s, _ := diamond(t, 0)
	base := id(s, Request{})

	if got := id(s, Request{Parameters: param("base", "3")}); got == base {
		t.Error("a changed parameter kept the run id")
	}
	if got := id(s, Request{Parameters: param("base", " 2 ")}); got != base {
		t.Error("a parameter equal to the default changed the run id")
	}
	if got := id(s, Request{Parameters: param("extra", `{"b": 1, "a": [1, 2]}`)}); got == base {
		t.Error("a new parameter kept the run id")
	} else if again := id(s, Request{Parameters: param("extra", `{"a":[1,2],"b":1}`)}); again != got {
		t.Error("key order or spacing in a parameter changed the run id")
	}
	if got := id(s, Request{Targets: []Target{s.target(t, "wf", "C")}}); got == base {
		t.Error("a run of fewer operators kept the run id")
	}
	if got := id(s, Request{Targets: []Target{s.target(t, "wf", "D")}}); got != base {
		t.Error("the terminal operator as a target changed the run id")
	}
	keyed := id(s, Request{RunKey: "nightly-2026-11-27"})
	if keyed == base || id(s, Request{RunKey: "nightly-2026-11-27", Parameters: param("base", "9")}) != keyed {
		t.Error("a run key should name the run whatever the parameters")
	}
	if id(s, Request{RunKey: "nightly-2026-11-27", Operator: "A"}) == keyed {
		t.Error("one operator's run took the workflow run's key")
	}
	other := newFakeStore()
	other.putWorkflow(t, "other", nil, map[string][]string{"A": nil})
	otherInv := newFakeInvoker(other)
	otherInv.set("other-A", &fakeFn{fn: func([]any, runtime.Event) (any, error) { return 0, nil }})
	if rec, err := Execute(context.Background(), other, otherInv, Request{Workflow: "other", RunKey: "nightly-2026-11-27"}); err != nil {
		t.Fatal(err)
	} else if rec.ID == keyed {
		t.Error("another workflow's run with the same key got the same id")
	}

	// An image upstream of the target is in the target's lineage.
	if changed := s.apply(t, "wf", "B", newImage("b")); !slices.Equal(changed, []string{"B", "D"}) {
		t.Fatalf("applying B's new image changed the lineages of %v, want [B D]", changed)
	}
	changedImage := id(s, Request{})
	if changedImage == base {
		t.Error("a changed image kept the run id")
	}
	// Memory decides whether an operator finishes, not what it returns.
	if changed := s.apply(t, "wf", "B", func(m *artifacts.OperatorManifest) { m.MemoryMB = 1024 }); len(changed) != 0 {
		t.Errorf("a memory change changed the lineages of %v", changed)
	}
	if id(s, Request{}) != changedImage {
		t.Error("a changed memory size changed the run id")
	}
}

func TestExecute_rejectsInvalidDAGs(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  map[string][]string
		want []string
	}{
		{"cycle", map[string][]string{"A": {"C"}, "B": {"A"}, "C": {"B"}, "D": nil}, []string{"cycle", "A → B → C → A"}},
		{"self loop", map[string][]string{"A": {"A"}}, []string{"cycle", "A → A"}},
		{"unknown input", map[string][]string{"A": nil, "B": {"A", "X"}}, []string{`operator "B" has input "X"`, "it has: A, B"}},
		{"cycle below a root", map[string][]string{"R": nil, "A": {"R", "C"}, "B": {"A"}, "C": {"B"}}, []string{"cycle", "A → B → C → A"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore()
			s.putWorkflow(t, "bad", nil, tc.ops)
			inv := newFakeInvoker(s)
			_, err := Execute(context.Background(), s, inv, Request{Workflow: "bad"})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if inv.count() != 0 {
				t.Error("an invalid DAG invoked functions")
			}
		})
	}
	t.Run("missing workflow", func(t *testing.T) {
		_, err := Execute(context.Background(), newFakeStore(), nil, Request{Workflow: "nope"})
		if err == nil || !strings.Contains(err.Error(), `workflow "nope" has no manifest at s3://bucket/pfx/workflows/nope/workflow.json`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad parameter", func(t *testing.T) {
		s, inv := diamond(t, 0)
		_, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", Parameters: map[string]json.RawMessage{"x": json.RawMessage("{nope")}})
		if err == nil || !strings.Contains(err.Error(), `parameter "x" is not valid JSON`) {
			t.Errorf("err = %v", err)
		}
	})
}

var credentialLike = regexp.MustCompile(`(?i)AKIA[0-9A-Z]{16}|secret_?access_?key|session_?token|aws_access_key_id|"password"`)

func TestExecute_eventsCarryPresignedURLsInInputsOrderAndNoCredentials(t *testing.T) {
	s := newFakeStore()
	// D lists C before B: inputs order, not name order.
	s.putWorkflow(t, "wf", map[string]string{"base": "2", "alpha": "1", "beta": `"x"`}, map[string][]string{"A": nil, "B": {"A"}, "C": {"A"}, "D": {"C", "B"}})
	_, inv := diamond(t, 0)
	inv.store = s
	inv.set("wf-C", &fakeFn{fn: func([]any, runtime.Event) (any, error) { return pickled{"<Point>"}, nil }})
	rec := execute(t, s, inv, Request{Parameters: map[string]json.RawMessage{"beta": json.RawMessage(`"y"`)}})
	if rec.Status != StatusSucceeded {
		for name, op := range rec.Operators {
			t.Logf("%s: %s %+v %s", name, op.Status, op.Error, op.SkippedBecause)
		}
		t.Fatalf("run %s", rec.Status)
	}

	ev := only(t, inv, "wf-D")
	if ev.Event.Version != runtime.EventVersion || ev.Event.RunID != rec.ID || ev.Event.Operator != "D" {
		t.Errorf("event header %+v", ev.Event)
	}
	var names []string
	for _, in := range ev.Event.Inputs {
		names = append(names, in.Operator)
		key, err := s.keyFor("GET", in.URL)
		if err != nil || key != rec.Operators[in.Operator].OutputKey {
			t.Errorf("input %s URL %s grants %q (%v)", in.Operator, in.URL, key, err)
		}
	}
	if !slices.Equal(names, []string{"C", "B"}) {
		t.Errorf("inputs %v, want [C B]", names)
	}
	if ct := ev.Event.Inputs[0].ContentType; ct != runtime.ContentTypePickle {
		t.Errorf("C's input content type %q", ct)
	}
	if key, err := s.keyFor("PUT", ev.Event.Output.URL); err != nil || key != rec.Operators["D"].OutputKey {
		t.Errorf("output URL grants %q (%v)", key, err)
	}
	// D never ran before, so its cache key was not known: the run's folder.
	if ev.Event.Output.URI != "s3://bucket/pfx/workflows/wf/runs/"+rec.ID+"/outputs/D" {
		t.Errorf("output URI %s", ev.Event.Output.URI)
	}
	// The event carries every parameter; the runtime passes on those taken.
	if string(ev.Event.Parameters["alpha"]) != "1" || string(ev.Event.Parameters["beta"]) != `"y"` || len(ev.Event.Input) != 0 {
		t.Errorf("parameters %s input %s", ev.Event.Parameters, ev.Event.Input)
	}
	if string(rec.Parameters["beta"]) != `"y"` {
		t.Errorf("record parameters %s", rec.Parameters)
	}
	if c := rec.Operators["C"]; c.ContentType != runtime.ContentTypePickle || c.Output != nil || c.SizeBytes != int64(len("<Point>")) {
		t.Errorf("C (pickle): %+v", c)
	}
	for _, call := range inv.calls {
		if strings.Contains(string(call.Payload), fakeSecret) || credentialLike.Match(call.Payload) {
			t.Errorf("event for %s carries a credential: %s", call.Function, call.Payload)
		}
		// Every URL in an event must be one the store presigned.
		for _, u := range regexp.MustCompile(`https?://[^"]+`).FindAllString(string(call.Payload), -1) {
			u = strings.ReplaceAll(u, `\u0026`, "&")
			if _, errG := s.keyFor("GET", u); errG != nil {
				if _, errP := s.keyFor("PUT", u); errP != nil {
					t.Errorf("event for %s has URL %s that the store did not presign", call.Function, u)
				}
			}
		}
	}
}

func TestExecute_operatorAloneGetsTheInput(t *testing.T) {
	s, inv := diamond(t, 0)
	rec := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage(`41`)})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B"}) {
		t.Fatalf("invoked %v, want only wf-B", got)
	}
	ev := only(t, inv, "wf-B").Event
	if len(ev.Inputs) != 0 || string(ev.Input) != "41" {
		t.Errorf("event inputs %v input %s", ev.Inputs, ev.Input)
	}
	if string(rec.Operators["B"].Output) != "42" || rec.Operator != "B" || len(rec.Operators) != 1 {
		t.Errorf("record %+v", rec)
	}
	other := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage(`1`)})
	if other.ID == rec.ID {
		t.Error("a different input kept the run id")
	}

	if _, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", Operator: "B", Targets: []Target{s.target(t, "wf", "B")}}); err == nil {
		t.Error("operator with targets should be refused")
	}
	if _, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", Input: json.RawMessage(`1`)}); err == nil {
		t.Error("input without an operator should be refused, not ignored")
	}
	if _, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", Operator: "Q"}); err == nil || !strings.Contains(err.Error(), `operator "Q"`) {
		t.Errorf("unknown operator: %v", err)
	}
}

func TestExecute_cancelStopsSchedulingAndKeepsTheRecord(t *testing.T) {
	s, inv := diamond(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv.set("wf-A", &fakeFn{fn: func([]any, runtime.Event) (any, error) { cancel(); return 1, nil }})
	inv.set("wf-B", &fakeFn{sleep: time.Minute})
	rec, err := Execute(ctx, s, inv, Request{Workflow: "wf"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if rec == nil || rec.Status != StatusFailed {
		t.Fatalf("record %+v", rec)
	}
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A"}) {
		t.Errorf("invoked %v after the cancel", got)
	}
	for _, name := range []string{"B", "C", "D"} {
		if op := rec.Operators[name]; op.Status != StatusSkipped || !strings.Contains(op.SkippedBecause, "stopped") {
			t.Errorf("%s: %+v", name, op)
		}
	}
	var stored Record
	if found, _ := s.GetJSON(context.Background(), artifacts.RunKey(fakePrefix, "wf", rec.ID), &stored); !found || stored.Status != StatusFailed {
		t.Errorf("record after cancel: found %v %+v", found, stored)
	}
}

func TestExecute_cancelStopsARunningOperator(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-B", &fakeFn{sleep: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	rec, err := Execute(ctx, s, inv, Request{Workflow: "wf"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if e := rec.Operators["B"].Error; rec.Operators["B"].Status != StatusFailed || e == nil || e.Type != "Aqueduct.Stopped" {
		t.Errorf("B: %+v", rec.Operators["B"])
	}
	if rec.Operators["C"].Status != StatusSucceeded || rec.Operators["D"].Status != StatusSkipped {
		t.Errorf("C %s D %s", rec.Operators["C"].Status, rec.Operators["D"].Status)
	}
}

func TestExecute_unwritableStoreInvokesNothing(t *testing.T) {
	s, inv := diamond(t, 0)
	s.putErr = errors.New("AccessDenied: s3:PutObject")
	_, err := Execute(context.Background(), s, inv, Request{Workflow: "wf"})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || inv.count() != 0 {
		t.Errorf("err %v after %d invocations", err, inv.count())
	}
}

func TestExecute_largeJSONHasNoOutputPreview(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-A", &fakeFn{fn: func([]any, runtime.Event) (any, error) { return strings.Repeat("x", runtime.PreviewLimit), nil }})
	rec := execute(t, s, inv, Request{Operator: "A"})
	a := rec.Operators["A"]
	if a.Status != StatusSucceeded || a.Output != nil || a.SizeBytes <= runtime.PreviewLimit || a.ContentType != runtime.ContentTypeJSON {
		t.Errorf("A: status %s output %d bytes size %d", a.Status, len(a.Output), a.SizeBytes)
	}
}

func TestRecord_jsonRoundTrip(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-C", &fakeFn{fn: func([]any, runtime.Event) (any, error) { return nil, nil }})
	rec := execute(t, s, inv, Request{})
	rec.Reused = true
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"` + rec.ID + `"`, `"status":"succeeded"`, `"duration_ms":`, `"output_uri":"s3://bucket/`, `"output":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("record JSON lacks %s: %s", want, b)
		}
	}
	if strings.Contains(string(b), "eused") {
		t.Error("Reused was persisted")
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.StartedAt.Equal(rec.StartedAt) || string(back.Operators["C"].Output) != "null" || back.Operators["D"].SizeBytes != rec.Operators["D"].SizeBytes {
		t.Errorf("round trip: %+v", back)
	}
}
