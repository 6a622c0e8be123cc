package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/docker/docker/api/types/image"
)

func TestInvokeReturnsOutputAndLogTail(t *testing.T) {
	e := newEnv(t, nil)
	// Not in the engine: the first invocation has to pull it, with credentials.
	if ins, err := docker(t).ImageInspect(ctx(t), e.img.host+"/fn@"+e.img.digest1); err == nil {
		_, _ = docker(t).ImageRemove(ctx(t), ins.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
	pullsBefore := e.img.manifestGets.Load()
	e.create("echo", func(in *awslambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"FOO": "bar"}}
		in.MemorySize = aws.Int32(512)
	})

	out := e.invoke("echo", map[string]any{"msg": "hello"}, func(in *awslambda.InvokeInput) {
		in.LogType = types.LogTypeTail
	})
	if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("status %d, executed version %q", out.StatusCode, aws.ToString(out.ExecutedVersion))
	}
	r := decodeResult(t, out)
	if r.Echo != "hello" {
		t.Errorf("echo = %q", r.Echo)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/echo",
		"LAMBDA_TASK_ROOT":                "/var/task",
		"FOO":                             "bar",
	}
	for k, v := range want {
		if r.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, r.Env[k], v)
		}
	}
	if !strings.Contains(r.Env["AWS_LAMBDA_LOG_STREAM_NAME"], "/[$LATEST]") || r.Env["AWS_LAMBDA_RUNTIME_API"] == "" {
		t.Errorf("log stream %q, runtime API %q", r.Env["AWS_LAMBDA_LOG_STREAM_NAME"], r.Env["AWS_LAMBDA_RUNTIME_API"])
	}
	if e.img.manifestGets.Load() == pullsBefore {
		t.Errorf("the image was not pulled from the registry with credentials")
	}

	logText, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatalf("LogResult: %v", err)
	}
	log := string(logText)
	for _, s := range []string{"START RequestId: ", "handler log: hello", "END RequestId: ", "REPORT RequestId: ", "Memory Size: 512 MB"} {
		if !strings.Contains(log, s) {
			t.Errorf("log tail lacks %q:\n%s", s, log)
		}
	}
	if strings.Contains(log, "(rapid)") {
		t.Errorf("log tail has RIE's internal lines:\n%s", log)
	}

	// A long log is cut to its last 4 KB.
	out = e.invoke("echo", map[string]any{"mode": "log", "lines": 500, "msg": "long"}, func(in *awslambda.InvokeInput) {
		in.LogType = types.LogTypeTail
	})
	logText, _ = base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if len(logText) != 4096 {
		t.Errorf("log tail is %d bytes, want 4096", len(logText))
	}
	if !strings.Contains(string(logText), "line 00499 of the log") || !strings.Contains(string(logText), "REPORT RequestId: ") {
		t.Errorf("log tail does not end with the invocation's end:\n%s", logText)
	}
	if strings.Contains(string(logText), "handler log: hello") {
		t.Errorf("log tail holds the previous invocation's lines")
	}
	// Without LogType Tail there is no log.
	out = e.invoke("echo", map[string]any{"msg": "quiet"}, nil)
	if out.LogResult != nil {
		t.Errorf("LogResult without Tail: %q", *out.LogResult)
	}
	if got := e.svc.Invocations()["echo"]; got != 3 {
		t.Errorf("Invocations = %d, want 3", got)
	}
}

func TestFunctionErrorShape(t *testing.T) {
	e := newEnv(t, nil)
	e.create("fails", nil)

	out := e.invoke("fails", map[string]any{"mode": "error", "msg": "x"}, nil)
	if aws.ToString(out.FunctionError) != "Unhandled" || out.StatusCode != 200 {
		t.Fatalf("FunctionError %q, status %d", aws.ToString(out.FunctionError), out.StatusCode)
	}
	var body struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
		StackTrace   []any  `json:"stackTrace"`
	}
	if err := json.Unmarshal(out.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.ErrorType != "errorString" || body.ErrorMessage != "boom: x" {
		t.Errorf("error body %s", out.Payload)
	}

	// A panic crashes the runtime; its report carries a stack trace.
	out = e.invoke("fails", map[string]any{"mode": "panic", "msg": "y"}, nil)
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("FunctionError %q: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	body.StackTrace = nil
	if err := json.Unmarshal(out.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.ErrorMessage != "kaboom: y" || len(body.StackTrace) == 0 {
		t.Errorf("panic body %s", out.Payload)
	}

	// A success that looks like an error is still a success.
	out = e.invoke("fails", map[string]any{"msg": "fine"}, nil)
	if out.FunctionError != nil {
		t.Errorf("FunctionError after recovery: %s", out.Payload)
	}
}

func TestMemoryLimitFailsAsLambda(t *testing.T) {
	e := newEnv(t, nil)
	e.create("hungry", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(128) })

	out := e.invoke("hungry", map[string]any{"mode": "alloc", "mb": 300}, func(in *awslambda.InvokeInput) {
		in.LogType = types.LogTypeTail
	})
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("FunctionError %q: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	var body struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(out.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.ErrorType != "Runtime.ExitError" || !strings.Contains(body.ErrorMessage, "signal: killed") {
		t.Errorf("body %s", out.Payload)
	}
	log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(log), "Runtime.ExitError") || !strings.Contains(string(log), "REPORT RequestId: ") {
		t.Errorf("log tail:\n%s", log)
	}
	// Within the limit the same function works.
	decodeResult(t, e.invoke("hungry", map[string]any{"mode": "alloc", "mb": 20}, nil))
}

func TestTimeoutIsEnforced(t *testing.T) {
	e := newEnv(t, nil)
	e.create("slow", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	decodeResult(t, e.invoke("slow", map[string]any{"msg": "warm"}, nil))

	start := time.Now()
	out := e.invoke("slow", map[string]any{"sleep_ms": 3000}, func(in *awslambda.InvokeInput) {
		in.LogType = types.LogTypeTail
	})
	took := time.Since(start)
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Fatalf("FunctionError %q: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	var body struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(out.Payload, &body); err != nil {
		t.Fatal(err)
	}
	if body.ErrorType != "Sandbox.Timedout" || !strings.HasSuffix(body.ErrorMessage, "Task timed out after 1.00 seconds") {
		t.Errorf("body %s", out.Payload)
	}
	if took >= 3*time.Second {
		t.Errorf("invocation took %v: the 1 s timeout was not enforced", took)
	}
	log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(log), "Task timed out after 1.00 seconds") {
		t.Errorf("log tail:\n%s", log)
	}
	// The timed-out container is discarded.
	eventually(t, 10*time.Second, "the timed-out container to go", func() bool {
		return len(containers(t, e.svc.Instance())) == 0
	})
}

// TestInProcessInvoke: Invoke, as Step Functions calls it, answers as the
// API does, refuses with Lambda's errors, and ends with its caller's
// context, discarding the container that ran the cut-short invocation.
func TestInProcessInvoke(t *testing.T) {
	e := newEnv(t, nil)
	e.create("inproc", nil)
	res, err := e.svc.Invoke(ctx(t), "arn:aws:lambda:us-east-1:000000000000:function:inproc", []byte(`{"msg":"hi"}`))
	if err != nil || res.FunctionError != "" || res.ExecutedVersion != "$LATEST" || res.StatusCode != 200 || res.RequestID == "" ||
		!strings.Contains(string(res.Payload), `"echo":"hi"`) {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}
	res, err = e.svc.Invoke(ctx(t), "inproc", []byte(`{"mode":"error","msg":"bad"}`))
	if err != nil || res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), `"errorMessage":"boom: bad"`) {
		t.Errorf("function error = %+v, %v", res, err)
	}
	if _, err := e.svc.Invoke(ctx(t), "nope", nil); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing function: %v", err)
	}
	short, cancel := context.WithTimeout(ctx(t), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := e.svc.Invoke(short, "inproc", []byte(`{"sleep_ms":20000}`)); err == nil {
		t.Error("an invocation outlived its context")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the cancelled invocation returned after %v", d)
	}
	eventually(t, 10*time.Second, "the cut-short container to go", func() bool {
		return len(containers(t, e.svc.Instance())) <= 1
	})
}
