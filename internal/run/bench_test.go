package run

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// instantInvoker answers every invocation at once with a canned success
// (one that takes no parameter), so a benchmark measures the executor, not
// a function.
type instantInvoker struct{ answer []byte }

func (i instantInvoker) Invoke(context.Context, string, []byte) (Invocation, error) {
	return Invocation{Payload: i.answer}, nil
}

func (instantInvoker) Verify(context.Context, *artifacts.OperatorManifest) error { return nil }

// BenchmarkExecute_200Operators is one whole run of a 200-operator DAG with
// up to three inputs each: manifest reads, validation, identity, scheduling,
// events, presigning, cache keys and results and the record, with functions
// that return instantly. Rerun invokes every operator each time.
func BenchmarkExecute_200Operators(b *testing.B) {
	const n = 200
	s := newFakeStore()
	s.dropRuns = true
	rng := rand.New(rand.NewPCG(1, 2))
	ops := map[string][]string{}
	for i := range n {
		var inputs []string
		for range min(i, 3) {
			inputs = append(inputs, fmt.Sprintf("op%03d", rng.IntN(i)))
		}
		ops[fmt.Sprintf("op%03d", i)] = inputs
	}
	s.putWorkflow(b, "big", map[string]string{"alpha": "0.5"}, ops)
	answer, _ := json.Marshal(runtime.Response{Status: "succeeded", ContentType: runtime.ContentTypeJSON, SizeBytes: 1, Preview: json.RawMessage("1"),
		Accepts: &runtime.Accepts{Names: []string{}}})
	inv := instantInvoker{answer}
	ctx := context.Background()

	for b.Loop() {
		rec, err := Execute(ctx, s, inv, Request{Workflow: "big", Rerun: true})
		if err != nil || rec.Status != StatusSucceeded || len(rec.Operators) != n {
			b.Fatalf("run: %v %+v", err, rec)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/operator")
}
