package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// finalWriteTimeout bounds writing the record after the caller's context
// has ended, so a timed-out run still leaves its record.
const finalWriteTimeout = 30 * time.Second

// Prepared is a run resolved against the workflow as last applied, before
// anything runs: what it produces, its id and identity. Either executor
// (this package's, or a Step Functions execution) runs it.
type Prepared struct {
	// Reused is the record of an identical earlier run whose outputs all
	// still exist; when set, there is nothing to run.
	Reused *Record

	ID       string // the run's id; a rerun's is fresh
	BaseID   string // the id the identity gives
	Identity string
	Workflow string
	// Targets are the operators the run must produce; Selected are those
	// and all their ancestors, in the order they can run.
	Targets, Selected []string
	Operators         map[string]*artifacts.OperatorManifest // the selected ones
	Parameters        map[string]json.RawMessage             // canonical JSON
	Input             json.RawMessage                        // canonical; one-operator runs

	req Request
	dag *dag
}

// Rerun reports whether the run invokes every operator, cached or not.
func (p *Prepared) Rerun() bool { return p.req.Rerun }

// ParameterHashes are the hashes cache keys take for the parameters, by
// name: what a runtime computing keys itself needs.
func (p *Prepared) ParameterHashes() map[string]string {
	out := make(map[string]string, len(p.Parameters))
	for name, v := range p.Parameters {
		out[name] = valueHash(v)
	}
	return out
}

// Prepare resolves req: it reads the workflow's manifests, checks the
// handles and the DAG, and finds a reusable record. Errors are for runs that
// cannot be made.
func Prepare(ctx context.Context, store Store, req Request) (*Prepared, error) {
	if req.Workflow == "" {
		return nil, errors.New("no workflow to run")
	}
	if req.Operator != "" && len(req.Targets) > 0 {
		return nil, fmt.Errorf("targets select operators of a workflow run; they cannot be combined with running operator %q alone", req.Operator)
	}
	if len(req.Input) > 0 && req.Operator == "" {
		return nil, errors.New("input is passed to a single operator; set the operator to run")
	}
	if req.MaxParallel < 0 {
		return nil, fmt.Errorf("max_parallel is %d; it must be at least 1", req.MaxParallel)
	}

	wf, manifests, err := loadWorkflow(ctx, store, req.Workflow)
	if err != nil {
		return nil, err
	}
	d, err := newDAG(req.Workflow, manifests)
	if err != nil {
		return nil, err
	}
	selected, targets, err := d.selection(req)
	if err != nil {
		return nil, err
	}
	params, err := effectiveParameters(wf.Parameters, req.Parameters)
	if err != nil {
		return nil, err
	}
	var input json.RawMessage
	if len(req.Input) > 0 {
		if input, err = canonicalJSON(req.Input); err != nil {
			return nil, fmt.Errorf("input is not valid JSON: %w", err)
		}
	}
	ident, baseID, err := identity(req, d, targets, params, input)
	if err != nil {
		return nil, err
	}
	p := &Prepared{
		ID: baseID, BaseID: baseID, Identity: ident, Workflow: req.Workflow, Targets: targets, Selected: selected,
		Operators: make(map[string]*artifacts.OperatorManifest, len(selected)), Parameters: params, Input: input, req: req, dag: d,
	}
	for _, name := range selected {
		p.Operators[name] = d.ops[name]
	}
	if req.Rerun {
		p.ID = freshID(baseID, time.Now())
		return p, nil
	}
	var prev Record
	key := artifacts.RunKey(store.Prefix(), req.Workflow, baseID)
	found, err := store.GetJSON(ctx, key, &prev)
	if err != nil {
		return nil, fmt.Errorf("reading run record %s: %w", store.URI(key), err)
	}
	if found && prev.Status == StatusSucceeded && prev.Identity == ident {
		complete, err := outputsExist(ctx, store, &prev)
		if err != nil {
			return nil, err
		}
		if complete {
			prev.Reused = true
			p.Reused = &prev
		}
		// Else an output is gone (deleted, or expired by a lifecycle rule):
		// resolve again; what is still cached stays cached.
	}
	return p, nil
}

// Execute runs what req asks for in this process and returns its record.
//
// A run in which operators failed is not a Go error: the record says
// "failed" and names them. Errors are for runs that could not be made
// (missing manifests, an invalid DAG, a stale artifact handle, an unwritable
// store) and for a context that ended mid-run, in which case the record so
// far is returned too.
func Execute(ctx context.Context, store Store, inv Invoker, req Request) (*Record, error) {
	p, err := Prepare(ctx, store, req)
	if err != nil {
		return nil, err
	}
	if p.Reused != nil {
		return p.Reused, nil
	}
	return p.Execute(ctx, store, inv)
}

// Execute runs a prepared run in this process.
func (p *Prepared) Execute(ctx context.Context, store Store, inv Invoker) (*Record, error) {
	req, d, selected, targets, params, input, ident, id, baseID := p.req, p.dag, p.Selected, p.Targets, p.Parameters, p.Input, p.Identity, p.ID, p.BaseID
	maxParallel := req.MaxParallel
	if maxParallel == 0 {
		maxParallel = DefaultMaxParallel
	}
	prefix := store.Prefix()

	start := time.Now()
	rec := &Record{
		ID: id, Workflow: req.Workflow, Operator: req.Operator, Targets: targets, Identity: ident,
		Status: StatusRunning, StartedAt: start.UTC(), Parameters: params,
		Operators: make(map[string]*OperatorRecord, len(selected)),
	}
	for _, name := range selected {
		m := d.ops[name]
		rec.Operators[name] = &OperatorRecord{Status: StatusPending, FunctionName: m.FunctionName, ImageURI: m.ImageURI, Lineage: m.Lineage}
	}
	recKey := artifacts.RunKey(prefix, req.Workflow, id)
	// Written first so an unwritable store fails the run before anything is paid for.
	if err := store.PutJSON(ctx, recKey, rec); err != nil {
		return nil, fmt.Errorf("writing run record %s: %w", store.URI(recKey), err)
	}

	e := &executor{store: store, inv: inv, dag: d, rec: rec, req: req, params: params, input: input, max: maxParallel, accepts: map[string]*runtime.Accepts{}}
	e.run(ctx)

	for _, name := range sortedKeys(rec.Operators) {
		op := rec.Operators[name]
		if w := op.Warning; w != "" {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("operator %q: %s", name, w))
		}
		if op.Status == StatusSucceeded {
			rec.Invoked++
		}
	}
	rec.FinishedAt = time.Now().UTC()
	rec.DurationMS = time.Since(start).Milliseconds()
	rec.Status = StatusSucceeded
	for _, op := range rec.Operators {
		if !op.Done() {
			rec.Status = StatusFailed
		}
	}

	writeCtx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		writeCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
		defer cancel()
	}
	var errs []error
	if ctxErr := ctx.Err(); ctxErr != nil {
		errs = append(errs, fmt.Errorf("run %s of workflow %q stopped before it finished: %w", id, req.Workflow, ctxErr))
	}
	if err := store.PutJSON(writeCtx, recKey, rec); err != nil {
		errs = append(errs, fmt.Errorf("writing run record %s: %w", store.URI(recKey), err))
	} else if req.Rerun && rec.Status == StatusSucceeded {
		// The identity's record now points at this run, so a later run without
		// rerun reads the latest results rather than the ones this replaced.
		baseKey := artifacts.RunKey(prefix, req.Workflow, baseID)
		if err := store.PutJSON(writeCtx, baseKey, rec); err != nil {
			errs = append(errs, fmt.Errorf("writing run record %s: %w", store.URI(baseKey), err))
		}
	}
	return rec, errors.Join(errs...)
}

// outputsExist reports whether every output a record names is still stored.
func outputsExist(ctx context.Context, store Store, rec *Record) (bool, error) {
	for _, name := range sortedKeys(rec.Operators) {
		op := rec.Operators[name]
		if op.OutputKey == "" {
			return false, nil
		}
		ok, err := store.Exists(ctx, op.OutputKey)
		if err != nil {
			return false, fmt.Errorf("checking the output of %q from run %s: %w", name, rec.ID, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// presignMargin covers what happens between presigning and the function's
// own deadline: retried throttled invokes, a cold start, slow uploads.
const presignMargin = 5 * time.Minute

// presignTTL is how long an operator's URLs must work: its timeout plus the
// margin, cut short by credentials that expire sooner, in which case warning
// says so.
func presignTTL(timeoutS int64, credsExpire, now time.Time) (ttl time.Duration, warning string) {
	if timeoutS <= 0 {
		timeoutS = 900 // Lambda's maximum, when the manifest does not say
	}
	ttl = time.Duration(timeoutS)*time.Second + presignMargin
	if credsExpire.IsZero() {
		return ttl, ""
	}
	left := credsExpire.Sub(now)
	if left >= ttl {
		return ttl, ""
	}
	warning = fmt.Sprintf("the AWS credentials that sign its presigned URLs expire at %s, %s from now, before its %d s timeout plus %s could end: "+
		"if it runs that long, its input and output URLs stop working. Use credentials that last longer (a role session of at least %s)",
		credsExpire.UTC().Format(time.RFC3339), left.Round(time.Second), timeoutS, presignMargin, ttl.Round(time.Minute))
	return max(left, time.Second), warning
}

// executor schedules one run. Only run's goroutine touches rec; each
// operator is resolved on its own copy, handed back when done.
type executor struct {
	store  Store
	inv    Invoker
	dag    *dag
	rec    *Record
	req    Request
	params map[string]json.RawMessage
	input  json.RawMessage
	max    int

	mu      sync.Mutex
	accepts map[string]*runtime.Accepts // by acceptsSlot; nil entry: not known yet
}

// job is one operator to resolve, with what its inputs resolved to.
type job struct {
	name   string
	inputs []input
}

type input struct {
	name        string
	key         string // cache key of its output ("" when it could not be cached)
	outputKey   string
	contentType string
}

type result struct {
	name string
	op   OperatorRecord
}

func (e *executor) run(ctx context.Context) {
	// waiting counts each operator's distinct upstream operators not yet done.
	waiting := map[string]int{}
	var ready []string
	for _, name := range sortedKeys(e.rec.Operators) {
		if e.req.Operator == "" {
			waiting[name] = len(uniq(e.dag.ops[name].Inputs))
		}
		if waiting[name] == 0 {
			ready = append(ready, name)
		}
	}

	results := make(chan result)
	running := 0
	for {
		for len(ready) > 0 && running < e.max && ctx.Err() == nil {
			name := ready[0]
			ready = ready[1:]
			op := e.rec.Operators[name]
			if op.Status != StatusPending {
				continue // skipped since it became ready
			}
			op.Status = StatusRunning
			j := job{name: name}
			if e.req.Operator == "" {
				for _, in := range e.dag.ops[name].Inputs {
					up := e.rec.Operators[in]
					j.inputs = append(j.inputs, input{name: in, key: up.CacheKey, outputKey: up.OutputKey, contentType: up.ContentType})
				}
			}
			base := *op
			running++
			go func() { results <- result{name, e.resolve(ctx, j, base)} }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		*e.rec.Operators[r.name] = r.op
		if r.op.Done() {
			for _, child := range e.dag.children[r.name] {
				if _, in := e.rec.Operators[child]; !in {
					continue
				}
				waiting[child]--
				if waiting[child] == 0 {
					ready = append(ready, child)
				}
			}
		} else {
			e.skipDescendants(r.name, fmt.Sprintf("upstream operator %q failed", r.name))
		}
	}

	if err := ctx.Err(); err != nil {
		for _, op := range e.rec.Operators {
			if op.Status == StatusPending {
				op.Status = StatusSkipped
				op.SkippedBecause = "the run was stopped: " + err.Error()
			}
		}
	}
}

func (e *executor) skipDescendants(name, because string) {
	for _, child := range e.dag.children[name] {
		op, in := e.rec.Operators[child]
		if !in || op.Status != StatusPending {
			continue
		}
		op.Status = StatusSkipped
		op.SkippedBecause = because
		e.skipDescendants(child, because)
	}
}

// resolve gives an operator its output: from the cache when its key is
// known and the output is stored there (and the run is not a rerun), else by
// invoking it.
func (e *executor) resolve(ctx context.Context, j job, op OperatorRecord) OperatorRecord {
	m := e.dag.ops[j.name]
	accepts, err := e.acceptsOf(ctx, e.acceptsSlot(m))
	if err != nil {
		return failed(op, "Aqueduct.CacheError", "%v", err)
	}
	key := e.key(m, accepts, j)
	if key != "" && !e.req.Rerun {
		hit, err := e.cached(ctx, key, op)
		if err != nil {
			return failed(op, "Aqueduct.CacheError", "%v", err)
		}
		if hit != nil {
			return *hit
		}
	}
	start := time.Now()
	op = e.invokeRetrying(ctx, j, op, key)
	op.StartedAt = start.UTC()
	op.FinishedAt = time.Now().UTC()
	op.DurationMS = time.Since(start).Milliseconds()
	if op.Status == StatusSucceeded && op.CacheKey != "" {
		res := artifacts.CachedResult{RunID: e.rec.ID, OutputKey: op.OutputKey, ContentType: op.ContentType, SizeBytes: op.SizeBytes,
			Preview: op.Output, FinishedAt: op.FinishedAt, DurationMS: op.DurationMS}
		if err := e.store.PutJSON(ctx, artifacts.ResultKey(e.store.Prefix(), e.req.Workflow, op.CacheKey), res); err != nil {
			// The output is good; only later runs lose the shortcut.
			op.Warning = "its output was not recorded in the cache, so the next run invokes it again: " + err.Error()
		}
	}
	return op
}

// key is the operator's cache key, or "" while the parameters it takes are
// not known (it never ran) or an input could not be cached.
func (e *executor) key(m *artifacts.OperatorManifest, accepts *runtime.Accepts, j job) string {
	if accepts == nil {
		return ""
	}
	keys := make([]string, len(j.inputs))
	for i, in := range j.inputs {
		if in.key == "" {
			return ""
		}
		keys[i] = in.key
	}
	return cacheKey(m.Lineage, accepts, e.params, e.input, keys)
}

// cached returns the operator's record from the cache, or nil when its
// output is not there (never made, or deleted since).
func (e *executor) cached(ctx context.Context, key string, op OperatorRecord) (*OperatorRecord, error) {
	var res artifacts.CachedResult
	found, err := e.store.GetJSON(ctx, artifacts.ResultKey(e.store.Prefix(), e.req.Workflow, key), &res)
	if err != nil || !found || res.OutputKey == "" {
		return nil, err
	}
	if ok, err := e.store.Exists(ctx, res.OutputKey); err != nil || !ok {
		return nil, err
	}
	op.Status = StatusCached
	op.CacheKey = key
	op.CachedFrom = res.RunID
	op.OutputKey = res.OutputKey
	op.OutputURI = e.store.URI(res.OutputKey)
	op.ContentType = res.ContentType
	op.SizeBytes = res.SizeBytes
	op.Output = res.Preview
	return &op, nil
}

// acceptsSlot names what an operator takes in this run. The run parameters
// a callable can take depend on how many positional arguments fill its
// first parameters: its inputs in a workflow run, but the input (or none)
// when it runs alone, where a parameter it takes in a workflow run may be
// filled by the input instead. So what it takes with as many arguments as
// it has inputs is recorded under its lineage, and with any other count
// under a slot of its own.
func (e *executor) acceptsSlot(m *artifacts.OperatorManifest) string {
	n := len(m.Inputs)
	if e.req.Operator != "" {
		n = 0
		if len(e.input) > 0 {
			n = 1
		}
	}
	if n == len(m.Inputs) {
		return m.Lineage
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s positional=%d", m.Lineage, n))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// acceptsOf is what the operators of an acceptsSlot take, read once per run.
func (e *executor) acceptsOf(ctx context.Context, slot string) (*runtime.Accepts, error) {
	e.mu.Lock()
	a, ok := e.accepts[slot]
	e.mu.Unlock()
	if ok {
		return a, nil
	}
	var got runtime.Accepts
	found, err := e.store.GetJSON(ctx, artifacts.AcceptsKey(e.store.Prefix(), e.req.Workflow, slot), &got)
	if err != nil {
		return nil, err
	}
	if found {
		a = &got
	}
	e.mu.Lock()
	e.accepts[slot] = a
	e.mu.Unlock()
	return a, nil
}

// learn records what the operators of an acceptsSlot take, as their runtime
// reported.
func (e *executor) learn(ctx context.Context, slot string, a *runtime.Accepts) error {
	slices.Sort(a.Names)
	e.mu.Lock()
	known := e.accepts[slot]
	e.mu.Unlock()
	if known != nil && known.All == a.All && slices.Equal(known.Names, a.Names) {
		return nil
	}
	if err := e.store.PutJSON(ctx, artifacts.AcceptsKey(e.store.Prefix(), e.req.Workflow, slot), a); err != nil {
		return err
	}
	e.mu.Lock()
	e.accepts[slot] = a
	e.mu.Unlock()
	return nil
}

func failed(op OperatorRecord, typ, format string, args ...any) OperatorRecord {
	op.Status = StatusFailed
	op.Error = &ErrorRecord{Type: typ, Message: fmt.Sprintf(format, args...)}
	return op
}

// invokeRetrying invokes the operator, and again after a failure of its
// own (an exception, a timeout, a crash, or Lambda failing the invocation)
// as its retry policy says. Failures of the run's own making (a changed
// function, a stopped run) are not retried.
func (e *executor) invokeRetrying(ctx context.Context, j job, op OperatorRecord, key string) OperatorRecord {
	policy := e.dag.ops[j.name].Retry
	for n := 1; ; n++ {
		res := e.invoke(ctx, j, op, key)
		res.Attempts = n
		if res.Status != StatusFailed || policy == nil || n > policy.Attempts || !retryable(res.Error) {
			return res
		}
		t := time.NewTimer(policy.Delay(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return res
		case <-t.C:
		}
	}
}

// retryable: the function's errors and the runtime's, but for those a
// second try cannot cure, and Lambda failing the invocation; not the
// executor's own (a changed function, a stopped run).
func retryable(err *ErrorRecord) bool {
	switch {
	case err == nil || slices.Contains(runtime.FinalErrors, err.Type):
		return false
	case err.Type == "Aqueduct.InvokeError":
		return true
	}
	_, executorError := executorErrors[err.Type]
	return !executorError
}

var executorErrors = map[string]struct{}{
	"Aqueduct.Stopped": {}, "Aqueduct.FunctionChanged": {}, "Aqueduct.PresignError": {},
	"Aqueduct.EventError": {}, "Aqueduct.BadResponse": {}, "Aqueduct.CacheError": {},
}

// invoke runs the operator's function; its output goes to the cache key when
// that is known, else to the run's own folder. A rerun's outputs always go
// to its own folder: the object at the cache key is named by the records of
// the runs that made or read it, and must not change under them.
func (e *executor) invoke(ctx context.Context, j job, op OperatorRecord, key string) OperatorRecord {
	prefix := e.store.Prefix()
	m := e.dag.ops[j.name]
	if err := e.inv.Verify(ctx, m); err != nil {
		return failed(op, "Aqueduct.FunctionChanged", "%v", err)
	}
	ttl, warning := presignTTL(m.TimeoutS, e.req.CredentialsExpire, time.Now())
	if warning != "" {
		op.Warning = warning
	}
	ev := runtime.Event{
		Version: runtime.EventVersion, RunID: e.rec.ID, Operator: j.name,
		Inputs: make([]runtime.Input, 0, len(j.inputs)), Parameters: e.params, Input: e.input,
	}
	for _, in := range j.inputs {
		url, err := e.store.PresignGet(ctx, in.outputKey, ttl)
		if err != nil {
			return failed(op, "Aqueduct.PresignError", "presigning input %q: %v", in.name, err)
		}
		ev.Inputs = append(ev.Inputs, runtime.Input{Operator: in.name, URL: url, ContentType: in.contentType})
	}
	outKey := artifacts.RunOutputKey(prefix, e.req.Workflow, e.rec.ID, j.name)
	if key != "" && !e.req.Rerun {
		outKey = artifacts.CachedOutputKey(prefix, e.req.Workflow, key)
	}
	url, err := e.store.PresignPut(ctx, outKey, ttl)
	if err != nil {
		return failed(op, "Aqueduct.PresignError", "presigning the output: %v", err)
	}
	ev.Output = runtime.Output{URL: url, URI: e.store.URI(outKey)}
	payload, err := json.Marshal(ev)
	if err != nil {
		return failed(op, "Aqueduct.EventError", "encoding the event: %v", err)
	}

	res, err := e.inv.Invoke(ctx, op.FunctionName, payload)
	if err != nil {
		if ctx.Err() != nil {
			return failed(op, "Aqueduct.Stopped", "the run was stopped while %q ran: %v", j.name, err)
		}
		return failed(op, "Aqueduct.InvokeError", "%v", err)
	}
	op.LogTail = res.LogTail
	op.RequestID = res.RequestID
	if res.FunctionError != "" {
		op.Status = StatusFailed
		op.Error = parseFunctionError(res)
		return op
	}

	var resp runtime.Response
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.Status != StatusSucceeded || resp.ContentType == "" {
		return failed(op, "Aqueduct.BadResponse", "function %s answered %s, which is not the aqueduct runtime's response; is its image built by this provider?",
			op.FunctionName, snippet(res.Payload))
	}
	op.Status = StatusSucceeded
	op.OutputKey = outKey
	op.OutputURI = e.store.URI(outKey)
	op.ContentType = resp.ContentType
	op.SizeBytes = resp.SizeBytes
	if resp.ContentType == runtime.ContentTypeJSON && len(resp.Preview) > 0 && len(resp.Preview) < runtime.PreviewLimit && json.Valid(resp.Preview) {
		op.Output = resp.Preview
	}
	if resp.Accepts != nil {
		if err := e.learn(ctx, e.acceptsSlot(m), resp.Accepts); err != nil {
			op.Warning = "what it takes was not recorded, so the next run invokes it again: " + err.Error()
		} else if key == "" {
			key = e.key(m, resp.Accepts, j)
		}
	}
	op.CacheKey = key
	return op
}

// parseFunctionError reads Lambda's error document, which is the runtime's
// for a raised exception and Lambda's own for a crash or a timeout.
func parseFunctionError(res Invocation) *ErrorRecord {
	var fe runtime.FunctionError
	if err := json.Unmarshal(res.Payload, &fe); err != nil || fe.ErrorType == "" {
		return &ErrorRecord{Type: res.FunctionError, Message: snippet(res.Payload)}
	}
	lines := make([]string, len(fe.StackTrace))
	for i, l := range fe.StackTrace {
		lines[i] = strings.TrimRight(l, "\n")
	}
	return &ErrorRecord{Type: fe.ErrorType, Message: fe.ErrorMessage, Traceback: strings.Join(lines, "\n")}
}

func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "nothing"
	}
	if len(b) > 512 {
		return strings.ToValidUTF8(string(b[:512]), "") + "..."
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Cached finds, without invoking anything, the operators of p whose output
// for this run's cache key is already stored, with their records as a run
// would give them: what a run on Step Functions need not invoke. A rerun
// has none.
func (p *Prepared) Cached(ctx context.Context, store Store) (map[string]*OperatorRecord, error) {
	out := map[string]*OperatorRecord{}
	if p.req.Rerun || p.req.Operator != "" {
		return out, nil
	}
	e := &executor{store: store, dag: p.dag, req: p.req, params: p.Parameters, input: p.Input, accepts: map[string]*runtime.Accepts{}}
	keys := map[string]*string{}
	// key is an operator's cache key, from its inputs' keys: known only when
	// what each of them takes is known, as in a run before anything is invoked.
	var key func(name string) (string, error)
	key = func(name string) (string, error) {
		if k, ok := keys[name]; ok {
			return *k, nil
		}
		m := p.dag.ops[name]
		j := job{name: name}
		for _, in := range m.Inputs {
			k, err := key(in)
			if err != nil {
				return "", err
			}
			j.inputs = append(j.inputs, input{name: in, key: k})
		}
		accepts, err := e.acceptsOf(ctx, e.acceptsSlot(m))
		if err != nil {
			return "", err
		}
		k := e.key(m, accepts, j)
		keys[name] = &k
		if k == "" {
			return "", nil
		}
		hit, err := e.cached(ctx, k, OperatorRecord{FunctionName: m.FunctionName, ImageURI: m.ImageURI, Lineage: m.Lineage})
		if err != nil {
			return "", err
		}
		if hit != nil {
			out[name] = hit
		}
		return k, nil
	}
	for _, name := range p.Selected {
		if _, err := key(name); err != nil {
			return nil, fmt.Errorf("reading the cache: %w", err)
		}
	}
	return out, nil
}

// ServerResults are records as the results a server-side run passes on:
// where the output is, never the output.
func ServerResults(ops map[string]*OperatorRecord) map[string]runtime.ServerResult {
	out := make(map[string]runtime.ServerResult, len(ops))
	for name, op := range ops {
		out[name] = runtime.ServerResult{
			Status: op.Status, CacheKey: op.CacheKey, CachedFrom: op.CachedFrom, OutputKey: op.OutputKey,
			ContentType: op.ContentType, SizeBytes: op.SizeBytes,
		}
	}
	return out
}
