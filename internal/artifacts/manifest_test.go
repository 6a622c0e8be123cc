package artifacts

import "testing"

func TestKeyLayout(t *testing.T) {
	for got, want := range map[string]string{
		WorkflowsPrefix("ml/aq"):            "ml/aq/workflows/",
		WorkflowPrefix("ml/aq", "iris"):     "ml/aq/workflows/iris/",
		WorkflowKey("ml/aq", "iris"):        "ml/aq/workflows/iris/workflow.json",
		OperatorsPrefix("ml/aq", "iris"):    "ml/aq/workflows/iris/operators/",
		OperatorKey("ml/aq", "iris", "fit"): "ml/aq/workflows/iris/operators/fit.json",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
