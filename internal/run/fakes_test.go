package run

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

const (
	fakePrefix = "pfx"
	fakeBucket = "bucket"
	// fakeSecret signs the fake presigned URLs; it must never reach an event.
	fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// fakeStore is an in-memory artifact store whose presigned URLs carry an
// HMAC of method and key, so a test can tell which object a URL grants.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    map[string]int
	putErr  error
	base    string // where presigned URLs point
	// dropRuns discards run records, so a benchmark's memory stays flat.
	dropRuns bool
	ttls     []time.Duration // lifetimes of the URLs presigned so far
}

func newFakeStore() *fakeStore {
	return &fakeStore{objects: map[string][]byte{}, puts: map[string]int{}, base: "https://" + fakeBucket + ".s3.fake.test"}
}

func (s *fakeStore) GetJSON(_ context.Context, key string, v any) (bool, error) {
	s.mu.Lock()
	b, ok := s.objects[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

func (s *fakeStore) PutJSON(_ context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putErr != nil {
		return s.putErr
	}
	if s.dropRuns && strings.Contains(key, "/runs/") {
		return nil
	}
	s.objects[key] = b
	s.puts[key]++
	return nil
}

func (s *fakeStore) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *fakeStore) sign(method, key string) string {
	m := hmac.New(sha256.New, []byte(fakeSecret))
	m.Write([]byte(method + " " + key))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *fakeStore) presign(method, key string) string {
	return s.base + "/" + key + "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=" + s.sign(method, key)
}

func (s *fakeStore) PresignGet(_ context.Context, key string, ttl time.Duration) (string, error) {
	s.noteTTL(ttl)
	return s.presign("GET", key), nil
}

func (s *fakeStore) PresignPut(_ context.Context, key string, ttl time.Duration) (string, error) {
	s.noteTTL(ttl)
	return s.presign("PUT", key), nil
}

func (s *fakeStore) noteTTL(ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttls = append(s.ttls, ttl)
}

func (s *fakeStore) Exists(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.objects[key]
	return ok, nil
}

func (s *fakeStore) delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
}

func (s *fakeStore) URI(key string) string { return "s3://" + fakeBucket + "/" + key }
func (s *fakeStore) Prefix() string        { return fakePrefix }

// keyFor checks a presigned URL the way S3 would and returns its key.
func (s *fakeStore) keyFor(method, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(raw, s.base+"/") {
		return "", fmt.Errorf("URL %s is not this store's", raw)
	}
	key := strings.TrimPrefix(u.Path, "/")
	if !hmac.Equal([]byte(u.Query().Get("X-Amz-Signature")), []byte(s.sign(method, key))) {
		return "", fmt.Errorf("signature does not match %s %s", method, key)
	}
	return key, nil
}

func (s *fakeStore) get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[key]
	return b, ok
}

func (s *fakeStore) put(key string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = b
	s.puts[key]++
}

func (s *fakeStore) putCount(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts[key]
}

// putWorkflow writes a workflow manifest and one manifest per operator, each
// with the lineage the provider gives it (see lineages). ops maps operator
// name to its inputs.
func (s *fakeStore) putWorkflow(t testing.TB, name string, defaults map[string]string, ops map[string][]string) {
	t.Helper()
	wf := artifacts.WorkflowManifest{Name: name, Engine: "engine-1", Parameters: map[string]json.RawMessage{}}
	for k, v := range defaults {
		wf.Parameters[k] = json.RawMessage(v)
	}
	if err := s.PutJSON(context.Background(), artifacts.WorkflowKey(fakePrefix, name), wf); err != nil {
		t.Fatal(err)
	}
	ms := map[string]*artifacts.OperatorManifest{}
	for op, inputs := range ops {
		ms[op] = &artifacts.OperatorManifest{
			Name: op, Workflow: name, FunctionName: fnName(name, op),
			ImageURI: "123.dkr.ecr.us-east-1.amazonaws.com/ops@sha256:" + strings.Repeat("a", 64),
			Function: "ops:" + strings.ToLower(op), Inputs: inputs, MemoryMB: 512, TimeoutS: 60, Architecture: "x86_64",
		}
	}
	lineages(ms)
	for _, op := range sortedKeys(ms) {
		s.putOperator(t, name, *ms[op])
	}
}

// lineages sets each manifest's InputLineages and Lineage as the provider
// does, applying operators in dependency order: an operator's lineage is
// artifacts.LineageOf its manifest and its inputs' lineages. An input that
// is not among ms, or that closes a cycle, has no lineage yet to give: "".
func lineages(ms map[string]*artifacts.OperatorManifest) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var visit func(string) string
	visit = func(name string) string {
		m, ok := ms[name]
		if !ok || state[name] == visiting {
			return ""
		}
		if state[name] == done {
			return m.Lineage
		}
		state[name] = visiting
		in := make([]string, len(m.Inputs))
		for i, up := range m.Inputs {
			in[i] = visit(up)
		}
		m.InputLineages = in
		m.Lineage = artifacts.LineageOf(m, in)
		state[name] = done
		return m.Lineage
	}
	for _, name := range sortedKeys(ms) {
		visit(name)
	}
}

// manifests reads a workflow's operator manifests by name.
func (s *fakeStore) manifests(t testing.TB, workflow string) map[string]*artifacts.OperatorManifest {
	t.Helper()
	list, err := artifacts.Operators(context.Background(), s, workflow)
	if err != nil {
		t.Fatal(err)
	}
	ms := map[string]*artifacts.OperatorManifest{}
	for _, m := range list {
		ms[m.Name] = m
	}
	return ms
}

// manifest reads one operator's manifest.
func (s *fakeStore) manifest(t testing.TB, workflow, op string) *artifacts.OperatorManifest {
	t.Helper()
	m, ok := s.manifests(t, workflow)[op]
	if !ok {
		t.Fatalf("workflow %q has no operator %q", workflow, op)
	}
	return m
}

// target is op as its artifact handle names it now.
func (s *fakeStore) target(t testing.TB, workflow, op string) Target {
	t.Helper()
	return Target{Operator: op, Lineage: s.manifest(t, workflow, op).Lineage}
}

// apply changes one operator's manifest (a new image digest, environment,
// memory...) as applying its resource does, and then every operator
// downstream of it, as Terraform does when their inputs' handles change:
// each takes its inputs' new lineages. It returns the operators whose
// lineage changed, sorted.
func (s *fakeStore) apply(t testing.TB, workflow, op string, edit func(*artifacts.OperatorManifest)) []string {
	t.Helper()
	ms := s.manifests(t, workflow)
	if _, ok := ms[op]; !ok {
		t.Fatalf("workflow %q has no operator %q", workflow, op)
	}
	before := map[string]string{}
	for name, m := range ms {
		before[name] = m.Lineage
	}
	edit(ms[op])
	lineages(ms)
	var changed []string
	for _, name := range sortedKeys(ms) {
		if name == op || ms[name].Lineage != before[name] {
			s.putOperator(t, workflow, *ms[name])
		}
		if ms[name].Lineage != before[name] {
			changed = append(changed, name)
		}
	}
	return changed
}

// applyOnly changes one operator's manifest and its own lineage, but none
// downstream: as if its dependants' apply had not happened yet.
func (s *fakeStore) applyOnly(t testing.TB, workflow, op string, edit func(*artifacts.OperatorManifest)) {
	t.Helper()
	m := s.manifest(t, workflow, op)
	edit(m)
	m.Lineage = artifacts.LineageOf(m, m.InputLineages)
	s.putOperator(t, workflow, *m)
}

// newImage is an edit that gives the operator another image digest, as a
// changed source does.
func newImage(digit string) func(*artifacts.OperatorManifest) {
	return func(m *artifacts.OperatorManifest) {
		repo, _, _ := strings.Cut(m.ImageURI, "@")
		m.ImageURI = repo + "@sha256:" + strings.Repeat(digit, 64)
	}
}

// putOperator writes a manifest as it is, lineage and all.
func (s *fakeStore) putOperator(t testing.TB, workflow string, m artifacts.OperatorManifest) {
	t.Helper()
	if err := s.PutJSON(context.Background(), artifacts.OperatorKey(fakePrefix, workflow, m.Name), m); err != nil {
		t.Fatal(err)
	}
}

func fnName(workflow, op string) string { return workflow + "-" + op }

// pickled is a result the fake runtime stores as a pickle, not JSON.
type pickled struct{ Value any }

// fakeFn is how one fake function behaves.
type fakeFn struct {
	sleep time.Duration
	// params is the callable's signature as Python sees it: the names of its
	// parameters, in order. Upstream outputs (or a one-operator run's input)
	// fill the first ones; it takes the others from the run's parameters by
	// name. The runtime reports those others as what it accepts.
	params []string
	// kwargs is a **kwargs: the callable takes every run parameter.
	kwargs bool
	// noAccepts answers without saying what it takes, as a runtime older
	// than Accepts does.
	noAccepts bool
	// fn computes the result from the upstream outputs (decoded JSON) and
	// the event, whose Parameters are only those the callable takes, as the
	// runtime passes them. An error is raised as a Python exception would be.
	fn func(args []any, ev runtime.Event) (any, error)
	// answer, when set, is returned as is, without running fn.
	answer *Invocation
	// invokeErr is a failure to invoke at all (not a function error).
	invokeErr error
}

// accepts is what the runtime reports the callable takes once npositional
// arguments fill its first parameters.
func (fn *fakeFn) accepts(npositional int) runtime.Accepts {
	names := []string{}
	if npositional < len(fn.params) {
		names = append(names, fn.params[npositional:]...)
	}
	sort.Strings(names)
	return runtime.Accepts{Names: names, All: fn.kwargs}
}

// taken is the run parameters the callable gets, as the runtime's kwargs_for.
func (fn *fakeFn) taken(npositional int, params map[string]json.RawMessage) map[string]json.RawMessage {
	a := fn.accepts(npositional)
	out := map[string]json.RawMessage{}
	for k, v := range params {
		if a.All && !slices.Contains(fn.params[:min(npositional, len(fn.params))], k) || slices.Contains(a.Names, k) {
			out[k] = v
		}
	}
	return out
}

type fakeCall struct {
	Function   string
	Event      runtime.Event
	Payload    []byte
	Start, End time.Time
}

// fakeInvoker plays Lambda and the runtime inside the function: it fetches
// inputs and stores the output through the presigned URLs, as the runtime does.
type fakeInvoker struct {
	store *fakeStore
	mu    sync.Mutex
	fns   map[string]*fakeFn
	calls []fakeCall
	// active and maxActive measure concurrency.
	active, maxActive int
	// changed names functions whose live configuration no longer matches
	// their manifest.
	changed map[string]bool
}

func newFakeInvoker(store *fakeStore) *fakeInvoker {
	return &fakeInvoker{store: store, fns: map[string]*fakeFn{}}
}

func (f *fakeInvoker) set(function string, fn *fakeFn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fns[function] = fn
}

func (f *fakeInvoker) Verify(_ context.Context, m *artifacts.OperatorManifest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed[m.FunctionName] {
		return fmt.Errorf("function %s does not run what the manifest of %q says", m.FunctionName, m.Name)
	}
	return nil
}

func (f *fakeInvoker) Invoke(ctx context.Context, function string, payload []byte) (Invocation, error) {
	start := time.Now()
	f.mu.Lock()
	fn := f.fns[function]
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	f.mu.Unlock()
	var ev runtime.Event
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	decodeErr := dec.Decode(&ev)
	res, err := f.run(ctx, fn, function, ev, decodeErr)
	f.mu.Lock()
	f.active--
	f.calls = append(f.calls, fakeCall{Function: function, Event: ev, Payload: payload, Start: start, End: time.Now()})
	f.mu.Unlock()
	return res, err
}

func (f *fakeInvoker) run(ctx context.Context, fn *fakeFn, function string, ev runtime.Event, decodeErr error) (Invocation, error) {
	if fn == nil {
		return Invocation{}, fmt.Errorf("ResourceNotFoundException: Function not found: %s", function)
	}
	if fn.sleep > 0 {
		select {
		case <-time.After(fn.sleep):
		case <-ctx.Done():
			return Invocation{}, ctx.Err()
		}
	}
	if fn.invokeErr != nil {
		return Invocation{}, fn.invokeErr
	}
	if fn.answer != nil {
		return *fn.answer, nil
	}
	if decodeErr != nil {
		return raise("Aqueduct.BadEvent", decodeErr.Error()), nil
	}
	args := []any{}
	for _, in := range ev.Inputs {
		key, err := f.store.keyFor("GET", in.URL)
		if err != nil {
			return raise("Aqueduct.InputError", err.Error()), nil
		}
		b, ok := f.store.get(key)
		if !ok {
			return raise("Aqueduct.InputError", "no object "+key), nil
		}
		var v any
		if in.ContentType == runtime.ContentTypeJSON {
			if err := json.Unmarshal(b, &v); err != nil {
				return raise("Aqueduct.InputError", err.Error()), nil
			}
		} else {
			v = pickled{string(b)}
		}
		args = append(args, v)
	}
	if len(ev.Inputs) == 0 && len(ev.Input) > 0 {
		var v any
		_ = json.Unmarshal(ev.Input, &v)
		args = append(args, v)
	}
	if fn.fn == nil {
		return raise("Aqueduct.Test", "fake function "+function+" has no behaviour"), nil
	}
	given := ev
	given.Parameters = fn.taken(len(args), ev.Parameters)
	out, err := fn.fn(args, given)
	if err != nil {
		return raise("ValueError", err.Error()), nil
	}
	key, err := f.store.keyFor("PUT", ev.Output.URL)
	if err != nil {
		return raise("Aqueduct.OutputError", err.Error()), nil
	}
	resp := runtime.Response{Status: "succeeded", OutputURI: ev.Output.URI, DurationMS: 1}
	var body []byte
	if p, ok := out.(pickled); ok {
		body = []byte(fmt.Sprint(p.Value))
		resp.ContentType = runtime.ContentTypePickle
	} else {
		body, _ = json.Marshal(out)
		resp.ContentType = runtime.ContentTypeJSON
		if len(body) < runtime.PreviewLimit {
			resp.Preview = body
		}
	}
	f.store.put(key, body)
	resp.SizeBytes = int64(len(body))
	if !fn.noAccepts {
		a := fn.accepts(len(args))
		resp.Accepts = &a
	}
	b, _ := json.Marshal(resp)
	return Invocation{Payload: b, LogTail: "START RequestId: 1\nran " + function + "\nEND RequestId: 1\n"}, nil
}

// raise is the function error the runtime answers for an exception.
func raise(typ, msg string) Invocation {
	b, _ := json.Marshal(runtime.FunctionError{
		ErrorType: typ, ErrorMessage: msg,
		StackTrace: []string{"Traceback (most recent call last):", `  File "/var/task/ops.py", line 3, in fn`, "    raise " + typ + "(msg)", typ + ": " + msg},
	})
	return Invocation{Payload: b, FunctionError: "Unhandled", LogTail: "[ERROR] " + typ + ": " + msg + "\n"}
}

func (f *fakeInvoker) callsOf(function string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.Function == function {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// counts is how many times each function was invoked.
func (f *fakeInvoker) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, c := range f.calls {
		out[c.Function]++
	}
	return out
}

// reset forgets the invocations so far, so a test can tell one run's from
// the next.
func (f *fakeInvoker) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// functions is the functions invoked, one entry per invocation, sorted.
func (f *fakeInvoker) functions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Function)
	}
	sort.Strings(out)
	return out
}

var errBoom = errors.New("boom")
