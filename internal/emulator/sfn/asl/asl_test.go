package asl

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuntime answers Task invocations with a function of the parameters
// and keeps the history.
type fakeRuntime struct {
	mu     sync.Mutex
	events []Event
	invoke func(ctx context.Context, params any) (any, *Failure)
}

func (f *fakeRuntime) Invoke(ctx context.Context, _ string, params any) (any, *Failure) {
	return f.invoke(ctx, params)
}

func (f *fakeRuntime) Record(ev Event) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return int64(len(f.events)) + 1 // id 1 is ExecutionStarted
}

func (f *fakeRuntime) types() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		out = append(out, e.Type)
	}
	return out
}

var ec = ExecutionContext{
	ExecutionID: "arn:aws:states:us-east-1:000000000000:execution:sm:run-1", ExecutionName: "run-1",
	RoleArn: "arn:aws:iam::000000000000:role/sfn", StartTime: time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC),
	StateMachineID: "arn:aws:states:us-east-1:000000000000:stateMachine:sm", StateMachineName: "sm",
}

func run(t *testing.T, def, input string, rt *fakeRuntime) (string, *Failure) {
	t.Helper()
	d, err := Parse(def)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	in, err := Unmarshal([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	if rt == nil {
		rt = &fakeRuntime{invoke: func(context.Context, any) (any, *Failure) { return nil, nil }}
	}
	out, f, err := Run(context.Background(), d, in, ec, rt, 1)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f != nil {
		return "", f
	}
	return Marshal(out), nil
}

func pass(fields string) string {
	return `{"StartAt":"P","States":{"P":{"Type":"Pass",` + fields + `,"End":true}}}`
}

func TestPathsAndResultPath(t *testing.T) {
	for _, c := range []struct{ name, def, input, want string }{
		{"InputPath", pass(`"InputPath":"$.a"`), `{"a":{"b":1},"c":2}`, `{"b":1}`},
		{"InputPath null", pass(`"InputPath":null`), `{"a":1}`, `{}`},
		{"Result at ResultPath keeps the raw input", pass(`"InputPath":"$.a","Result":{"r":true},"ResultPath":"$.out"`), `{"a":1}`, `{"a":1,"out":{"r":true}}`},
		{"ResultPath creates parents", pass(`"Result":7,"ResultPath":"$.x.y.z"`), `{}`, `{"x":{"y":{"z":7}}}`},
		{"ResultPath null discards", pass(`"Result":7,"ResultPath":null`), `{"k":"v"}`, `{"k":"v"}`},
		{"OutputPath", pass(`"Result":{"a":[1,2,3]},"OutputPath":"$.a[1]"`), `{}`, `2`},
		{"OutputPath wildcard", pass(`"Result":{"a":[{"n":1},{"n":2}]},"OutputPath":"$.a[*].n"`), `{}`, `[1,2]`},
		{"OutputPath null", pass(`"OutputPath":null`), `{"a":1}`, `{}`},
		{"Parameters keep their order", pass(`"Parameters":{"z":1,"a.$":"$.x","m":{"n.$":"$$.Execution.Name"},"arr":[{"k.$":"$.x"}]}`), `{"x":"X"}`, `{"z":1,"a":"X","m":{"n":"run-1"},"arr":[{"k":"X"}]}`},
		{"context object", pass(`"Parameters":{"id.$":"$$.Execution.Id","start.$":"$$.Execution.StartTime","in.$":"$$.Execution.Input","role.$":"$$.Execution.RoleArn","sm.$":"$$.StateMachine.Id","smn.$":"$$.StateMachine.Name","st.$":"$$.State.Name","rc.$":"$$.State.RetryCount"}`), `{"q":1}`,
			`{"id":"arn:aws:states:us-east-1:000000000000:execution:sm:run-1","start":"2026-12-01T10:00:00.123Z","in":{"q":1},"role":"arn:aws:iam::000000000000:role/sfn","sm":"arn:aws:states:us-east-1:000000000000:stateMachine:sm","smn":"sm","st":"P","rc":0}`},
		{"quoted names", pass(`"Parameters":{"v.$":"$['a b']['c']"}`), `{"a b":{"c":3}}`, `{"v":3}`},
		{"negative index", pass(`"Parameters":{"v.$":"$.a[-1]"}`), `{"a":[1,2,3]}`, `{"v":3}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, f := run(t, c.def, c.input, nil)
			if f != nil || got != c.want {
				t.Errorf("output %s, failure %+v; want %s", got, f, c.want)
			}
		})
	}
}

func TestPathFailuresAreRuntimeErrors(t *testing.T) {
	_, f := run(t, pass(`"InputPath":"$.missing"`), `{"a":1}`, nil)
	if f == nil || f.Error != ErrRuntime || !strings.Contains(f.Cause, "Invalid path '$.missing' : No results for path: $['missing']") || !strings.Contains(f.Cause, "(entered at the event id #2)") {
		t.Errorf("InputPath failure %+v", f)
	}
	_, f = run(t, pass(`"Parameters":{"b.$":"$.nope"}`), `{"a":1}`, nil)
	if f == nil || f.Error != ErrRuntime || !strings.Contains(f.Cause, `The JSONPath '$.nope' specified for the field 'b.$' could not be found in the input '{"a":1}'`) {
		t.Errorf("Parameters failure %+v", f)
	}
	_, f = run(t, pass(`"Result":1,"ResultPath":"$.a.b"`), `{"a":"str"}`, nil)
	if f == nil || f.Error != ErrResultPathMatch {
		t.Errorf("ResultPath failure %+v", f)
	}
}

func TestIntrinsics(t *testing.T) {
	input := `{"name":"Arnav","arr":[1,2,3,4,5,6,7,8,9],"i":5,"json":"{\"foo\": \"bar\"}","obj":{"foo":"bar"},"a":{"x":1,"y":{"k":1}},"b":{"y":{"j":2},"z":3},"data":"input data","v1":111,"step":-1}`
	for _, c := range []struct{ expr, want string }{
		{`States.Format('Hello, my name is {}.', $.name)`, `"Hello, my name is Arnav."`},
		{`States.Format('{} {} {} \{\} \' \\', 1, true, null)`, `"1 true null {} ' \\"`},
		{`States.StringToJson($.json)`, `{"foo":"bar"}`},
		{`States.JsonToString($.obj)`, `"{\"foo\":\"bar\"}"`},
		{`States.Array('Foo', 2020, $.obj, null)`, `["Foo",2020,{"foo":"bar"},null]`},
		{`States.ArrayGetItem($.arr, $.i)`, `6`},
		{`States.ArrayLength($.arr)`, `9`},
		{`States.ArrayContains($.arr, 5)`, `true`},
		{`States.ArrayContains($.arr, 10)`, `false`},
		{`States.JsonMerge($.a, $.b, false)`, `{"x":1,"y":{"j":2},"z":3}`},
		{`States.Hash($.data, 'SHA-1')`, `"aaff4a450a104cd177d28d18d74485e8cae074b7"`},
		{`States.Hash('input data', 'MD5')`, `"812f45842bc6d66ee14572ce20db8e86"`},
		{`States.MathAdd($.v1, $.step)`, `110`},
		{`States.ArrayLength(States.Array(States.MathAdd(1, 2), States.Format('{}', States.ArrayGetItem($.arr, 0))))`, `2`},
		{`States.Format('{}-{}', $$.Execution.Name, $$.State.Name)`, `"run-1-P"`},
	} {
		t.Run(c.expr, func(t *testing.T) {
			def := pass(`"Parameters":{"v.$":` + Marshal(c.expr) + `},"OutputPath":"$.v"`)
			got, f := run(t, def, input, nil)
			if f != nil || got != c.want {
				t.Errorf("got %s (failure %+v), want %s", got, f, c.want)
			}
		})
	}
	got, f := run(t, pass(`"Parameters":{"v.$":"States.UUID()"},"OutputPath":"$.v"`), `{}`, nil)
	if f != nil || len(got) != 38 || got[15] != '4' {
		t.Errorf("UUID %s %+v", got, f)
	}
	_, f = run(t, pass(`"Parameters":{"v.$":"States.ArrayGetItem($.arr, 9)"}`), input, nil)
	if f == nil || f.Error != ErrRuntime || !strings.Contains(f.Cause, "out of bounds") {
		t.Errorf("out-of-bounds ArrayGetItem: %+v", f)
	}
	_, f = run(t, pass(`"Parameters":{"v.$":"States.JsonMerge($.a, $.b, true)"}`), input, nil)
	if f == nil || !strings.Contains(f.Cause, "deep merging is not supported") {
		t.Errorf("deep JsonMerge: %+v", f)
	}
}

func TestChoice(t *testing.T) {
	def := `{"StartAt":"C","States":{
	  "C":{"Type":"Choice","Choices":[
	    {"Variable":"$.kind","StringEquals":"a","Next":"A"},
	    {"And":[{"Variable":"$.n","NumericEquals":3},{"Not":{"Variable":"$.flag","BooleanEquals":true}}],"Next":"B"},
	    {"Or":[{"Variable":"$.file","StringMatches":"*.csv"},{"Variable":"$.opt","IsPresent":true}],"Next":"D"}
	  ],"Default":"E"},
	  "A":{"Type":"Pass","Result":"A","End":true},
	  "B":{"Type":"Pass","Result":"B","End":true},
	  "D":{"Type":"Pass","Result":"D","End":true},
	  "E":{"Type":"Pass","Result":"E","End":true}}}`
	for input, want := range map[string]string{
		`{"kind":"a"}`:                              `"A"`,
		`{"kind":"b","n":3,"flag":false}`:           `"B"`,
		`{"kind":"b","n":3.0}`:                      `"E"`, // $.flag missing: a runtime error below
		`{"kind":1,"n":"3","file":"x.csv"}`:         `"D"`,
		`{"kind":"b","n":4,"file":"x.txt","opt":0}`: `"D"`,
	} {
		got, f := run(t, def, input, nil)
		if input == `{"kind":"b","n":3.0}` {
			if f == nil || f.Error != ErrRuntime || !strings.Contains(f.Cause, "Invalid path '$.flag': The choice state's condition path references an invalid value.") {
				t.Errorf("%s: %s %+v, want a States.Runtime for the missing $.flag", input, got, f)
			}
			continue
		}
		if f != nil || got != want {
			t.Errorf("%s: %s %+v, want %s", input, got, f, want)
		}
	}
	noDefault := `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":"x","Next":"A"}]},"A":{"Type":"Succeed"}}}`
	if _, f := run(t, noDefault, `{"a":"y"}`, nil); f == nil || f.Error != ErrNoChoiceMatched {
		t.Errorf("no match: %+v", f)
	}
	for pattern, s := range map[string]string{`log-*.txt`: "log-2024.txt", `*`: "", `a\*b`: "a*b", `*.*`: "a.b"} {
		if !wildcardMatch(pattern, s) {
			t.Errorf("%q does not match %q", pattern, s)
		}
	}
	if wildcardMatch(`a\*b`, "axb") || wildcardMatch("*.csv", "a.txt") {
		t.Error("wildcard over-matches")
	}
}

func TestRetryCatchAndFail(t *testing.T) {
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload":{"try.$":"$$.State.RetryCount"}},
	    "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1,"MaxAttempts":1,"BackoffRate":2}],
	    "Catch":[{"ErrorEquals":["States.TaskFailed"],"ResultPath":"$.err","Next":"Failed"}],"End":true},
	  "Failed":{"Type":"Fail","Error":"Wrapped","Cause":"caught"}}}`
	var tries []string
	rt := &fakeRuntime{invoke: func(_ context.Context, params any) (any, *Failure) {
		tries = append(tries, Marshal(params))
		return nil, &Failure{Error: "Flaky", Cause: "boom"}
	}}
	start := time.Now()
	_, f := run(t, def, `{}`, rt)
	if f == nil || f.Error != "Wrapped" || f.Cause != "caught" {
		t.Fatalf("failure %+v", f)
	}
	if len(tries) != 2 || !strings.Contains(tries[1], `"try":1`) || time.Since(start) < time.Second {
		t.Errorf("tries %v after %v", tries, time.Since(start))
	}
	want := "TaskStateEntered TaskScheduled TaskStarted TaskFailed TaskScheduled TaskStarted TaskFailed TaskStateExited FailStateEntered"
	if got := strings.Join(rt.types(), " "); got != want {
		t.Errorf("history %s\nwant    %s", got, want)
	}
}

func TestRuntimeErrorsAreNotCaught(t *testing.T) {
	def := `{"StartAt":"T","States":{
	  "T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName.$":"$.missing"},
	    "Catch":[{"ErrorEquals":["States.ALL"],"Next":"S"}],"End":true},
	  "S":{"Type":"Succeed"}}}`
	if _, f := run(t, def, `{}`, nil); f == nil || f.Error != ErrRuntime {
		t.Errorf("failure %+v, want States.Runtime past the catcher", f)
	}
}

func TestBackoff(t *testing.T) {
	r := Retrier{IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 10}
	for attempt, want := range []time.Duration{2 * time.Second, 6 * time.Second, 10 * time.Second} {
		if got := backoff(r, int64(attempt)); got != want {
			t.Errorf("attempt %d: %v, want %v", attempt, got, want)
		}
	}
	r.FullJitter = true
	for range 20 {
		if d := backoff(r, 1); d < 0 || d > 6*time.Second {
			t.Errorf("jittered delay %v outside [0, 6s]", d)
		}
	}
}

func TestParallelFailureStopsTheOtherBranch(t *testing.T) {
	def := `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[
	  {"StartAt":"Slow","States":{"Slow":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"slow"},"End":true}}},
	  {"StartAt":"Bad","States":{"Bad":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"bad"},"End":true}}}],
	  "Catch":[{"ErrorEquals":["BranchBroke"],"Next":"Done"}],"End":true},
	  "Done":{"Type":"Pass","End":true}}}`
	slowStarted := make(chan struct{})
	rt := &fakeRuntime{invoke: func(ctx context.Context, params any) (any, *Failure) {
		if fn, _ := params.(*Object).Get("FunctionName"); fn == "bad" {
			<-slowStarted
			return nil, &Failure{Error: "BranchBroke", Cause: "c"}
		}
		close(slowStarted)
		<-ctx.Done()
		return nil, nil
	}}
	got, f := run(t, def, `{}`, rt)
	if f != nil || got != `{"Error":"BranchBroke","Cause":"c"}` {
		t.Errorf("output %s failure %+v", got, f)
	}
	if h := strings.Join(rt.types(), " "); !strings.Contains(h, "TaskStateAborted") || !strings.Contains(h, "ParallelStateFailed") {
		t.Errorf("history %s", h)
	}
}

func TestParseRefusesWhatIsNotEmulated(t *testing.T) {
	for _, c := range []struct{ name, def, want string }{
		{"Map", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, "SCHEMA_VALIDATION_FAILED: State type 'Map' is outside the emulated subset (Task, Parallel, Pass, Choice, Succeed, Fail) at /States/M/Type"},
		{"Wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}`, "State type 'Wait' is outside the emulated subset"},
		{"bad type", `{"StartAt":"X","States":{"X":{"Type":"Nope","End":true}}}`, "at /States/X/Type"},
		{"resource", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","End":true}}}`, "Resource 'arn:aws:states:::dynamodb:putItem' is outside the emulated subset: only arn:aws:states:::lambda:invoke runs at /States/T/Resource"},
		{"bad resource", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"nope","End":true}}}`, "SCHEMA_VALIDATION_FAILED: Value is not a valid resource ARN at /States/T/Resource"},
		{"unknown field", pass(`"Foo":1`), "SCHEMA_VALIDATION_FAILED: Field 'Foo' is not supported at /States/P"},
		{"field of another type", pass(`"TimeoutSeconds":3`), "Field 'TimeoutSeconds' is not supported on a Pass state by the emulated Step Functions (outside the emulated subset) at /States/P"},
		{"bad path", pass(`"InputPath":"a.b"`), "The value for the field 'InputPath' must be a valid JSONPath: a path starts with $ at /States/P/InputPath"},
		{"filter path", pass(`"OutputPath":"$.a[?(@.b)]"`), "outside the emulated JsonPath subset at /States/P/OutputPath"},
		{"bad reference path", pass(`"ResultPath":"$.a[*]"`), "must be a valid Reference Path"},
		{"bad parameter path", pass(`"Parameters":{"a.$":"nope"}`), "The value for the field 'a.$' must be a valid JSONPath"},
		{"unknown intrinsic", pass(`"Parameters":{"a.$":"States.StringSplit($.a, ',')"}`), "the intrinsic function States.StringSplit is outside the emulated subset"},
		{"missing Next", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"C":{"Type":"Succeed"}}}`, `MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next, MISSING_TRANSITION_TARGET: State "C" is not reachable. at /States/C`},
		{"unreachable", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, `MISSING_TRANSITION_TARGET: State "B" is not reachable. at /States/B`},
		{"no end", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A"}}}`, "MISSING_END_STATE: Workflow has no terminal state'"},
		{"branch scope", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"B","States":{"B":{"Type":"Pass","Next":"Out"}}}],"End":true},"Out":{"Type":"Succeed"}}}`, "Missing 'Next' target: Out at /States/P/Branches[0]/States/B/Next"},
		{"StartAt outside its branch", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"Out","States":{"B":{"Type":"Succeed"}}}],"End":true},"Out":{"Type":"Succeed"}}}`, "Missing 'StartAt' target: Out at /States/P/Branches[0]/StartAt"},
		{"comparison", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericGreaterThan":1,"Next":"S"}]},"S":{"Type":"Succeed"}}}`, "The comparison 'NumericGreaterThan' is outside the emulated subset"},
		{"no FunctionName", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"Payload":{}},"End":true}}}`, "The field 'FunctionName' is required but was missing at /States/T/Parameters"},
		{"States.ALL not alone", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},"Retry":[{"ErrorEquals":["States.ALL","X"]}],"End":true}}}`, "States.ALL must appear alone in ErrorEquals at /States/T/Retry[0]/ErrorEquals"},
		{"not JSON", `{"StartAt":`, "INVALID_JSON_DESCRIPTION"},
		{"missing StartAt", `{"States":{"A":{"Type":"Succeed"}}}`, "These fields are required: [StartAt] at /"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.def)
			if err == nil || !strings.HasPrefix(err.Error(), "Invalid State Machine Definition: '") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse = %v\nwant it to hold %q", err, c.want)
			}
		})
	}
}
