package run

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// flaky makes B fail its first n invocations with an exception, then
// behave as before. It returns B's call count.
func flaky(inv *fakeInvoker, n int32) *atomic.Int32 {
	var calls atomic.Int32
	ok := inv.fns["wf-B"]
	inv.set("wf-B", &fakeFn{params: ok.params, fn: func(a []any, ev runtime.Event) (any, error) {
		if calls.Add(1) <= n {
			return nil, errors.New("flaky")
		}
		return ok.fn(a, ev)
	}})
	return &calls
}

func withRetry(p *artifacts.RetryPolicy) func(*artifacts.OperatorManifest) {
	return func(m *artifacts.OperatorManifest) { m.Retry = p }
}

// An operator that fails fewer times than its policy allows succeeds, and
// its record counts the attempts; its dependants run once.
func TestExecute_retryPolicyRetriesTheOperatorsOwnFailures(t *testing.T) {
	s, inv := diamond(t, 0)
	s.applyOnly(t, "wf", "B", withRetry(&artifacts.RetryPolicy{Attempts: 2, BackoffRate: 2}))
	calls := flaky(inv, 2)
	rec := execute(t, s, inv, Request{})
	if rec.Status != StatusSucceeded || calls.Load() != 3 {
		t.Fatalf("run %s after %d calls of B; want succeeded after 3", rec.Status, calls.Load())
	}
	if b := rec.Operators["B"]; b.Attempts != 3 || b.Error != nil {
		t.Errorf("B: attempts %d error %v", b.Attempts, b.Error)
	}
	if d := rec.Operators["D"]; d.Attempts != 1 || d.Status != StatusSucceeded {
		t.Errorf("D: %+v", d)
	}
}

// Past its attempts, the failure is final and the descendants are skipped;
// with no policy there is one attempt.
func TestExecute_retryPolicyExhausted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    *artifacts.RetryPolicy
		wantCalls int32
	}{
		{"one retry", &artifacts.RetryPolicy{Attempts: 1}, 2},
		{"no policy", nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, inv := diamond(t, 0)
			s.applyOnly(t, "wf", "B", withRetry(tc.policy))
			calls := flaky(inv, 5)
			rec := execute(t, s, inv, Request{})
			if rec.Status != StatusFailed || calls.Load() != tc.wantCalls || rec.Operators["B"].Attempts != int(tc.wantCalls) {
				t.Fatalf("run %s, B called %d times (attempts %d); want failed after %d", rec.Status, calls.Load(), rec.Operators["B"].Attempts, tc.wantCalls)
			}
			if d := rec.Operators["D"]; d.Status != StatusSkipped {
				t.Errorf("D %s after B failed for good", d.Status)
			}
		})
	}
}

// What a second try cannot cure is not retried, nor are the executor's own
// failures; Lambda failing the invocation is.
func TestExecute_retryPolicySkipsFinalErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fn        *fakeFn
		wantCalls int
	}{
		{"stale lineage", &fakeFn{answer: ptr(raise(runtime.ErrorStaleLineage, "changed"))}, 1},
		{"unserialisable output", &fakeFn{answer: ptr(raise("Aqueduct.SerializationError", "lambda"))}, 1},
		{"output upload", &fakeFn{answer: ptr(raise("Aqueduct.OutputError", "503"))}, 4},
		{"Lambda fails the invocation", &fakeFn{invokeErr: errors.New("ServiceException")}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, inv := diamond(t, 0)
			s.applyOnly(t, "wf", "B", withRetry(&artifacts.RetryPolicy{Attempts: 3}))
			inv.set("wf-B", tc.fn)
			rec := execute(t, s, inv, Request{})
			if n := len(inv.callsOf("wf-B")); n != tc.wantCalls || rec.Operators["B"].Attempts != tc.wantCalls {
				t.Errorf("B invoked %d times (attempts %d), want %d", n, rec.Operators["B"].Attempts, tc.wantCalls)
			}
		})
	}

	s, inv := diamond(t, 0)
	s.applyOnly(t, "wf", "B", withRetry(&artifacts.RetryPolicy{Attempts: 3}))
	inv.changed = map[string]bool{"wf-B": true}
	rec := execute(t, s, inv, Request{})
	if b := rec.Operators["B"]; b.Error == nil || b.Error.Type != "Aqueduct.FunctionChanged" || b.Attempts != 1 || slices.Contains(inv.functions(), "wf-B") {
		t.Errorf("a changed function: %+v", b)
	}
}

func ptr[T any](v T) *T { return &v }

// A retry waits the policy's interval first: the operator's time includes it.
func TestExecute_retryWaitsTheInterval(t *testing.T) {
	s, inv := diamond(t, 0)
	s.applyOnly(t, "wf", "B", withRetry(&artifacts.RetryPolicy{Attempts: 1, IntervalS: 1}))
	flaky(inv, 1)
	rec := execute(t, s, inv, Request{})
	if b := rec.Operators["B"]; b.Status != StatusSucceeded || b.DurationMS < 1000 {
		t.Errorf("B %s in %d ms; want succeeded after waiting 1 s", b.Status, b.DurationMS)
	}
}
