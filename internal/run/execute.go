package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// finalWriteTimeout bounds writing the record after the caller's context
// has ended, so a timed-out run still leaves its record.
const finalWriteTimeout = 30 * time.Second

// Execute runs a workflow (or one operator of it) and returns its record.
//
// A run in which operators failed is not a Go error: the record says
// "failed" and names them. Errors are for runs that could not be made
// (missing manifests, an invalid DAG, an unwritable store) and for a context
// that ended mid-run, in which case the record so far is returned too.
func Execute(ctx context.Context, store Store, inv Invoker, req Request) (*Record, error) {
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
	maxParallel := req.MaxParallel
	if maxParallel == 0 {
		maxParallel = DefaultMaxParallel
	}

	wf, manifests, err := loadWorkflow(ctx, store, req.Workflow)
	if err != nil {
		return nil, err
	}
	d, err := newDAG(req.Workflow, manifests)
	if err != nil {
		return nil, err
	}
	selected, err := d.selection(req)
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
	ident, baseID, err := identity(req, d, selected, params, input)
	if err != nil {
		return nil, err
	}

	prefix := store.Prefix()
	id := baseID
	if req.Rerun {
		id = freshID(baseID, time.Now())
	} else {
		var prev Record
		found, err := store.GetJSON(ctx, artifacts.RunKey(prefix, req.Workflow, baseID), &prev)
		if err != nil {
			return nil, fmt.Errorf("reading run record %s: %w", store.URI(artifacts.RunKey(prefix, req.Workflow, baseID)), err)
		}
		if found && prev.Status == StatusSucceeded && prev.Identity == ident {
			complete, err := outputsExist(ctx, store, &prev)
			if err != nil {
				return nil, err
			}
			if complete {
				prev.Reused = true
				return &prev, nil
			}
			// An output is gone (deleted, or expired by a lifecycle rule): run again.
		}
	}

	start := time.Now()
	rec := &Record{
		ID: id, Workflow: req.Workflow, Operator: req.Operator, Targets: req.Targets, Identity: ident,
		Status: StatusRunning, StartedAt: start.UTC(), Parameters: params,
		Operators: make(map[string]*OperatorRecord, len(selected)),
	}
	for _, name := range selected {
		m := d.ops[name]
		rec.Operators[name] = &OperatorRecord{Status: StatusPending, FunctionName: m.FunctionName, ImageURI: m.ImageURI}
	}
	recKey := artifacts.RunKey(prefix, req.Workflow, id)
	// Written first so an unwritable store fails the run before anything is paid for.
	if err := store.PutJSON(ctx, recKey, rec); err != nil {
		return nil, fmt.Errorf("writing run record %s: %w", store.URI(recKey), err)
	}

	e := &executor{store: store, inv: inv, dag: d, rec: rec, req: req, params: params, input: input, max: maxParallel}
	e.run(ctx)

	for _, name := range sortedKeys(rec.Operators) {
		if w := rec.Operators[name].Warning; w != "" {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("operator %q: %s", name, w))
		}
	}
	rec.FinishedAt = time.Now().UTC()
	rec.DurationMS = time.Since(start).Milliseconds()
	rec.Status = StatusSucceeded
	for _, op := range rec.Operators {
		if op.Status != StatusSucceeded {
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
		if err := store.PutJSON(writeCtx, artifacts.RunKey(prefix, req.Workflow, baseID), rec); err != nil {
			errs = append(errs, fmt.Errorf("writing run record %s: %w", store.URI(artifacts.RunKey(prefix, req.Workflow, baseID)), err))
		}
	}
	return rec, errors.Join(errs...)
}

// outputsExist reports whether every output a record names is still stored.
func outputsExist(ctx context.Context, store Store, rec *Record) (bool, error) {
	for _, name := range sortedKeys(rec.Operators) {
		key := artifacts.OutputKey(store.Prefix(), rec.Workflow, rec.ID, name)
		ok, err := store.Exists(ctx, key)
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
// invocation works on its own copy and hands it back.
type executor struct {
	store  Store
	inv    Invoker
	dag    *dag
	rec    *Record
	req    Request
	params map[string]json.RawMessage
	input  json.RawMessage
	max    int
}

type job struct {
	name   string
	inputs []runtime.Input // operator and content type; URLs are presigned at start
}

type result struct {
	name string
	op   OperatorRecord
}

func (e *executor) run(ctx context.Context) {
	// waiting counts each operator's distinct upstream operators not yet succeeded.
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
					j.inputs = append(j.inputs, runtime.Input{Operator: in, ContentType: e.rec.Operators[in].ContentType})
				}
			}
			base := *op
			running++
			go func() { results <- result{name, e.invoke(ctx, j, base)} }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		*e.rec.Operators[r.name] = r.op
		if r.op.Status == StatusSucceeded {
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

// invoke runs one operator and returns its record.
func (e *executor) invoke(ctx context.Context, j job, op OperatorRecord) OperatorRecord {
	start := time.Now()
	op = e.call(ctx, j, op)
	op.StartedAt = start.UTC()
	op.FinishedAt = time.Now().UTC()
	op.DurationMS = time.Since(start).Milliseconds()
	return op
}

func (e *executor) call(ctx context.Context, j job, op OperatorRecord) OperatorRecord {
	fail := func(typ, format string, args ...any) OperatorRecord {
		op.Status = StatusFailed
		op.Error = &ErrorRecord{Type: typ, Message: fmt.Sprintf(format, args...)}
		return op
	}

	prefix := e.store.Prefix()
	m := e.dag.ops[j.name]
	if err := e.inv.Verify(ctx, m); err != nil {
		return fail("Aqueduct.FunctionChanged", "%v", err)
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
		url, err := e.store.PresignGet(ctx, artifacts.OutputKey(prefix, e.req.Workflow, e.rec.ID, in.Operator), ttl)
		if err != nil {
			return fail("Aqueduct.PresignError", "presigning input %q: %v", in.Operator, err)
		}
		in.URL = url
		ev.Inputs = append(ev.Inputs, in)
	}
	outKey := artifacts.OutputKey(prefix, e.req.Workflow, e.rec.ID, j.name)
	url, err := e.store.PresignPut(ctx, outKey, ttl)
	if err != nil {
		return fail("Aqueduct.PresignError", "presigning the output: %v", err)
	}
	ev.Output = runtime.Output{URL: url, URI: e.store.URI(outKey)}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fail("Aqueduct.EventError", "encoding the event: %v", err)
	}

	res, err := e.inv.Invoke(ctx, op.FunctionName, payload)
	if err != nil {
		if ctx.Err() != nil {
			return fail("Aqueduct.Stopped", "the run was stopped while %q ran: %v", j.name, err)
		}
		return fail("Aqueduct.InvokeError", "%v", err)
	}
	op.LogTail = res.LogTail
	if res.FunctionError != "" {
		op.Status = StatusFailed
		op.Error = parseFunctionError(res)
		return op
	}

	var resp runtime.Response
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.Status != StatusSucceeded || resp.ContentType == "" {
		return fail("Aqueduct.BadResponse", "function %s answered %s, which is not the aqueduct runtime's response; is its image built by this provider?",
			op.FunctionName, snippet(res.Payload))
	}
	op.Status = StatusSucceeded
	op.OutputURI = e.store.URI(outKey)
	op.ContentType = resp.ContentType
	op.SizeBytes = resp.SizeBytes
	if resp.ContentType == runtime.ContentTypeJSON && len(resp.Preview) > 0 && len(resp.Preview) < runtime.PreviewLimit && json.Valid(resp.Preview) {
		op.Output = resp.Preview
	}
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
