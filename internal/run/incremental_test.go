package run

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// Incremental runs: an operator is invoked only when its output for its
// cache key (lineage, the parameters it takes, its inputs' keys) is missing.
// The diamond is A→B, A→C, B+C→D; A takes "base", B takes "scale".

// editRun runs the diamond, applies edit to one operator as the provider
// would, runs again, and returns both records, with the fake's invocations
// counting only the second run's.
func editRun(t *testing.T, op string, edit func(*artifacts.OperatorManifest), wantChanged []string) (s *fakeStore, inv *fakeInvoker, first, second *Record) {
	t.Helper()
	s, inv = diamond(t, 0)
	first = execute(t, s, inv, Request{})
	if changed := s.apply(t, "wf", op, edit); !slices.Equal(changed, wantChanged) {
		t.Fatalf("applying %s changed the lineages of %v, want %v", op, changed, wantChanged)
	}
	inv.reset()
	second = execute(t, s, inv, Request{})
	if second.Reused || second.ID == first.ID || second.Status != StatusSucceeded {
		t.Fatalf("after editing %s: run %s reused %v status %s; want a new succeeded run", op, second.ID, second.Reused, second.Status)
	}
	return s, inv, first, second
}

// checkCachedFrom checks that the named operators were read from the cache,
// with the output run made.
func checkCachedFrom(t *testing.T, rec, made *Record, names ...string) {
	t.Helper()
	for _, name := range names {
		op := rec.Operators[name]
		if op.Status != StatusCached || op.CachedFrom != made.ID || op.OutputKey != made.Operators[name].OutputKey ||
			string(op.Output) != string(made.Operators[name].Output) || op.CacheKey != made.Operators[name].CacheKey {
			t.Errorf("%s: %+v; want cached from run %s (%s)", name, op, made.ID, made.Operators[name].OutputKey)
		}
	}
}

func TestExecute_leafEditInvokesOnlyTheLeaf(t *testing.T) {
	_, inv, first, second := editRun(t, "D", newImage("d"), []string{"D"})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-D"}) || second.Invoked != 1 {
		t.Fatalf("after editing the leaf D, invoked %v (Invoked %d), want [wf-D]", got, second.Invoked)
	}
	checkCachedFrom(t, second, first, "A", "B", "C")
	if d := second.Operators["D"]; d.Status != StatusSucceeded || string(d.Output) != "[3,20]" || d.CacheKey == first.Operators["D"].CacheKey {
		t.Errorf("D: %+v; want invoked under a new cache key", d)
	}
}

func TestExecute_rootEditRerunsEverythingDownstream(t *testing.T) {
	env := func(m *artifacts.OperatorManifest) { m.EnvironmentHMAC = "hmac-sha256:" + strings.Repeat("e", 64) }
	_, inv, _, second := editRun(t, "A", env, []string{"A", "B", "C", "D"})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A", "wf-B", "wf-C", "wf-D"}) || second.Invoked != 4 {
		t.Fatalf("after editing the root A, invoked %v (Invoked %d), want each once", got, second.Invoked)
	}
}

func TestExecute_branchEditRerunsTheBranchAndTheJoinNotTheOtherBranch(t *testing.T) {
	_, inv, first, second := editRun(t, "B", newImage("b"), []string{"B", "D"})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B", "wf-D"}) || second.Invoked != 2 {
		t.Fatalf("after editing B, invoked %v (Invoked %d), want [wf-B wf-D]", got, second.Invoked)
	}
	checkCachedFrom(t, second, first, "A", "C")
}

func TestExecute_parameterNoOperatorTakesInvokesNothing(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})
	inv.reset()
	second := execute(t, s, inv, Request{Parameters: param("unused", `"x"`)})
	if second.Reused || second.ID == first.ID || second.Status != StatusSucceeded {
		t.Fatalf("a new parameter is another run: %s reused %v status %s", second.ID, second.Reused, second.Status)
	}
	if inv.count() != 0 || second.Invoked != 0 {
		t.Fatalf("a parameter no operator takes invoked %v (Invoked %d)", inv.functions(), second.Invoked)
	}
	checkCachedFrom(t, second, first, "A", "B", "C", "D")
	if string(second.Parameters["unused"]) != `"x"` {
		t.Errorf("the record's parameters %s lack the new one", second.Parameters)
	}

	// A callable with **kwargs takes every parameter, so it runs again.
	s, inv = diamond(t, 0)
	inv.set("wf-C", &fakeFn{params: []string{"a"}, kwargs: true, fn: func(a []any, ev runtime.Event) (any, error) {
		if string(ev.Parameters["base"]) != "2" {
			return nil, fmt.Errorf("**kwargs got %s", ev.Parameters)
		}
		return a[0].(float64) * 10, nil
	}})
	first = execute(t, s, inv, Request{})
	inv.reset()
	second = execute(t, s, inv, Request{Parameters: param("unused", `"x"`)})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-C", "wf-D"}) || second.Status != StatusSucceeded {
		t.Fatalf("with C taking **kwargs, a new parameter invoked %v (%s), want [wf-C wf-D]", got, statuses(second))
	}
	checkCachedFrom(t, second, first, "A", "B")
}

func TestExecute_parameterRerunsOnlyTheOperatorsThatTakeItAndTheirDescendants(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})

	inv.reset()
	scaled := execute(t, s, inv, Request{Parameters: param("scale", "5")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B", "wf-D"}) || scaled.Invoked != 2 {
		t.Fatalf("scale, which B takes, invoked %v (Invoked %d), want [wf-B wf-D]", got, scaled.Invoked)
	}
	checkCachedFrom(t, scaled, first, "A", "C")
	if got := string(scaled.Operators["D"].Output); got != "[7,20]" {
		t.Errorf("D with scale 5 is %s, want [7,20]", got)
	}

	inv.reset()
	based := execute(t, s, inv, Request{Parameters: param("base", "3")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A", "wf-B", "wf-C", "wf-D"}) {
		t.Fatalf("base, which the root takes, invoked %v, want every operator once", got)
	}
	if got := string(based.Operators["D"].Output); got != "[4,30]" {
		t.Errorf("D with base 3 is %s, want [4,30]", got)
	}

	// Every version stays cached: going back to one invokes nothing.
	inv.reset()
	back := execute(t, s, inv, Request{Parameters: map[string]json.RawMessage{"scale": json.RawMessage("5"), "unused": json.RawMessage("0")}})
	if inv.count() != 0 || string(back.Operators["D"].Output) != "[7,20]" {
		t.Errorf("back to scale 5: invoked %v, D %s; want all cached, [7,20]", inv.functions(), back.Operators["D"].Output)
	}
	checkCachedFrom(t, back, scaled, "B", "D")
	checkCachedFrom(t, back, first, "A", "C")
}

// What a callable takes is learnt from its first invocation and stored, so
// later runs know each operator's cache key before they invoke it.
func TestExecute_acceptsAreLearntOnFirstInvocationAndKeyLaterRuns(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{})
	ms := s.manifests(t, "wf")
	for name, want := range map[string]string{"A": `{"names":["base"],"all":false}`, "B": `{"names":["scale"],"all":false}`, "C": `{"names":[],"all":false}`, "D": `{"names":[],"all":false}`} {
		got, _ := s.get(artifacts.AcceptsKey(fakePrefix, "wf", ms[name].Lineage))
		if string(got) != want {
			t.Errorf("%s's stored accepts %s, want %s", name, got, want)
		}
	}
	// The keys cover exactly what each operator takes.
	params := map[string]json.RawMessage{"base": json.RawMessage("2")}
	keyA := cacheKey(ms["A"].Lineage, &runtime.Accepts{Names: []string{"base"}}, params, nil, nil)
	keyB := cacheKey(ms["B"].Lineage, &runtime.Accepts{Names: []string{"scale"}}, params, nil, []string{keyA})
	if first.Operators["A"].CacheKey != keyA || first.Operators["B"].CacheKey != keyB {
		t.Errorf("cache keys A %s B %s, want %s %s", first.Operators["A"].CacheKey, first.Operators["B"].CacheKey, keyA, keyB)
	}

	// With A's output gone, a run knows A's key before invoking it, and so
	// has A write straight into the cache.
	s.delete(first.Operators["A"].OutputKey)
	inv.reset()
	second := execute(t, s, inv, Request{Parameters: param("unused", "1")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A"}) {
		t.Fatalf("with A's output deleted, invoked %v, want [wf-A]", got)
	}
	cached := artifacts.CachedOutputKey(fakePrefix, "wf", keyA)
	if key, err := s.keyFor("PUT", only(t, inv, "wf-A").Event.Output.URL); err != nil || key != cached {
		t.Errorf("A's output URL grants %q (%v), want its cache key's object %s", key, err, cached)
	}
	if a := second.Operators["A"]; a.OutputKey != cached || a.CacheKey != keyA || a.Status != StatusSucceeded {
		t.Errorf("A: %+v", a)
	}
	if n := s.putCount(artifacts.AcceptsKey(fakePrefix, "wf", ms["A"].Lineage)); n != 1 {
		t.Errorf("A's accepts were written %d times, want once", n)
	}

	// A cached object deleted is made again too, in the same place.
	s.delete(cached)
	inv.reset()
	third := execute(t, s, inv, Request{Parameters: param("unused", "2")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-A"}) || third.Operators["A"].OutputKey != cached {
		t.Fatalf("with A's cached object deleted, invoked %v and stored A at %s", got, third.Operators["A"].OutputKey)
	}
	if _, ok := s.get(cached); !ok {
		t.Error("A's cached object was not made again")
	}
}

// A runtime that does not say what its callable takes (older than accepts)
// cannot have a cache key: it and what follows it run every time.
func TestExecute_operatorThatDoesNotSayWhatItTakesIsNeverCached(t *testing.T) {
	s, inv := diamond(t, 0)
	inv.set("wf-C", &fakeFn{noAccepts: true, params: []string{"a"}, fn: func(a []any, _ runtime.Event) (any, error) { return a[0].(float64) * 10, nil }})
	first := execute(t, s, inv, Request{})
	if c := first.Operators["C"]; c.Status != StatusSucceeded || c.CacheKey != "" || first.Operators["D"].CacheKey != "" {
		t.Fatalf("C %+v, D's key %q; want no cache key for either", c, first.Operators["D"].CacheKey)
	}
	inv.reset()
	second := execute(t, s, inv, Request{Parameters: param("unused", "1")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-C", "wf-D"}) || second.Status != StatusSucceeded {
		t.Errorf("invoked %v (%s), want [wf-C wf-D] again", got, statuses(second))
	}
	checkCachedFrom(t, second, first, "A", "B")
}

// An artifact handle names the lineage its operator had when Terraform read
// it; a run for an operator that changed since is refused, naming it.
func TestExecute_staleArtifactHandleIsAnError(t *testing.T) {
	s, inv := diamond(t, 0)
	old := s.target(t, "wf", "B")
	s.apply(t, "wf", "B", newImage("b"))
	for name, req := range map[string]Request{
		"target":   {Workflow: "wf", Targets: []Target{s.target(t, "wf", "C"), old}},
		"operator": {Workflow: "wf", Operator: "B", OperatorLineage: old.Lineage, Input: json.RawMessage("1")},
	} {
		_, err := Execute(context.Background(), s, inv, req)
		if err == nil || !strings.Contains(err.Error(), `operator "B"`) || !strings.Contains(err.Error(), old.Lineage) ||
			!strings.Contains(err.Error(), "plan and apply again") {
			t.Errorf("%s with B's old lineage: %v", name, err)
		}
	}
	if inv.count() != 0 {
		t.Errorf("a stale handle invoked %v", inv.functions())
	}
	if keys, _ := s.List(context.Background(), artifacts.WorkflowPrefix(fakePrefix, "wf")+"runs/"); len(keys) != 0 {
		t.Errorf("a stale handle wrote run records: %v", keys)
	}
	if rec := execute(t, s, inv, Request{Targets: []Target{s.target(t, "wf", "B")}}); rec.Status != StatusSucceeded {
		t.Errorf("B's current handle: %s", statuses(rec))
	}
	if rec := execute(t, s, inv, Request{Operator: "B", OperatorLineage: s.target(t, "wf", "B").Lineage, Input: json.RawMessage("1")}); rec.Status != StatusSucceeded {
		t.Errorf("B alone with its current lineage: %s", statuses(rec))
	}
}

// An operator applied against an older version of an input would feed on an
// output its lineage does not cover: the run is refused, naming it.
func TestExecute_operatorAppliedAgainstAnOlderInputIsAnError(t *testing.T) {
	s, inv := diamond(t, 0)
	s.applyOnly(t, "wf", "A", newImage("f"))
	_, err := Execute(context.Background(), s, inv, Request{Workflow: "wf"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`operator "B" was applied against another version of its input "A"`, `operator "C" was applied against another version of its input "A"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `operator "D"`) || strings.Contains(err.Error(), `operator "A"`) {
		t.Errorf("error %q blames an operator applied against its inputs as they are", err)
	}
	if inv.count() != 0 {
		t.Errorf("invoked %v", inv.functions())
	}
	// Once its dependants are applied too, it runs.
	s.apply(t, "wf", "A", func(*artifacts.OperatorManifest) {})
	if rec := execute(t, s, inv, Request{}); rec.Status != StatusSucceeded {
		t.Errorf("after applying the dependants: %s", statuses(rec))
	}

	// A manifest from before lineages is refused, naming it.
	m := s.manifest(t, "wf", "C")
	m.Lineage, m.InputLineages = "", nil
	s.putOperator(t, "wf", *m)
	_, err = Execute(context.Background(), s, inv, Request{Workflow: "wf"})
	if err == nil || !strings.Contains(err.Error(), `operator "C" has no lineage`) {
		t.Errorf("a manifest without lineage: %v", err)
	}
}

// One operator run on its own takes Input as its argument; its output is
// cached by that input, apart from its workflow runs' outputs.
func TestExecute_operatorAloneIsCachedByItsInput(t *testing.T) {
	s, inv := diamond(t, 0)
	first := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage("41")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B"}) || string(first.Operators["B"].Output) != "42" {
		t.Fatalf("B alone on 41: invoked %v, output %s", got, first.Operators["B"].Output)
	}

	inv.reset()
	same := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage(" 41 "), Parameters: param("unused", "1")})
	if inv.count() != 0 || same.Reused {
		t.Fatalf("B alone on the same input, another run: invoked %v, reused %v; want cached", inv.functions(), same.Reused)
	}
	checkCachedFrom(t, same, first, "B")

	inv.reset()
	other := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage("1")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B"}) || string(other.Operators["B"].Output) != "2" {
		t.Errorf("B alone on another input: invoked %v, output %s", got, other.Operators["B"].Output)
	}

	// Alone, B still takes scale.
	inv.reset()
	scaled := execute(t, s, inv, Request{Operator: "B", Input: json.RawMessage("41"), Parameters: param("scale", "2")})
	if got := inv.functions(); !slices.Equal(got, []string{"wf-B"}) || string(scaled.Operators["B"].Output) != "43" {
		t.Errorf("B alone with scale 2: invoked %v, output %s", got, scaled.Operators["B"].Output)
	}

	// A workflow run feeds B from A, not from any input: B runs.
	inv.reset()
	wf := execute(t, s, inv, Request{})
	if c := inv.counts(); c["wf-B"] != 1 || string(wf.Operators["B"].Output) != "3" {
		t.Errorf("workflow run after B's own runs: B invoked %d times, output %s; want 1, 3", c["wf-B"], wf.Operators["B"].Output)
	}
}

// What a callable takes depends on how many positional arguments fill its
// first parameters: its inputs in a workflow run, Input when it runs alone.
// A root operator alone on an input takes its parameter from the input, but
// in a workflow run it still takes it as a parameter, and changing it must
// rerun it.
func TestExecute_aloneAndWorkflowRunsKeepWhatAnOperatorTakesApart(t *testing.T) {
	s, inv := diamond(t, 0)
	execute(t, s, inv, Request{})
	for i, base := range []string{"3", "4", "5"} {
		alone := execute(t, s, inv, Request{Operator: "A", Input: json.RawMessage(fmt.Sprint(10 + i))})
		if got, want := string(alone.Operators["A"].Output), fmt.Sprint(10+i); got != want {
			t.Fatalf("A alone on %s: %s", want, got)
		}
		inv.reset()
		rec := execute(t, s, inv, Request{Parameters: param("base", base)})
		var b float64
		_ = json.Unmarshal([]byte(base), &b)
		if got, want := string(rec.Operators["D"].Output), fmt.Sprintf("[%v,%v]", b+1, b*10); got != want {
			t.Errorf("base %s after A ran alone: D %s, want %s (A %s %s)", base, got, want, rec.Operators["A"].Status, rec.Operators["A"].Output)
		}
		if c := inv.counts(); c["wf-A"] != 1 {
			t.Errorf("base %s after A ran alone: A invoked %d times, want 1", base, c["wf-A"])
		}
	}
}

// Runs at once share the cache and each still gets its own results.
func TestExecute_concurrentRunsShareTheCache(t *testing.T) {
	s, inv := diamond(t, 20*time.Millisecond)
	execute(t, s, inv, Request{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := 2 + i%3 // two runs of each base: one may read what the other made
			rec, err := Execute(context.Background(), s, inv, Request{Workflow: "wf", MaxParallel: 2,
				Parameters: map[string]json.RawMessage{"base": json.RawMessage(fmt.Sprint(base)), "run": json.RawMessage(fmt.Sprint(i))}})
			if err != nil {
				t.Error(err)
				return
			}
			if got, want := string(rec.Operators["D"].Output), fmt.Sprintf("[%d,%d]", base+1, base*10); rec.Status != StatusSucceeded || got != want {
				t.Errorf("run %d (base %d): %s, D %s, want %s", i, base, statuses(rec), got, want)
			}
		}()
	}
	wg.Wait()
}
