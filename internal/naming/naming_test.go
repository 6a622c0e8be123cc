package naming

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
)

func op(region, repo, wf, name string) ids.Operator {
	return ids.Operator{Workflow: ids.Workflow{Engine: ids.Engine{Region: region, Repository: repo}, Name: wf}, Name: name}
}

// The collision users hit: joined with "-", these two tuples were one name.
func TestFunctionName_joinedNamesDoNotCollide(t *testing.T) {
	a := op("us-east-1", "aqueduct/hx-a", "b-c", "op")
	b := op("us-east-1", "aqueduct/hx-a-b", "c", "op")
	if FunctionName(a) == FunctionName(b) {
		t.Fatalf("%v and %v share function name %s", a, b, FunctionName(a))
	}
	if Owner(a) == Owner(b) {
		t.Fatal("distinct operators share an owner tag")
	}
}

func TestFunctionName_distinctForEveryFieldAndShape(t *testing.T) {
	seen := map[string]ids.Operator{}
	var ops []ids.Operator
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		for _, repo := range []string{"a", "a-b", "a/b", "ab", "x/" + strings.Repeat("r", 60)} {
			for _, wf := range []string{"w", "w-x", "x", "wx", strings.Repeat("w", 40)} {
				for _, name := range []string{"o", "x-o", "xo", strings.Repeat("o", 64), strings.Repeat("o", 63) + "p"} {
					ops = append(ops, op(region, repo, wf, name))
				}
			}
		}
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	for _, o := range ops {
		n := FunctionName(o)
		if !valid.MatchString(n) {
			t.Fatalf("FunctionName(%v) = %q: not a valid Lambda function name", o, n)
		}
		if prev, dup := seen[n]; dup {
			t.Fatalf("%v and %v share function name %s", prev, o, n)
		}
		seen[n] = o
		if FunctionName(o) != n {
			t.Fatal("FunctionName is not deterministic")
		}
	}
}

func TestFunctionName_readable(t *testing.T) {
	n := FunctionName(op("us-east-1", "aqueduct/ml", "iris", "train_knn"))
	if !regexp.MustCompile(`^ml-iris-train_knn-[0-9a-f]{12}$`).MatchString(n) {
		t.Fatalf("FunctionName = %q, want ml-iris-train_knn-<hash>", n)
	}
	// The engine's prefix survives shortening, so IAM can scope by it.
	long := FunctionName(op("us-east-1", "team/"+strings.Repeat("e", 48), strings.Repeat("w", 40), strings.Repeat("o", 64)))
	if !strings.HasPrefix(long, strings.Repeat("e", 48)+"-") || len(long) > 64 {
		t.Fatalf("long FunctionName = %q (%d)", long, len(long))
	}
	if got := FunctionName(op("us-east-1", "team/ml.v2", "a", "b")); !strings.HasPrefix(got, "ml-v2-a-b-") {
		t.Fatalf("a repository with a dot: %q", got)
	}
}

func TestNamespace_engineSharingABucketNeverMix(t *testing.T) {
	e := ids.Engine{Region: "us-east-1", Repository: "aqueduct/a"}
	base := Namespace("111111111111", e, "a")
	for _, other := range []string{
		Namespace("222222222222", e, "a"),
		Namespace("111111111111", ids.Engine{Region: "us-west-2", Repository: "aqueduct/a"}, "a"),
		Namespace("111111111111", ids.Engine{Region: "us-east-1", Repository: "aqueduct/a2"}, "a"),
		Namespace("111111111111", e, "a2"),
	} {
		if other == base {
			t.Fatalf("namespace %s shared", base)
		}
		if strings.HasPrefix(other, base) || strings.HasPrefix(base, other) {
			t.Fatalf("namespaces %s and %s nest", base, other)
		}
	}
	if !regexp.MustCompile(`^engines/a-[0-9a-f]{12}$`).MatchString(base) {
		t.Fatalf("Namespace = %q", base)
	}
}

// Schedules and state machines follow the functions' rules: valid for their
// service, distinct for every tuple, and starting with the engine's prefix.
func TestScheduleNames_distinctAndValid(t *testing.T) {
	smValid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	schedValid := regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,64}$`)
	seen := map[string]string{}
	note := func(kind, name, of string) {
		t.Helper()
		if prev, dup := seen[name]; dup {
			t.Fatalf("%s and %s share the name %s", prev, of, name)
		}
		seen[name] = of
	}
	for _, repo := range []string{"a", "a-b", "a/b", "x/" + strings.Repeat("r", 60)} {
		for _, wf := range []string{"w", "w-x", "x", strings.Repeat("w", 40)} {
			for _, name := range []string{"s", "x-s", "xs", strings.Repeat("s", 64)} {
				s := ids.Schedule{Workflow: ids.Workflow{Engine: ids.Engine{Region: "us-east-1", Repository: repo}, Name: wf}, Name: name}
				sm, sched := ScheduleStateMachine(s), ScheduleName(s)
				if !smValid.MatchString(sm) || !schedValid.MatchString(sched) {
					t.Fatalf("%v: state machine %q, schedule %q", s, sm, sched)
				}
				if p := FunctionPrefix(s.Workflow.Engine); !strings.HasPrefix(sm, p+"-") || !strings.HasPrefix(sched, p+"-") {
					t.Fatalf("%v: %q and %q do not start with the engine's prefix %q", s, sm, sched, p)
				}
				note("state machine", sm, s.String())
				note("schedule", sched, s.String())
			}
			w := ids.Workflow{Engine: ids.Engine{Region: "us-east-1", Repository: repo}, Name: wf}
			a, b := RunStateMachine(w, []byte(`{"a":1}`)), RunStateMachine(w, []byte(`{"a":2}`))
			if !smValid.MatchString(a) || a == b || RunStateMachine(w, []byte(`{"a":1}`)) != a {
				t.Fatalf("%v: run state machines %q and %q", w, a, b)
			}
			note("runs", a, w.String()+" runs")
		}
	}
	s := ids.Schedule{Workflow: ids.Workflow{Engine: ids.Engine{Region: "us-east-1", Repository: "aqueduct/ml"}, Name: "iris"}, Name: "nightly"}
	if n := ScheduleName(s); !regexp.MustCompile(`^ml-iris-nightly-[0-9a-f]{12}$`).MatchString(n) {
		t.Errorf("ScheduleName = %q, want ml-iris-nightly-<hash>", n)
	}
}
