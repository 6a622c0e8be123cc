package lambda

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/docker/docker/api/types/filters"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

func TestConcurrentInvokesGetTheirOwnContainers(t *testing.T) {
	e := newEnv(t, nil)
	e.create("par", nil)

	var wg sync.WaitGroup
	results := make([]fnResult, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = decodeResult(t, e.invoke("par", map[string]any{"sleep_ms": 2000}, nil))
		}()
	}
	wg.Wait()
	a, b := results[0], results[1]
	if a.Instance == b.Instance {
		t.Errorf("both invocations ran in instance %s", a.Instance)
	}
	if !(a.Start < b.End && b.Start < a.End) {
		t.Errorf("invocations did not overlap: %d-%d and %d-%d", a.Start, a.End, b.Start, b.End)
	}
	if n := len(containers(t, e.svc.Instance(), filters.Arg("label", runner.LabelFunction+"=par"))); n != 2 {
		t.Errorf("%d containers, want 2", n)
	}

	// The next invocation reuses a warm one.
	r := decodeResult(t, e.invoke("par", map[string]any{"msg": "warm"}, nil))
	if r.Instance != a.Instance && r.Instance != b.Instance {
		t.Errorf("a new environment %s served a warm function", r.Instance)
	}
	if n := len(containers(t, e.svc.Instance())); n != 2 {
		t.Errorf("%d containers after a warm invoke, want 2", n)
	}
}

func TestWarmReuseIdleReapAndDiscardOnUpdate(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.IdleTimeout = 2 * time.Second })
	e.create("warm", func(in *awslambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"FOO": "one"}}
	})
	first := decodeResult(t, e.invoke("warm", map[string]any{"msg": "1"}, nil))
	second := decodeResult(t, e.invoke("warm", map[string]any{"msg": "2"}, nil))
	if first.Instance != second.Instance {
		t.Errorf("sequential invocations used %s then %s; want warm reuse", first.Instance, second.Instance)
	}
	list := containers(t, e.svc.Instance())
	if len(list) != 1 {
		t.Fatalf("%d containers, want 1", len(list))
	}
	old := list[0].ID

	// An update retires the warm container; the new configuration runs fresh.
	if _, err := e.c.UpdateFunctionConfiguration(ctx(t), &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("warm"),
		Environment:  &types.Environment{Variables: map[string]string{"FOO": "two"}},
	}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("warm")
	third := decodeResult(t, e.invoke("warm", map[string]any{"msg": "3"}, nil))
	if third.Instance == first.Instance || third.Env["FOO"] != "two" {
		t.Errorf("after update: instance %s (was %s), FOO=%q", third.Instance, first.Instance, third.Env["FOO"])
	}
	eventually(t, 10*time.Second, "the pre-update container to go", func() bool {
		for _, c := range containers(t, e.svc.Instance()) {
			if c.ID == old {
				return false
			}
		}
		return true
	})

	// Idle longer than IdleTimeout: stopped and removed.
	eventually(t, 15*time.Second, "the idle container to be removed", func() bool {
		return len(containers(t, e.svc.Instance())) == 0
	})
	fourth := decodeResult(t, e.invoke("warm", map[string]any{"msg": "4"}, nil))
	if fourth.Instance == third.Instance {
		t.Errorf("a reaped environment served again")
	}
}

func TestNothingLeftAfterDeleteResetAndClose(t *testing.T) {
	e := newEnv(t, nil)
	e.create("gone", nil)
	e.create("stays", nil)
	decodeResult(t, e.invoke("gone", map[string]any{}, nil))
	decodeResult(t, e.invoke("stays", map[string]any{}, nil))
	byFn := func(fn string) int {
		return len(containers(t, e.svc.Instance(), filters.Arg("label", runner.LabelFunction+"="+fn)))
	}
	if byFn("gone") != 1 || byFn("stays") != 1 {
		t.Fatalf("containers: gone %d, stays %d", byFn("gone"), byFn("stays"))
	}
	if _, err := e.c.DeleteFunction(ctx(t), &awslambda.DeleteFunctionInput{FunctionName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	if n := byFn("gone"); n != 0 {
		t.Errorf("%d containers of a deleted function", n)
	}
	if byFn("stays") != 1 {
		t.Errorf("deleting one function removed another's container")
	}

	// Reset drops functions and containers, including one mid-invocation.
	done := make(chan *awslambda.InvokeOutput, 1)
	go func() {
		out, _ := e.c.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("stays"), Payload: []byte(`{"sleep_ms":5000}`)})
		done <- out
	}()
	eventually(t, 10*time.Second, "the invocation to start", func() bool { return e.svc.Invocations()["stays"] == 2 })
	e.svc.Reset()
	if n := len(containers(t, e.svc.Instance())); n != 0 {
		t.Errorf("%d containers after Reset", n)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("the invocation in flight did not end with Reset")
	}
	if n := len(e.svc.Invocations()); n != 0 {
		t.Errorf("invocations not reset: %v", e.svc.Invocations())
	}
	list, _ := e.c.ListFunctions(ctx(t), &awslambda.ListFunctionsInput{})
	if len(list.Functions) != 0 {
		t.Errorf("%d functions after Reset", len(list.Functions))
	}

	// Close: every container goes (newEnv's cleanup asserts it again by label).
	e.create("last", nil)
	decodeResult(t, e.invoke("last", map[string]any{}, nil))
	instance := e.svc.Instance()
	e.srv.Close()
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(containers(t, instance)); n != 0 {
		t.Errorf("%d containers after Close", n)
	}
	e.start() // for the cleanup
}

func TestEventDryRunAndThrottle(t *testing.T) {
	saved := accountConcurrency
	accountConcurrency = 1
	t.Cleanup(func() { accountConcurrency = saved })
	e := newEnv(t, nil)
	e.create("async", nil)

	// The function calls back on the host network.
	got := make(chan string, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer cb.Close()

	out := e.invoke("async", map[string]any{"mode": "callback", "url": cb.URL, "msg": "from-event"}, func(in *awslambda.InvokeInput) {
		in.InvocationType = types.InvocationTypeEvent
	})
	if out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Errorf("Event: status %d payload %q", out.StatusCode, out.Payload)
	}
	select {
	case msg := <-got:
		if msg != "from-event" {
			t.Errorf("callback %q", msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Event invocation never ran")
	}

	out = e.invoke("async", map[string]any{"msg": "dry"}, func(in *awslambda.InvokeInput) {
		in.InvocationType = types.InvocationTypeDryRun
	})
	if out.StatusCode != 204 {
		t.Errorf("DryRun: status %d", out.StatusCode)
	}
	if n := e.svc.Invocations()["async"]; n != 1 {
		t.Errorf("%d invocations; the DryRun must not count", n)
	}

	// With one execution slot busy, a second synchronous call is throttled.
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		e.invoke("async", map[string]any{"sleep_ms": 3000}, nil)
	}()
	eventually(t, 10*time.Second, "the slow invocation to start", func() bool { return e.svc.Invocations()["async"] == 2 })
	noRetry := newClient(e.srv.URL, func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
	_, err := noRetry.Invoke(ctx(t), &awslambda.InvokeInput{FunctionName: aws.String("async"), Payload: []byte(`{}`)})
	apiErr(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
	var tm *types.TooManyRequestsException
	if ok := errors.As(err, &tm); !ok || tm.Reason != types.ThrottleReasonConcurrentInvocationLimitExceeded || aws.ToString(tm.RetryAfterSeconds) == "" {
		t.Errorf("throttle error %#v", tm)
	}
	<-busy
}

func TestContainerHasLambdasLimits(t *testing.T) {
	e := newEnv(t, nil)
	e.create("limits", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(1769) })
	e.create("huge", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10240) })
	r := e.invoke("limits", map[string]any{"mode": "fs"}, nil)
	var fs struct {
		TmpOK  bool `json:"tmp_ok"`
		RootOK bool `json:"root_ok"`
	}
	if err := json.Unmarshal(r.Payload, &fs); err != nil {
		t.Fatal(err)
	}
	if !fs.TmpOK || fs.RootOK {
		t.Errorf("/tmp writable %v, / writable %v; Lambda has only /tmp writable", fs.TmpOK, fs.RootOK)
	}
	list := containers(t, e.svc.Instance(), filters.Arg("label", runner.LabelFunction+"=limits"))
	if len(list) != 1 {
		t.Fatalf("%d containers", len(list))
	}
	ins, err := docker(t).ContainerInspect(ctx(t), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	h := ins.HostConfig
	if h.Memory != 1769<<20 || h.MemorySwap != h.Memory || h.NanoCPUs != 1e9 || string(h.NetworkMode) != "host" {
		t.Errorf("memory %d swap %d nanoCPUs %d network %s", h.Memory, h.MemorySwap, h.NanoCPUs, h.NetworkMode)
	}
	for _, a := range []string{"--runtime-interface-emulator-address", "--runtime-api-address"} {
		found := false
		for i, arg := range ins.Args {
			if arg == a && i+1 < len(ins.Args) && strings.HasPrefix(ins.Args[i+1], "127.0.0.1:") {
				found = true
			}
		}
		if !found {
			t.Errorf("RIE is not given a loopback %s: %v", a, ins.Args)
		}
	}

	// 10240 MB would be 5.8 vCPUs; Docker refuses more than the host has.
	decodeResult(t, e.invoke("huge", map[string]any{}, nil))
	info, err := docker(t).Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	huge := containers(t, e.svc.Instance(), filters.Arg("label", runner.LabelFunction+"=huge"))
	if len(huge) != 1 {
		t.Fatalf("%d containers for huge", len(huge))
	}
	ins, _ = docker(t).ContainerInspect(ctx(t), huge[0].ID)
	if want := min(int64(10240)*1e9/1769, int64(info.NCPU)*1e9); ins.HostConfig.NanoCPUs != want || ins.HostConfig.Memory != 10240<<20 {
		t.Errorf("huge: nanoCPUs %d (want %d), memory %d", ins.HostConfig.NanoCPUs, want, ins.HostConfig.Memory)
	}
}
