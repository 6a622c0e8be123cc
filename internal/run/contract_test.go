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
	mu       sync.Mutex
	fns      map[string]*pyFunction
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
	return &pyInvoker{t: t, python: py, script: script, taskDir: task, handlers: handlers, fns: map[string]*pyFunction{}}
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
	}
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
