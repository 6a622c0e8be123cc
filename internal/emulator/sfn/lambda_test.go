package sfn_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

// newLambdaEnv is an env with the test function (testdata/fn) deployed as
// "fn". It needs Docker, by testenv's policy.
func newLambdaEnv(t *testing.T) *env {
	t.Helper()
	var addr string
	t.Cleanup(func() { emulatortest.RemoveLocalImages(addr) }) // after the emulator's own clean-up
	v := newEnv(t, emulatortest.NeedDocker())
	addr = v.e.Addr()
	uri := emulatortest.PushImage(t, v.e, "sfn/fn", emulatortest.FunctionImage(t, "./testdata/fn"))
	exec := v.createRole("fn-exec", trustLambda)
	lc := awslambda.NewFromConfig(v.cfg)
	if _, err := lc.CreateFunction(ctx(t), &awslambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Role: aws.String(exec), PackageType: lambdatypes.PackageTypeImage,
		Code: &lambdatypes.FunctionCode{ImageUri: aws.String(uri)}, MemorySize: aws.Int32(128), Timeout: aws.Int32(30),
	}); err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	w := awslambda.NewFunctionActiveV2Waiter(lc, func(o *awslambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx(t), &awslambda.GetFunctionInput{FunctionName: aws.String("fn")}, time.Minute); err != nil {
		t.Fatalf("waiting for fn: %v", err)
	}
	return v
}

// invoke is a lambda:invoke Task state of the test function.
func invoke(payload string, extra string) string {
	return `{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"fn","Payload":` + payload + `}` + extra + `}`
}

// TestLambdaTasks runs lambda:invoke Tasks against a real function in
// Docker, the subtests sharing one emulator and function.
func TestLambdaTasks(t *testing.T) {
	v := newLambdaEnv(t)

	// The result AWS gives, then ResultSelector, ResultPath and OutputPath
	// over it.
	t.Run("InvokeResultShape", func(t *testing.T) {
		t.Parallel()
		sm := v.machine("shape", `{"StartAt":"Raw","States":{
		  "Raw":`+invoke(`{"msg.$":"$.msg"}`, `,"ResultPath":"$.raw","Next":"Selected"`)+`,
		  "Selected":`+invoke(`{"msg":"second"}`, `,"ResultSelector":{"echo.$":"$.Payload.echo","code.$":"$.StatusCode"},"ResultPath":"$.sel","OutputPath":"$","End":true`)+`}}`)
		x := v.start(sm, "shape-1", `{"msg":"first"}`)
		d := v.wait(x)
		if d.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("%s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		var out struct {
			Msg string `json:"msg"`
			Raw struct {
				ExecutedVersion string
				Payload         struct{ Echo string }
				StatusCode      int
				SdkHttpMetadata struct {
					HttpStatusCode int
					HttpHeaders    map[string]string
					AllHttpHeaders map[string][]string
				}
				SdkResponseMetadata struct{ RequestId string }
			} `json:"raw"`
			Sel struct {
				Echo string `json:"echo"`
				Code int    `json:"code"`
			} `json:"sel"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
			t.Fatal(err)
		}
		r := out.Raw
		if out.Msg != "first" || r.ExecutedVersion != "$LATEST" || r.Payload.Echo != "first" || r.StatusCode != 200 ||
			r.SdkHttpMetadata.HttpStatusCode != 200 || r.SdkResponseMetadata.RequestId == "" ||
			r.SdkHttpMetadata.HttpHeaders["x-amzn-RequestId"] != r.SdkResponseMetadata.RequestId ||
			len(r.SdkHttpMetadata.AllHttpHeaders["X-Amz-Executed-Version"]) != 1 || out.Sel.Echo != "second" || out.Sel.Code != 200 {
			t.Errorf("output %s", aws.ToString(d.Output))
		}
		events := v.history(x)
		want := "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited ExecutionSucceeded"
		if got := eventTypes(events); got != want {
			t.Errorf("history %s\nwant    %s", got, want)
		}
		s := events[2].TaskScheduledEventDetails
		if s == nil || aws.ToString(s.ResourceType) != "lambda" || aws.ToString(s.Resource) != "invoke" || aws.ToString(s.Region) != "us-east-1" ||
			aws.ToString(s.Parameters) != `{"FunctionName":"fn","Payload":{"msg":"first"}}` || events[2].PreviousEventId != 2 {
			t.Errorf("TaskScheduled %+v", s)
		}
		if ok := events[4].TaskSucceededEventDetails; ok == nil || !strings.Contains(aws.ToString(ok.Output), `"Payload":{"echo":"first"`) || events[4].PreviousEventId != 4 {
			t.Errorf("TaskSucceeded %+v", ok)
		}
	})

	// Two branches whose functions each sleep run at the same time.
	t.Run("ParallelBranchesOverlap", func(t *testing.T) {
		t.Parallel()
		branch := func(n string) string {
			return `{"StartAt":"S` + n + `","States":{"S` + n + `":` + invoke(`{"sleep_ms":2000,"msg":"`+n+`"}`, `,"OutputPath":"$.Payload","End":true`) + `}}`
		}
		sm := v.machine("parallel", `{"StartAt":"Both","States":{"Both":{"Type":"Parallel","Branches":[`+branch("a")+`,`+branch("b")+`],"End":true}}}`)
		var out []struct {
			Echo       string
			Start, End int64
		}
		if err := json.Unmarshal([]byte(v.succeeded(sm, `{}`)), &out); err != nil || len(out) != 2 {
			t.Fatalf("output %+v, %v", out, err)
		}
		if out[0].Echo != "a" || out[1].Echo != "b" {
			t.Errorf("branch outputs out of order: %+v", out)
		}
		if max(out[0].Start, out[1].Start) >= min(out[0].End, out[1].End) {
			t.Errorf("the branches ran one after the other: %+v", out)
		}
	})

	// A function failing twice then succeeding, retried with backoff.
	t.Run("RetryWithBackoff", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var attempts []time.Time
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			attempts = append(attempts, time.Now())
			n := len(attempts)
			mu.Unlock()
			fmt.Fprint(w, n)
		}))
		defer srv.Close()
		sm := v.machine("flaky", `{"StartAt":"T","States":{"T":`+invoke(`{"mode":"flaky","fails":2,"url.$":"$.url"}`,
			`,"Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":1,"BackoffRate":2,"MaxAttempts":3}],"OutputPath":"$.Payload","End":true`)+`}}`)
		x := v.start(sm, "", `{"url":"`+srv.URL+`"}`)
		d := v.wait(x)
		if d.Status != types.ExecutionStatusSucceeded {
			t.Fatalf("%s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		jsonEqual(t, aws.ToString(d.Output), `{"attempt":3}`)
		mu.Lock()
		defer mu.Unlock()
		if len(attempts) != 3 {
			t.Fatalf("%d attempts", len(attempts))
		}
		if g1, g2 := attempts[1].Sub(attempts[0]), attempts[2].Sub(attempts[1]); g1 < time.Second || g2 < 2*time.Second {
			t.Errorf("retries %v and %v apart, want at least 1s and 2s (IntervalSeconds 1, BackoffRate 2)", g1, g2)
		}
		events := v.history(x)
		failed := 0
		for _, e := range events {
			if e.Type == types.HistoryEventTypeTaskFailed && aws.ToString(e.TaskFailedEventDetails.Error) == "Flaky" {
				failed++
			}
		}
		if failed != 2 || strings.Count(eventTypes(events), "TaskScheduled") != 3 {
			t.Errorf("history %s", eventTypes(events))
		}
	})

	// A function error's errorType is the error name Catch matches; the
	// cause is the function's error document.
	t.Run("FunctionErrorReachesCatch", func(t *testing.T) {
		t.Parallel()
		sm := v.machine("catch", `{"StartAt":"Train","States":{
		  "Train":`+invoke(`{"mode":"error","error_type":"TrainingFailed","msg":"loss is NaN"}`,
			`,"Catch":[{"ErrorEquals":["Other"],"Next":"Wrong"},{"ErrorEquals":["TrainingFailed"],"ResultPath":"$.error","Next":"Recover"}],"End":true`)+`,
		  "Wrong":{"Type":"Fail","Error":"WrongCatcher"},
		  "Recover":{"Type":"Pass","End":true}}}`)
		var out struct {
			Job   string `json:"job"`
			Error struct{ Error, Cause string }
		}
		if err := json.Unmarshal([]byte(v.succeeded(sm, `{"job":"j1"}`)), &out); err != nil {
			t.Fatal(err)
		}
		var cause struct{ ErrorMessage, ErrorType string }
		if out.Job != "j1" || out.Error.Error != "TrainingFailed" || json.Unmarshal([]byte(out.Error.Cause), &cause) != nil ||
			cause.ErrorMessage != "loss is NaN" || cause.ErrorType != "TrainingFailed" {
			t.Errorf("caught %+v", out)
		}
		// Uncaught, it fails the execution with the same name.
		bare := v.machine("uncaught", `{"StartAt":"T","States":{"T":`+invoke(`{"mode":"error","error_type":"TrainingFailed","msg":"x"}`, `,"End":true`)+`}}`)
		d := v.run(bare, `{}`)
		if d.Status != types.ExecutionStatusFailed || aws.ToString(d.Error) != "TrainingFailed" || !strings.Contains(aws.ToString(d.Cause), `"errorMessage":"x"`) {
			t.Errorf("uncaught %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		// Lambda's own refusal is Lambda.<code>.
		missing := v.machine("missing", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"nope"},"End":true}}}`)
		d = v.run(missing, `{}`)
		if aws.ToString(d.Error) != "Lambda.ResourceNotFoundException" || !strings.Contains(aws.ToString(d.Cause), "Function not found") {
			t.Errorf("missing function %s %s", aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	})

	// TimeoutSeconds cuts a Task short with States.Timeout.
	t.Run("TaskTimeout", func(t *testing.T) {
		t.Parallel()
		sm := v.machine("timeout", `{"StartAt":"T","States":{
		  "T":`+invoke(`{"sleep_ms":20000}`, `,"TimeoutSeconds":1,"Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Wrong"},{"ErrorEquals":["States.Timeout"],"Next":"Late"}],"End":true`)+`,
		  "Wrong":{"Type":"Fail","Error":"TaskFailedCaughtATimeout"},
		  "Late":{"Type":"Pass","End":true}}}`)
		start := time.Now()
		x := v.start(sm, "", `{}`)
		d := v.wait(x)
		if d.Status != types.ExecutionStatusSucceeded || time.Since(start) > 15*time.Second {
			t.Fatalf("%s %s after %v", d.Status, aws.ToString(d.Error), time.Since(start))
		}
		jsonEqual(t, aws.ToString(d.Output), `{"Error":"States.Timeout","Cause":""}`)
		if got := eventTypes(v.history(x)); !strings.Contains(got, "TaskStarted TaskTimedOut TaskStateExited") {
			t.Errorf("history %s", got)
		}
	})

	// StopExecution aborts a running execution and cancels its invocation.
	t.Run("StopExecutionCancelsInvocation", func(t *testing.T) {
		t.Parallel()
		sm := v.machine("stop", `{"StartAt":"T","States":{"T":`+invoke(`{"sleep_ms":30000}`, `,"End":true`)+`}}`)
		x := v.start(sm, "stopped", `{}`)
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(eventTypes(v.history(x)), "TaskStarted") {
			if time.Now().After(deadline) {
				t.Fatal("the task never started")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second) // let the invocation reach the function
		start := time.Now()
		if _, err := v.sfn.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: aws.String(x)}); err != nil {
			t.Fatal(err)
		}
		d, err := v.sfn.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(x)})
		if err != nil || d.Status != types.ExecutionStatusAborted || time.Since(start) > 10*time.Second {
			t.Fatalf("after StopExecution: %+v, %v (%v)", d, err, time.Since(start))
		}
		if got := eventTypes(v.history(x)); !strings.HasSuffix(got, "TaskStarted TaskStateAborted ExecutionAborted") {
			t.Errorf("history %s", got)
		}
	})
}
