package sfn_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

const hello = `{"Comment":"hi","StartAt":"P","States":{"P":{"Type":"Pass","Result":{"hello":"world"},"End":true}}}`

// TestStateMachineCRUD: create, describe, update, list with pages, delete,
// and tags, through the unchanged SDK client.
func TestStateMachineCRUD(t *testing.T) {
	v := newEnv(t)
	c := ctx(t)
	arn := v.machine("crud", hello)
	if want := "arn:aws:states:us-east-1:000000000000:stateMachine:crud"; arn != want {
		t.Errorf("ARN %s, want %s", arn, want)
	}
	d, err := v.sfn.DescribeStateMachine(c, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d.Definition) != hello || aws.ToString(d.RoleArn) != v.role || d.Type != types.StateMachineTypeStandard ||
		d.Status != types.StateMachineStatusActive || d.CreationDate == nil || d.LoggingConfiguration.Level != types.LogLevelOff {
		t.Errorf("DescribeStateMachine = %+v", d)
	}

	// Update keeps the ARN and changes the definition.
	updated := strings.Replace(hello, "world", "there", 1)
	if _, err := v.sfn.UpdateStateMachine(c, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(updated)}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, v.succeeded(arn, `{}`), `{"hello":"there"}`)
	_, err = v.sfn.UpdateStateMachine(c, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "MissingRequiredParameter", "must be specified")

	// Tags.
	if _, err := v.sfn.TagResource(c, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("owner"), Value: aws.String("aqueduct")}, {Key: aws.String("env"), Value: aws.String("dev")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.sfn.UntagResource(c, &sfn.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := v.sfn.ListTagsForResource(c, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" || aws.ToString(tags.Tags[0].Value) != "aqueduct" {
		t.Errorf("tags %+v, %v", tags, err)
	}
	_, err = v.sfn.ListTagsForResource(c, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn + "-gone")})
	apiError(t, err, "ResourceNotFound", "Resource not found")

	// List, two at a time.
	for i := range 4 {
		v.machine(fmt.Sprintf("page-%d", i), hello)
	}
	var names []string
	pages := 0
	p := sfn.NewListStateMachinesPaginator(v.sfn, &sfn.ListStateMachinesInput{MaxResults: 2})
	for p.HasMorePages() {
		page, err := p.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range page.StateMachines {
			names = append(names, aws.ToString(m.Name))
		}
	}
	if got := strings.Join(names, ","); got != "crud,page-0,page-1,page-2,page-3" || pages != 3 {
		t.Errorf("listed %s in %d pages", got, pages)
	}
	_, err = v.sfn.ListStateMachines(c, &sfn.ListStateMachinesInput{NextToken: aws.String("bogus")})
	apiError(t, err, "InvalidToken", "Invalid Token")

	// Delete.
	if _, err := v.sfn.DeleteStateMachine(c, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = v.sfn.DescribeStateMachine(c, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "StateMachineDoesNotExist", "State Machine Does Not Exist: '"+arn+"'")
	_, err = v.sfn.DescribeStateMachine(c, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:000000000000:execution:crud:x")})
	apiError(t, err, "InvalidArn", "Resource type not valid in this context: execution")
}

// TestCreateStateMachineIsIdempotent: the same name and definition is the
// same state machine; a different definition is StateMachineAlreadyExists.
// As AWS documents, a different role alone is ignored, not a conflict.
func TestCreateStateMachineIsIdempotent(t *testing.T) {
	v := newEnv(t)
	c := ctx(t)
	first := v.machine("idem", hello)
	d1, _ := v.sfn.DescribeStateMachine(c, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(first)})
	if again := v.machine("idem", hello); again != first {
		t.Errorf("second create %s, want %s", again, first)
	}
	other := v.createRole("sfn-other", trustStates)
	out, err := v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("idem"), Definition: aws.String(hello), RoleArn: aws.String(other)})
	if err != nil || aws.ToString(out.StateMachineArn) != first || !out.CreationDate.Equal(*d1.CreationDate) {
		t.Errorf("create with another role = %+v, %v; want the existing state machine", out, err)
	}
	_, err = v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("idem"), Definition: aws.String(strings.Replace(hello, "hi", "ho", 1)), RoleArn: aws.String(v.role)})
	apiError(t, err, "StateMachineAlreadyExists", "State Machine Already Exists: '"+first+"'")
	_, err = v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("idem"), Definition: aws.String(hello), RoleArn: aws.String(v.role),
		TracingConfiguration: &types.TracingConfiguration{Enabled: true}})
	apiError(t, err, "StateMachineAlreadyExists", "")
	_, err = v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("fast"), Definition: aws.String(hello), RoleArn: aws.String(v.role), Type: types.StateMachineTypeExpress})
	apiError(t, err, "StateMachineTypeNotSupported", "EXPRESS state machines are not emulated")
	_, err = v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("bad name"), Definition: aws.String(hello), RoleArn: aws.String(v.role)})
	apiError(t, err, "InvalidName", "Invalid Name: 'bad name'")
}

// TestRoleMustTrustStepFunctions: a missing role, or one that does not
// trust states.amazonaws.com, is AWS's AccessDeniedException, on create and
// on update; the regional principal is trusted too.
func TestRoleMustTrustStepFunctions(t *testing.T) {
	v := newEnv(t)
	c := ctx(t)
	lambdaOnly := v.createRole("lambda-only", trustLambda)
	regional := v.createRole("regional", strings.Replace(trustStates, "states.amazonaws.com", "states.us-east-1.amazonaws.com", 1))
	const msg = "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role."
	for _, role := range []string{lambdaOnly, "arn:aws:iam::000000000000:role/missing"} {
		_, err := v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("r"), Definition: aws.String(hello), RoleArn: aws.String(role)})
		apiError(t, err, "AccessDeniedException", msg)
	}
	_, err := v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("r"), Definition: aws.String(hello), RoleArn: aws.String("not-an-arn")})
	apiError(t, err, "InvalidArn", "Invalid ARN prefix")
	if _, err := v.sfn.CreateStateMachine(c, &sfn.CreateStateMachineInput{Name: aws.String("r"), Definition: aws.String(hello), RoleArn: aws.String(regional)}); err != nil {
		t.Errorf("a role trusting states.us-east-1.amazonaws.com: %v", err)
	}
	arn := v.machine("u", hello)
	_, err = v.sfn.UpdateStateMachine(c, &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), RoleArn: aws.String(lambdaOnly)})
	apiError(t, err, "AccessDeniedException", msg)
}

// TestRejectedDefinitions: what the interpreter does not run is refused
// with InvalidDefinition, naming the construct and where it is.
func TestRejectedDefinitions(t *testing.T) {
	v := newEnv(t)
	task := func(resource string) string {
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + resource + `","End":true}}}`
	}
	for _, c := range []struct{ name, def, want string }{
		{"Map", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{},"End":true}}}`, "State type 'Map' is outside the emulated subset (Task, Parallel, Pass, Choice, Succeed, Fail) at /States/M/Type"},
		{"Wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3,"End":true}}}`, "State type 'Wait' is outside the emulated subset"},
		{"unknown resource", task("arn:aws:states:::sqs:sendMessage"), "Resource 'arn:aws:states:::sqs:sendMessage' is outside the emulated subset: only arn:aws:states:::lambda:invoke runs at /States/T/Resource"},
		{"unknown field", `{"StartAt":"P","States":{"P":{"Type":"Pass","Foo":1,"End":true}}}`, "SCHEMA_VALIDATION_FAILED: Field 'Foo' is not supported at /States/P"},
		{"bad path", `{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$..deep","End":true}}}`, "The value for the field 'InputPath' must be a valid JSONPath: deep scan (..) is outside the emulated JsonPath subset at /States/P/InputPath"},
		{"missing Next", `{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"Nowhere"}}}`, "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/P/Next"},
		{"unreachable", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true},"Lost":{"Type":"Succeed"}}}`, `MISSING_TRANSITION_TARGET: State "Lost" is not reachable. at /States/Lost`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.sfn.CreateStateMachine(ctx(t), &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(c.def), RoleArn: aws.String(v.role)})
			apiError(t, err, "InvalidDefinition", "Invalid State Machine Definition: '")
			apiError(t, err, "InvalidDefinition", c.want)
		})
	}
	arn := v.machine("good", hello)
	_, err := v.sfn.UpdateStateMachine(ctx(t), &sfn.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(task("arn:aws:states:::sns:publish"))})
	apiError(t, err, "InvalidDefinition", "at /States/T/Resource")
}

// TestStartExecutionByName: AWS's three cases for a named execution of a
// standard workflow, and DescribeExecution on the derived ARN.
func TestStartExecutionByName(t *testing.T) {
	v := newEnv(t)
	c := ctx(t)
	sm := v.machine("runs", parked)
	in := `{"run":"r1"}`
	first, err := v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("r1"), Input: aws.String(in)})
	if err != nil {
		t.Fatal(err)
	}
	derived := "arn:aws:states:us-east-1:000000000000:execution:runs:r1"
	if aws.ToString(first.ExecutionArn) != derived {
		t.Errorf("execution ARN %s, want %s", aws.ToString(first.ExecutionArn), derived)
	}

	// 1. Same name, same input, still running: the same execution.
	again, err := v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("r1"), Input: aws.String(`{ "run" : "r1" }`)})
	if err != nil || aws.ToString(again.ExecutionArn) != derived || !again.StartDate.Equal(*first.StartDate) {
		t.Errorf("restart while running = %+v, %v; want the running execution", again, err)
	}
	// 2. Same name, another input, still running: ExecutionAlreadyExists.
	_, err = v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("r1"), Input: aws.String(`{"run":"other"}`)})
	apiError(t, err, "ExecutionAlreadyExists", "Execution Already Exists: '"+derived+"'")

	if _, err := v.sfn.StopExecution(c, &sfn.StopExecutionInput{ExecutionArn: aws.String(derived), Error: aws.String("Replanned"), Cause: aws.String("a newer plan")}); err != nil {
		t.Fatal(err)
	}
	// 3. Closed: ExecutionAlreadyExists, whatever the input.
	for _, input := range []string{in, `{"run":"other"}`} {
		_, err = v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("r1"), Input: aws.String(input)})
		apiError(t, err, "ExecutionAlreadyExists", derived)
	}
	d, err := v.sfn.DescribeExecution(c, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(derived)})
	if err != nil || d.Status != types.ExecutionStatusAborted || aws.ToString(d.Name) != "r1" || aws.ToString(d.Input) != in ||
		aws.ToString(d.Error) != "Replanned" || aws.ToString(d.Cause) != "a newer plan" || d.StopDate == nil || aws.ToString(d.StateMachineArn) != sm {
		t.Errorf("DescribeExecution on the derived ARN = %+v, %v", d, err)
	}

	// A succeeded execution is closed too.
	quick := v.machine("quick", hello)
	done := v.wait(v.start(quick, "once", `{}`))
	if done.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status %s", done.Status)
	}
	_, err = v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(quick), Name: aws.String("once"), Input: aws.String(`{}`)})
	apiError(t, err, "ExecutionAlreadyExists", "execution:quick:once")

	// No name: a UUID.
	arn := v.start(quick, "", `{}`)
	if !regexp.MustCompile(`:execution:quick:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(arn) {
		t.Errorf("generated name in %s is not a UUID", arn)
	}
	_, err = v.sfn.StartExecution(c, &sfn.StartExecutionInput{StateMachineArn: aws.String(quick), Input: aws.String(`{not json`)})
	apiError(t, err, "InvalidExecutionInput", "Invalid Execution Input")
	_, err = v.sfn.DescribeExecution(c, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(derived + "x")})
	apiError(t, err, "ExecutionDoesNotExist", "Execution Does Not Exist")
}

// TestListExecutions: newest first, a status filter, and pages.
func TestListExecutions(t *testing.T) {
	v := newEnv(t)
	c := ctx(t)
	quick := v.machine("quick", hello)
	held := v.machine("held", parked)
	for i := range 3 {
		v.wait(v.start(quick, fmt.Sprintf("q%d", i), `{}`))
	}
	running := v.start(held, "h", `{}`)
	var names []string
	p := sfn.NewListExecutionsPaginator(v.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(quick), MaxResults: 2})
	for p.HasMorePages() {
		page, err := p.NextPage(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			names = append(names, aws.ToString(x.Name))
		}
	}
	if got := strings.Join(names, ","); got != "q2,q1,q0" {
		t.Errorf("executions %s, want the newest first", got)
	}
	out, err := v.sfn.ListExecutions(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(held), StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(out.Executions) != 1 || aws.ToString(out.Executions[0].ExecutionArn) != running {
		t.Errorf("running executions %+v, %v", out, err)
	}
	out, err = v.sfn.ListExecutions(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(held), StatusFilter: types.ExecutionStatusSucceeded})
	if err != nil || len(out.Executions) != 0 {
		t.Errorf("succeeded executions of held %+v, %v", out, err)
	}
	if _, err := v.sfn.StopExecution(c, &sfn.StopExecutionInput{ExecutionArn: aws.String(running)}); err != nil {
		t.Fatal(err)
	}
}

// TestInterpreterThroughTheAPI: paths, Parameters, ResultSelector-free
// Pass states, every intrinsic, Choice rules and Fail, as executions.
func TestInterpreterThroughTheAPI(t *testing.T) {
	v := newEnv(t)
	def := `{"StartAt":"Shape","States":{
	  "Shape":{"Type":"Pass","InputPath":"$.in","Parameters":{
	      "greeting.$":"States.Format('Hello, {}!', $.name)",
	      "parsed.$":"States.StringToJson($.json)",
	      "text.$":"States.JsonToString($.obj)",
	      "arr.$":"States.Array($.name, 1, true)",
	      "item.$":"States.ArrayGetItem($.nums, 1)",
	      "len.$":"States.ArrayLength($.nums)",
	      "has.$":"States.ArrayContains($.nums, 3)",
	      "merged.$":"States.JsonMerge($.obj, $.more, false)",
	      "hash.$":"States.Hash($.data, 'SHA-1')",
	      "sum.$":"States.MathAdd(States.ArrayLength($.nums), -1)",
	      "id.$":"States.UUID()",
	      "exec.$":"$$.Execution.Name",
	      "machine.$":"$$.StateMachine.Name",
	      "state.$":"$$.State.Name"},
	    "ResultPath":"$.shaped","Next":"Route"},
	  "Route":{"Type":"Choice","Choices":[
	      {"And":[{"Variable":"$.shaped.has","BooleanEquals":true},{"Variable":"$.shaped.len","NumericEquals":3}],"Next":"Keep"},
	      {"Variable":"$.shaped.greeting","StringMatches":"Hello*","Next":"Bad"}],
	    "Default":"Bad"},
	  "Keep":{"Type":"Pass","OutputPath":"$.shaped","End":true},
	  "Bad":{"Type":"Fail","Error":"Unexpected","Cause":"the choice went wrong"}}}`
	sm := v.machine("interp", def)
	input := `{"in":{"name":"Ada","json":"{\"a\":[1,2]}","obj":{"k":"v"},"more":{"m":1},"nums":[1,2,3],"data":"input data"},"extra":1}`
	x := v.start(sm, "shape-1", input)
	d := v.wait(x)
	if d.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("%s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	out := aws.ToString(d.Output)
	id := regexp.MustCompile(`"id":"([0-9a-f-]{36})"`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no UUID in %s", out)
	}
	jsonEqual(t, out, `{"greeting":"Hello, Ada!","parsed":{"a":[1,2]},"text":"{\"k\":\"v\"}","arr":["Ada",1,true],"item":2,"len":3,"has":true,
	  "merged":{"k":"v","m":1},"hash":"aaff4a450a104cd177d28d18d74485e8cae074b7","sum":2,"id":"`+id[1]+`","exec":"shape-1","machine":"interp","state":"Shape"}`)
	if !strings.HasPrefix(out, `{"greeting":`) {
		t.Errorf("the Parameters' field order is lost: %s", out)
	}

	// The Default route ends in the Fail state.
	d = v.run(sm, `{"in":{"name":"Bo","json":"{}","obj":{},"more":{},"nums":[1,2],"data":""}}`)
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "Unexpected" || aws.ToString(d.Cause) != "the choice went wrong" {
		t.Errorf("failed execution %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	// A path that is not there is States.Runtime.
	d = v.run(sm, `{"nothing":true}`)
	if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "States.Runtime" ||
		!strings.Contains(aws.ToString(d.Cause), "Invalid path '$.in' : No results for path: $['in']") {
		t.Errorf("runtime failure %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
}

// TestExecutionHistory: event types, ids, previous ids, timestamps and
// details, paged forwards and backwards.
func TestExecutionHistory(t *testing.T) {
	v := newEnv(t)
	sm := v.machine("hist", `{"StartAt":"A","States":{
	  "A":{"Type":"Pass","Result":{"x":1},"ResultPath":"$.a","Next":"B"},
	  "B":{"Type":"Choice","Choices":[{"Variable":"$.a.x","NumericEquals":1,"Next":"C"}]},
	  "C":{"Type":"Succeed"}}}`)
	x := v.start(sm, "h1", `{"in":0}`)
	v.wait(x)
	events := v.history(x)
	want := "ExecutionStarted PassStateEntered PassStateExited ChoiceStateEntered ChoiceStateExited SucceedStateEntered SucceedStateExited ExecutionSucceeded"
	if got := eventTypes(events); got != want {
		t.Fatalf("history %s\nwant    %s", got, want)
	}
	var last time.Time
	for i, e := range events {
		prev := int64(i)
		if i == 1 {
			prev = 0 // AWS's first state entry has no previous event
		}
		if e.Id != int64(i+1) || e.PreviousEventId != prev || e.Timestamp == nil || e.Timestamp.Before(last) {
			t.Errorf("event %d: id %d previous %d at %v", i, e.Id, e.PreviousEventId, e.Timestamp)
		}
		last = *e.Timestamp
	}
	started := events[0].ExecutionStartedEventDetails
	if started == nil || aws.ToString(started.Input) != `{"in":0}` || aws.ToString(started.RoleArn) != v.role {
		t.Errorf("ExecutionStarted details %+v", started)
	}
	if d := events[2].StateExitedEventDetails; d == nil || aws.ToString(d.Name) != "A" || aws.ToString(d.Output) != `{"in":0,"a":{"x":1}}` {
		t.Errorf("PassStateExited details %+v", d)
	}
	if d := events[7].ExecutionSucceededEventDetails; d == nil || aws.ToString(d.Output) != `{"in":0,"a":{"x":1}}` {
		t.Errorf("ExecutionSucceeded details %+v", d)
	}
	page, err := v.sfn.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x), MaxResults: 3, ReverseOrder: true, IncludeExecutionData: aws.Bool(false)})
	if err != nil || len(page.Events) != 3 || page.Events[0].Type != types.HistoryEventTypeExecutionSucceeded || page.NextToken == nil ||
		page.Events[0].ExecutionSucceededEventDetails.Output != nil {
		t.Fatalf("reverse page %+v, %v", page, err)
	}
	next, err := v.sfn.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(x), MaxResults: 3, ReverseOrder: true, NextToken: page.NextToken})
	if err != nil || len(next.Events) != 3 || next.Events[0].Id != 5 {
		t.Errorf("second reverse page %+v, %v", next, err)
	}
}

// TestExecutionTimeout: the machine's TimeoutSeconds ends an execution
// TIMED_OUT.
func TestExecutionTimeout(t *testing.T) {
	v := newEnv(t)
	sm := v.machine("slow", strings.Replace(parked, `{"StartAt"`, `{"TimeoutSeconds":1,"StartAt"`, 1))
	start := time.Now()
	d := v.run(sm, `{}`)
	if d.Status != types.ExecutionStatusTimedOut || time.Since(start) > 10*time.Second {
		t.Errorf("status %s after %v", d.Status, time.Since(start))
	}
	if got := eventTypes(v.history(aws.ToString(d.ExecutionArn))); !strings.HasSuffix(got, "TaskStateAborted ExecutionTimedOut") {
		t.Errorf("history %s", got)
	}
}

// TestThrottlingIsRetried: with half of the Step Functions requests
// throttled, the SDK's retries still get every call through.
func TestThrottlingIsRetried(t *testing.T) {
	v := newEnv(t, emulatortest.WithFaults(emulator.Faults{ThrottleRate: 0.5, Services: []string{"states"}}))
	sm := v.machine("throttled", hello)
	jsonEqual(t, v.succeeded(sm, `{}`), `{"hello":"world"}`)
	throttled := 0
	for _, r := range v.e.Requests() {
		if r.Service == "states" && r.Fault == "throttle" && r.Status == 400 {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("no ThrottlingException 400 in the request log at throttle_rate 0.5")
	}
	if err := v.e.SetFaults(emulator.Faults{ErrorRate: 1, Services: []string{"states"}}); err != nil {
		t.Fatal(err)
	}
	_, err := v.sfn.ListStateMachines(ctx(t), &sfn.ListStateMachinesInput{}, func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
	apiError(t, err, "InternalFailure", "unknown error")
}

// TestPersistence: with a data dir, state machines and finished executions
// are still there after a restart; one left running is ABORTED.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	var sm, done, held string
	t.Run("before", func(t *testing.T) {
		v := newEnv(t, emulatortest.WithDataDir(dir))
		sm = v.machine("kept", hello)
		done = v.start(sm, "finished", `{"k":1}`)
		v.wait(done)
		held = v.start(v.machine("held", parked), "running", `{}`)
	})
	v := newEnv(t, emulatortest.WithDataDir(dir))
	d, err := v.sfn.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(done)})
	if err != nil || d.Status != types.ExecutionStatusSucceeded || aws.ToString(d.Input) != `{"k":1}` || aws.ToString(d.Output) != `{"hello":"world"}` {
		t.Errorf("finished execution after a restart: %+v, %v", d, err)
	}
	if got := eventTypes(v.history(done)); !strings.HasSuffix(got, "ExecutionSucceeded") {
		t.Errorf("history after a restart: %s", got)
	}
	d, err = v.sfn.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(held)})
	if err != nil || d.Status != types.ExecutionStatusAborted {
		t.Errorf("execution running at the restart: %+v, %v", d, err)
	}
	if _, err := v.sfn.DescribeStateMachine(ctx(t), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(sm)}); err != nil {
		t.Errorf("state machine after a restart: %v", err)
	}
	jsonEqual(t, v.succeeded(sm, `{}`), `{"hello":"world"}`)
}

// TestEmulatorResetStopsExecutions: the emulator's reset stops what runs and drops
// every state machine.
func TestEmulatorResetStopsExecutions(t *testing.T) {
	v := newEnv(t)
	sm := v.machine("held", parked)
	v.start(sm, "r", `{}`)
	if err := v.e.Reset(); err != nil {
		t.Fatal(err)
	}
	out, err := v.sfn.ListStateMachines(ctx(t), &sfn.ListStateMachinesInput{})
	if err != nil || len(out.StateMachines) != 0 {
		t.Errorf("state machines after reset: %+v, %v", out, err)
	}
}
