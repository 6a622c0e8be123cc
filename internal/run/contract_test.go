package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// The executor's events against the real embedded Python runtime: the Go and
// Python halves of the protocol must agree. Each function is a runtime
// process behind a fake Runtime API; presigned URLs point at an HTTP server
// in front of fakeStore.

const contractOps = `
class Box:
    def __init__(self, v):
        self.v = v

def a(base):
    print("a got base", base)
    return {"n": base}

def b(a, scale=1):
    return a["n"] * scale

def c(a):
    return Box(a["n"] + 1)

def d(b, c):
    return {"b": b, "c": c.v, "c_type": type(c).__name__}

def boom(a):
    raise KeyError("no key %d" % a["n"])

def after(x):
    return x
`

// contractBroken fails at import, after importing a sibling.
const contractBroken = `import ops
raise RuntimeError("cannot load the model")
`

// serveObjects makes fakeStore's presigned URLs real: GET and PUT with the
// signature checked, as S3 would.
func serveObjects(t *testing.T, s *fakeStore) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.keyFor(r.Method, s.base+r.URL.RequestURI())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		switch r.Method {
		case http.MethodGet:
			b, ok := s.get(key)
			if !ok {
				http.Error(w, "NoSuchKey", http.StatusNotFound)
				return
			}
			w.Write(b)
		case http.MethodPut:
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.put(key, b)
		}
	}))
	t.Cleanup(srv.Close)
	s.base = srv.URL
}

// pyInvoker runs each function as the real runtime in a python3 process.
type pyInvoker struct {
	t        *testing.T
	python   string
	script   string
	taskDir  string
	handlers map[string]string // function name → module:callable
	// env is added to every function's environment, as the role's
	// credentials are on Lambda.
	env     []string
	mu      sync.Mutex
	fns     map[string]*pyFunction
	invoked map[string]int // invocations per function since the last take
}

type pyFunction struct {
	events  chan pyEvent
	mu      sync.Mutex
	waiting map[string]chan Invocation
	logs    *syncBuffer
	// initFailed is closed when the runtime posts /init/error; every
	// invocation then fails with initError, as on Lambda.
	initFailed chan struct{}
	initError  []byte
	exited     chan struct{} // closed once the process has exited and logs holds all it wrote
}

type pyEvent struct {
	id      string
	payload []byte
}

func newPyInvoker(t *testing.T, handlers map[string]string) *pyInvoker {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to check the runtime contract: %v", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, runtime.ScriptName)
	if err := os.WriteFile(script, runtime.Script, 0o644); err != nil {
		t.Fatal(err)
	}
	task := filepath.Join(dir, "task")
	if err := os.Mkdir(task, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"ops.py": contractOps, "broken.py": contractBroken} {
		if err := os.WriteFile(filepath.Join(task, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Stdlib names in the task root, as a user's source may have them: the
	// runtime's start-up (runtime.Command) must not import these.
	for _, name := range []string{"json.py", "socket.py", "base64.py"} {
		shadow := "raise ImportError('the task root shadowed the stdlib for the runtime: " + name + "')\n"
		if err := os.WriteFile(filepath.Join(task, name), []byte(shadow), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &pyInvoker{t: t, python: py, script: script, taskDir: task, handlers: handlers, fns: map[string]*pyFunction{}, invoked: map[string]int{}}
}

// take returns how many times each function was invoked since the last
// take, and starts counting again.
func (p *pyInvoker) take() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.invoked
	p.invoked = map[string]int{}
	return out
}

func (p *pyInvoker) function(name string) (*pyFunction, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.fns[name]; ok {
		return f, nil
	}
	handler, ok := p.handlers[name]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: Function not found: %s", name)
	}
	f := &pyFunction{events: make(chan pyEvent), waiting: map[string]chan Invocation{}, logs: &syncBuffer{}, initFailed: make(chan struct{}), exited: make(chan struct{})}
	api := httptest.NewServer(f)
	// Started as the image starts it, with the image's ENV and Lambda's.
	args := runtime.Command(p.python, p.script)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AQUEDUCT_HANDLER=" + handler,
		"PYTHONPATH=" + p.taskDir,
		"PYTHONUNBUFFERED=1",
		"LAMBDA_TASK_ROOT=" + p.taskDir,
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(api.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
	}
	cmd.Env = append(cmd.Env, p.env...)
	cmd.Stdout, cmd.Stderr = f.logs, f.logs
	if err := cmd.Start(); err != nil {
		api.Close()
		return nil, err
	}
	go func() {
		_ = cmd.Wait()
		close(f.exited)
	}()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-f.exited
		api.Close()
	})
	p.fns[name] = f
	return f, nil
}

// Verify: the python processes run exactly what the test configured.
func (p *pyInvoker) Verify(context.Context, *artifacts.OperatorManifest) error { return nil }

func (p *pyInvoker) Invoke(ctx context.Context, name string, payload []byte) (Invocation, error) {
	p.mu.Lock()
	p.invoked[name]++
	p.mu.Unlock()
	f, err := p.function(name)
	if err != nil {
		return Invocation{}, err
	}
	id := fmt.Sprintf("req-%d", time.Now().UnixNano())
	done := make(chan Invocation, 1)
	f.mu.Lock()
	f.waiting[id] = done
	f.mu.Unlock()
	select {
	case f.events <- pyEvent{id, payload}:
	case <-f.initFailed:
		// The runtime exits after its init error; its log is complete then.
		select {
		case <-f.exited:
		case <-ctx.Done():
			return Invocation{}, ctx.Err()
		}
		return Invocation{FunctionError: "Unhandled", Payload: f.initError, LogTail: f.logs.String()}, nil
	case <-ctx.Done():
		return Invocation{}, ctx.Err()
	}
	select {
	case res := <-done:
		res.LogTail = f.logs.String()
		return res, nil
	case <-ctx.Done():
		return Invocation{}, ctx.Err()
	}
}

// ServeHTTP is the Runtime API the process polls.
func (f *pyFunction) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	path := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && path == "invocation/next":
		select {
		case ev := <-f.events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", ev.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Write(ev.payload)
		case <-r.Context().Done():
		}
	case r.Method == http.MethodPost && path == "init/error":
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		select {
		case <-f.initFailed:
		default:
			f.initError = body
			close(f.initFailed)
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		parts := strings.Split(path, "/") // invocation, id, response|error
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		done := f.waiting[parts[1]]
		delete(f.waiting, parts[1])
		f.mu.Unlock()
		if done == nil || len(parts) != 3 {
			http.Error(w, "unknown request id", http.StatusBadRequest)
			return
		}
		res := Invocation{Payload: body}
		if parts[2] == "error" {
			res.FunctionError = "Unhandled"
		}
		done <- res
		w.WriteHeader(http.StatusAccepted)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestContract_executorAndPythonRuntimeAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 processes")
	}
	s := newFakeStore()
	serveObjects(t, s)
	s.putWorkflow(t, "wf", map[string]string{"base": "4", "scale": "3"}, map[string][]string{
		"A": nil, "B": {"A"}, "C": {"A"}, "D": {"B", "C"}, "E": {"A"}, "F": {"E"},
	})
	inv := newPyInvoker(t, map[string]string{
		"wf-A": "ops:a", "wf-B": "ops:b", "wf-C": "ops:c", "wf-D": "ops:d", "wf-E": "ops:boom", "wf-F": "ops:after",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rec, err := Execute(ctx, s, inv, Request{Workflow: "wf", Parameters: map[string]json.RawMessage{"scale": json.RawMessage("10")}})
	if err != nil {
		t.Fatal(err)
	}
	for name, op := range rec.Operators {
		t.Logf("%s: %s %s %s %+v", name, op.Status, op.ContentType, op.Output, op.Error)
	}
	if rec.Status != StatusFailed {
		t.Errorf("run status %s; E raises, so the run fails", rec.Status)
	}
	// Parameters by name, JSON and pickle between operators, inputs in order.
	if got := string(rec.Operators["D"].Output); got != `{"b":40,"c":5,"c_type":"Box"}` {
		t.Errorf("D's output %s", got)
	}
	if c := rec.Operators["C"]; c.ContentType != runtime.ContentTypePickle || c.Output != nil || c.SizeBytes == 0 {
		t.Errorf("C: %+v", c)
	}
	if a := rec.Operators["A"]; string(a.Output) != `{"n":4}` || !strings.Contains(a.LogTail, "a got base 4") {
		t.Errorf("A: output %s log %q", a.Output, a.LogTail)
	}
	e := rec.Operators["E"]
	if e.Status != StatusFailed || e.Error == nil || e.Error.Type != "KeyError" || e.Error.Message != "'no key 4'" ||
		!strings.HasPrefix(e.Error.Traceback, "Traceback (most recent call last):\n") ||
		!strings.Contains(e.Error.Traceback, `raise KeyError("no key %d" % a["n"])`) ||
		!strings.HasSuffix(e.Error.Traceback, "KeyError: 'no key 4'") {
		t.Errorf("E: %+v", e.Error)
	}
	if f := rec.Operators["F"]; f.Status != StatusSkipped {
		t.Errorf("F: %+v", f)
	}

	one, err := Execute(ctx, s, inv, Request{Workflow: "wf", Operator: "B", Input: json.RawMessage(`{"n": 7}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(one.Operators["B"].Output); got != "21" {
		t.Errorf("B alone with input {n: 7} and default scale 3: %s, want 21", got)
	}
}

func TestContract_initErrorReachesTheRunRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 processes")
	}
	s := newFakeStore()
	serveObjects(t, s)
	s.putWorkflow(t, "wf", nil, map[string][]string{"A": nil, "B": {"A"}})
	inv := newPyInvoker(t, map[string]string{"wf-A": "broken:run", "wf-B": "ops:after"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rec, err := Execute(ctx, s, inv, Request{Workflow: "wf"})
	if err != nil {
		t.Fatal(err)
	}
	a := rec.Operators["A"]
	if a.Status != StatusFailed || a.Error == nil || a.Error.Type != "RuntimeError" || a.Error.Message != "cannot load the model" ||
		!strings.Contains(a.Error.Traceback, `broken.py", line 2, in <module>`) {
		t.Errorf("A: %+v", a.Error)
	}
	if !strings.Contains(a.LogTail, "RuntimeError: cannot load the model") {
		t.Errorf("A's log tail lacks the error: %q", a.LogTail)
	}
	if b := rec.Operators["B"]; b.Status != StatusSkipped {
		t.Errorf("B: %+v", b)
	}
}

// The runtime reports what each callable takes, and the executor keys its
// cache on exactly that: an unchanged run invokes nothing, and a parameter
// reruns only the callables that take it and what follows them.
func TestContract_runtimeAcceptsKeyTheCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts python3 processes")
	}
	s := newFakeStore()
	serveObjects(t, s)
	s.putWorkflow(t, "wf", map[string]string{"base": "4", "scale": "3"}, map[string][]string{
		"A": nil, "B": {"A"}, "C": {"A"}, "D": {"B", "C"},
	})
	inv := newPyInvoker(t, map[string]string{"wf-A": "ops:a", "wf-B": "ops:b", "wf-C": "ops:c", "wf-D": "ops:d"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(req Request) *Record {
		t.Helper()
		req.Workflow = "wf"
		rec, err := Execute(ctx, s, inv, req)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != StatusSucceeded {
			for name, op := range rec.Operators {
				t.Logf("%s: %s %+v", name, op.Status, op.Error)
			}
			t.Fatalf("run %s: %s", rec.ID, statuses(rec))
		}
		return rec
	}
	invoked := func(want ...string) {
		t.Helper()
		got := sortedKeys(inv.take())
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("invoked %v, want %v", got, want)
		}
	}

	first := run(Request{})
	invoked("wf-A", "wf-B", "wf-C", "wf-D")
	if got := string(first.Operators["D"].Output); got != `{"b":12,"c":5,"c_type":"Box"}` {
		t.Errorf("D: %s", got)
	}
	// What the runtime reported: a(base), b(a, scale=1), c(a), d(b, c).
	ms := s.manifests(t, "wf")
	for name, want := range map[string]string{"A": `{"names":["base"],"all":false}`, "B": `{"names":["scale"],"all":false}`, "C": `{"names":[],"all":false}`, "D": `{"names":[],"all":false}`} {
		if got, _ := s.get(artifacts.AcceptsKey(fakePrefix, "wf", ms[name].Lineage)); string(got) != want {
			t.Errorf("%s takes %s, want %s", name, got, want)
		}
	}

	if again := run(Request{}); !again.Reused || again.ID != first.ID {
		t.Errorf("the same run again: %s reused %v", again.ID, again.Reused)
	}
	invoked()

	cached := run(Request{Parameters: param("unused", "1")})
	invoked()
	if statuses(cached) != "A=cached B=cached C=cached D=cached" || cached.Operators["D"].CachedFrom != first.ID {
		t.Errorf("a parameter nothing takes: %s, D from %s", statuses(cached), cached.Operators["D"].CachedFrom)
	}

	scaled := run(Request{Parameters: param("scale", "10")})
	invoked("wf-B", "wf-D")
	// D reads C's pickle from the cache.
	if got := string(scaled.Operators["D"].Output); got != `{"b":40,"c":5,"c_type":"Box"}` || statuses(scaled) != "A=cached B=succeeded C=cached D=succeeded" {
		t.Errorf("scale 10: %s, D %s", statuses(scaled), got)
	}

	// Alone on an input, a(base) gets base from the input and takes no
	// parameter; in the workflow it still takes base, however often the
	// two alternate.
	for i, base := range []int{5, 6} {
		alone := run(Request{Operator: "A", Input: json.RawMessage(fmt.Sprint(7 + i))})
		if got, want := string(alone.Operators["A"].Output), fmt.Sprintf(`{"n":%d}`, 7+i); got != want {
			t.Errorf("A alone on %d: %s", 7+i, got)
		}
		invoked("wf-A")
		based := run(Request{Parameters: param("base", fmt.Sprint(base))})
		invoked("wf-A", "wf-B", "wf-C", "wf-D")
		if got, want := string(based.Operators["D"].Output), fmt.Sprintf(`{"b":%d,"c":%d,"c_type":"Box"}`, base*3, base+1); got != want {
			t.Errorf("base %d after A ran alone: D %s, want %s", base, got, want)
		}
	}
}
