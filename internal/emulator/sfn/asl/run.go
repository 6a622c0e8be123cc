package asl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Failure is an error as states raise it and Retry and Catch match it: an
// error name and a cause.
type Failure struct {
	Error, Cause string
}

// Names of the errors the interpreter raises.
const (
	ErrALL                = "States.ALL"
	ErrRuntime            = "States.Runtime"
	ErrTimeout            = "States.Timeout"
	ErrTaskFailed         = "States.TaskFailed"
	ErrNoChoiceMatched    = "States.NoChoiceMatched"
	ErrResultPathMatch    = "States.ResultPathMatchFailure"
	ErrDataLimitExceeded  = "States.DataLimitExceeded"
	timestampFormatMillis = "2006-01-02T15:04:05.000Z"
)

// matches reports whether a retrier's or catcher's ErrorEquals covers the
// error. States.ALL covers everything but States.Runtime (which nothing
// retries or catches); States.TaskFailed everything but States.Timeout.
func matches(names []string, errName string) bool {
	if errName == ErrRuntime || errName == ErrDataLimitExceeded {
		return false
	}
	for _, n := range names {
		switch {
		case n == errName:
			return true
		case n == ErrALL:
			return true
		case n == ErrTaskFailed && errName != ErrTimeout:
			return true
		}
	}
	return false
}

// Event is a history event the interpreter records; the service numbers it
// and gives it its time and the API's shape.
type Event struct {
	Type     string // e.g. TaskStateEntered, TaskScheduled
	Previous int64
	// State events.
	Name          string
	Input, Output *string
	// Task events.
	Resource, ResourceType string
	Parameters             *string
	TimeoutSeconds         int64
	// Failures.
	Error, Cause *string
}

// Runtime is what an execution needs from the service around it.
type Runtime interface {
	// Invoke runs a Task's resource with its effective parameters. It
	// returns when ctx ends, whatever the resource is doing.
	Invoke(ctx context.Context, resource string, parameters any) (result any, failure *Failure)
	// Record appends a history event and returns its id.
	Record(Event) int64
}

// ExecutionContext is what the context object ($$) says of the execution.
type ExecutionContext struct {
	ExecutionID, ExecutionName, RoleArn string
	StartTime                           time.Time
	StateMachineID, StateMachineName    string
}

// Run interprets the definition with input until it ends or ctx does.
// prev is the previous event id of the first state's entry (AWS gives 0). A failed execution returns
// its failure; one ended by ctx returns ctx's error (its cause tells a stop
// from a timeout), and has recorded the abort of the states that ran.
func Run(ctx context.Context, def *Definition, input any, ec ExecutionContext, rt Runtime, prev int64) (output any, failure *Failure, err error) {
	r := &runner{rt: rt, ec: ec, input: clone(input)}
	out, f, _ := r.states(ctx, def.top, clone(input), prev)
	if ctx.Err() != nil {
		return nil, nil, context.Cause(ctx)
	}
	if f != nil {
		return nil, f, nil
	}
	return out, nil, nil
}

type runner struct {
	rt    Runtime
	ec    ExecutionContext
	input any // the execution's input, for $$.Execution.Input
}

// errStop marks a failure caused by the end of ctx: nothing retries or
// catches it.
var errStop = &Failure{Error: "States.Aborted"}

func (r *runner) record(ev Event) int64 { return r.rt.Record(ev) }

func text(v any) *string {
	s := Marshal(v)
	return &s
}

func str(s string) *string { return &s }

// states runs a container from its StartAt to its end.
func (r *runner) states(ctx context.Context, c *container, input any, prev int64) (any, *Failure, int64) {
	name := c.startAt
	for {
		if ctx.Err() != nil {
			return nil, errStop, prev
		}
		st := c.states[name]
		out, next, last, f := r.state(ctx, st, input, prev)
		if f != nil {
			return nil, f, last
		}
		if next == "" {
			return out, nil, last
		}
		input, name, prev = out, next, last
	}
}

// contextObject builds $$ for a state.
func (r *runner) contextObject(st *State, entered time.Time, retries int) any {
	exec := NewObject()
	exec.Set("Id", r.ec.ExecutionID)
	exec.Set("Input", clone(r.input))
	exec.Set("StartTime", r.ec.StartTime.UTC().Format(timestampFormatMillis))
	exec.Set("Name", r.ec.ExecutionName)
	exec.Set("RoleArn", r.ec.RoleArn)
	exec.Set("RedriveCount", number(0))
	state := NewObject()
	state.Set("EnteredTime", entered.UTC().Format(timestampFormatMillis))
	state.Set("Name", st.Name)
	state.Set("RetryCount", number(int64(retries)))
	sm := NewObject()
	sm.Set("Id", r.ec.StateMachineID)
	sm.Set("Name", r.ec.StateMachineName)
	o := NewObject()
	o.Set("Execution", exec)
	o.Set("State", state)
	o.Set("StateMachine", sm)
	return o
}

// runtimeFailure is States.Runtime, worded as AWS words it.
func runtimeFailure(st *State, entered int64, msg string) *Failure {
	return &Failure{Error: ErrRuntime, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", st.Name, entered, msg)}
}

// selectPath applies InputPath to the raw input, or OutputPath to the
// state's output: absent keeps v, null is {}.
func selectPath(st *State, p optPath, v any, entered int64) (any, *Failure) {
	switch {
	case !p.set:
		return v, nil
	case p.null:
		return NewObject(), nil
	}
	got, ok := p.path.get(v)
	if !ok {
		return nil, runtimeFailure(st, entered, fmt.Sprintf("Invalid path '%s' : No results for path: %s", p.path, p.path.normalized()))
	}
	return got, nil
}

// resultPath combines the raw input and the result.
func resultPath(st *State, rp optPath, raw, result any, entered int64) (any, *Failure) {
	switch {
	case !rp.set:
		return result, nil
	case rp.null:
		return raw, nil
	}
	out, err := rp.path.set(clone(raw), result)
	if err != nil {
		return nil, &Failure{Error: ErrResultPathMatch, Cause: fmt.Sprintf("Unable to apply ReferencePath %s to input %s", rp.path, Marshal(raw))}
	}
	return out, nil
}

// payload evaluates a Payload Template.
func (r *runner) payload(st *State, t *template, input any, entered time.Time, enteredID int64, retries int) (any, *Failure) {
	if t == nil {
		return input, nil
	}
	v, err := t.eval(input, r.contextObject(st, entered, retries))
	if err != nil {
		return nil, runtimeFailure(st, enteredID, err.Error())
	}
	return v, nil
}

// state runs one state: its entered event, its work with retries and
// catchers, and its exited event. next is "" when the state ends its
// container.
func (r *runner) state(ctx context.Context, st *State, raw any, prev int64) (output any, next string, last int64, f *Failure) {
	enteredType := st.Type + "StateEntered"
	entered := r.record(Event{Type: enteredType, Previous: prev, Name: st.Name, Input: text(raw)})
	enteredAt := time.Now()
	last = entered

	exit := func(out any, next string) (any, string, int64, *Failure) {
		id := r.record(Event{Type: st.Type + "StateExited", Previous: last, Name: st.Name, Output: text(out)})
		return out, next, id, nil
	}
	next = st.Next
	if st.End {
		next = ""
	}

	switch st.Type {
	case "Fail":
		f := &Failure{Error: st.Error, Cause: st.Cause}
		return nil, "", last, f
	case "Succeed":
		eff, f := selectPath(st, st.InputPath, raw, entered)
		if f != nil {
			return nil, "", last, f
		}
		out, f := selectPath(st, st.OutputPath, eff, entered)
		if f != nil {
			return nil, "", last, f
		}
		return exit(out, "")
	case "Choice":
		eff, f := selectPath(st, st.InputPath, raw, entered)
		if f != nil {
			return nil, "", last, f
		}
		ctxObj := r.contextObject(st, enteredAt, 0)
		target := ""
		for _, rule := range st.Choices {
			ok, err := rule.match(eff, ctxObj)
			if err != nil {
				return nil, "", last, runtimeFailure(st, entered, err.Error())
			}
			if ok {
				target = rule.Next
				break
			}
		}
		if target == "" {
			if st.Default == "" {
				return nil, "", last, &Failure{Error: ErrNoChoiceMatched, Cause: fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). No Choice Rule matched, and no Default Rule was specified", st.Name, entered)}
			}
			target = st.Default
		}
		out, f := selectPath(st, st.OutputPath, eff, entered)
		if f != nil {
			return nil, "", last, f
		}
		return exit(out, target)
	case "Pass":
		eff, f := selectPath(st, st.InputPath, raw, entered)
		if f != nil {
			return nil, "", last, f
		}
		result, f := r.payload(st, st.Parameters, eff, enteredAt, entered, 0)
		if f != nil {
			return nil, "", last, f
		}
		if st.HasResult {
			result = clone(st.Result)
		}
		out, f := resultPath(st, st.ResultPath, raw, result, entered)
		if f != nil {
			return nil, "", last, f
		}
		if out, f = selectPath(st, st.OutputPath, out, entered); f != nil {
			return nil, "", last, f
		}
		return exit(out, next)
	}

	// Task and Parallel: attempts, retriers and catchers.
	counts := make([]int64, len(st.Retry))
	retries := 0
	for {
		out, id, f := r.attempt(ctx, st, raw, enteredAt, entered, last, retries)
		last = id
		if f == nil {
			return exit(out, next)
		}
		if f == errStop {
			abortType := st.Type + "StateAborted"
			last = r.record(Event{Type: abortType, Previous: last})
			return nil, "", last, f
		}
		if i := slices.IndexFunc(st.Retry, func(rt Retrier) bool { return matches(rt.ErrorEquals, f.Error) }); i >= 0 && counts[i] < st.Retry[i].MaxAttempts {
			delay := backoff(st.Retry[i], counts[i])
			counts[i]++
			retries++
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				last = r.record(Event{Type: st.Type + "StateAborted", Previous: last})
				return nil, "", last, errStop
			}
			continue
		}
		for _, c := range st.Catch {
			if !matches(c.ErrorEquals, f.Error) {
				continue
			}
			errOut := NewObject()
			errOut.Set("Error", f.Error)
			errOut.Set("Cause", f.Cause)
			out, rf := resultPath(st, c.ResultPath, raw, errOut, entered)
			if rf != nil {
				return nil, "", last, rf
			}
			return exit(out, c.Next)
		}
		return nil, "", last, f
	}
}

// backoff is a retrier's wait before its attempt-th retry (0-based):
// IntervalSeconds × BackoffRate^attempt, capped by MaxDelaySeconds, and
// drawn from [0, that] with full jitter.
func backoff(r Retrier, attempt int64) time.Duration {
	secs := float64(r.IntervalSeconds) * math.Pow(r.BackoffRate, float64(attempt))
	if r.MaxDelaySeconds > 0 && secs > float64(r.MaxDelaySeconds) {
		secs = float64(r.MaxDelaySeconds)
	}
	if r.FullJitter {
		secs = rand.Float64() * secs
	}
	return time.Duration(secs * float64(time.Second))
}

// attempt runs a Task or Parallel once, from its input to its output
// (before OutputPath's errors are matched, as they are the state's own).
func (r *runner) attempt(ctx context.Context, st *State, raw any, enteredAt time.Time, entered, prev int64, retries int) (any, int64, *Failure) {
	eff, f := selectPath(st, st.InputPath, raw, entered)
	if f != nil {
		return nil, prev, f
	}
	params, f := r.payload(st, st.Parameters, eff, enteredAt, entered, retries)
	if f != nil {
		return nil, prev, f
	}
	var result any
	last := prev
	if st.Type == "Task" {
		result, last, f = r.task(ctx, st, params, prev)
	} else {
		result, last, f = r.parallel(ctx, st, params, prev)
	}
	if f != nil {
		return nil, last, f
	}
	if st.ResultSelector != nil {
		if result, f = r.payload(st, st.ResultSelector, result, enteredAt, entered, retries); f != nil {
			return nil, last, f
		}
	}
	out, f := resultPath(st, st.ResultPath, raw, result, entered)
	if f != nil {
		return nil, last, f
	}
	out, f = selectPath(st, st.OutputPath, out, entered)
	return out, last, f
}

// taskResource splits a resource ARN into the history's resourceType and
// resource: arn:aws:states:::lambda:invoke is lambda and invoke.
func taskResource(arn string) (resourceType, resource string) {
	const prefix = "arn:aws:states:::"
	rest := arn[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == ':' {
			return rest[:i], rest[i+1:]
		}
	}
	return rest, ""
}

// task invokes the Task's resource under its TimeoutSeconds.
func (r *runner) task(ctx context.Context, st *State, params any, prev int64) (any, int64, *Failure) {
	rtype, res := taskResource(st.Resource)
	sched := Event{Type: "TaskScheduled", Previous: prev, ResourceType: rtype, Resource: res, Parameters: text(params), TimeoutSeconds: st.TimeoutSeconds}
	id := r.record(sched)
	id = r.record(Event{Type: "TaskStarted", Previous: id, ResourceType: rtype, Resource: res})
	tctx := ctx
	if st.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	result, f := r.rt.Invoke(tctx, st.Resource, params)
	switch {
	case ctx.Err() != nil:
		return nil, id, errStop
	case tctx.Err() != nil && errors.Is(tctx.Err(), context.DeadlineExceeded):
		f = &Failure{Error: ErrTimeout, Cause: ""}
		id = r.record(Event{Type: "TaskTimedOut", Previous: id, ResourceType: rtype, Resource: res, Error: str(f.Error), Cause: str(f.Cause)})
		return nil, id, f
	case f != nil:
		id = r.record(Event{Type: "TaskFailed", Previous: id, ResourceType: rtype, Resource: res, Error: str(f.Error), Cause: str(f.Cause)})
		return nil, id, f
	}
	id = r.record(Event{Type: "TaskSucceeded", Previous: id, ResourceType: rtype, Resource: res, Output: text(result)})
	return result, id, nil
}

// parallel runs every branch at once on its own copy of the input. The
// first branch to fail stops the others and fails the state with its
// error; otherwise the result is the branches' outputs in order.
func (r *runner) parallel(ctx context.Context, st *State, params any, prev int64) (any, int64, *Failure) {
	started := r.record(Event{Type: "ParallelStateStarted", Previous: prev})
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		out  any
		f    *Failure
		last int64
	}
	results := make([]outcome, len(st.branches))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first *Failure
	)
	for i, b := range st.branches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, f, last := r.states(bctx, b, clone(params), started)
			results[i] = outcome{out, f, last}
			if f != nil && f != errStop {
				once.Do(func() {
					first = f
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, started, errStop
	}
	if first != nil {
		id := r.record(Event{Type: "ParallelStateFailed", Previous: started, Error: str(first.Error), Cause: str(first.Cause)})
		return nil, id, first
	}
	outs := make([]any, len(results))
	for i, o := range results {
		outs[i] = o.out
	}
	id := r.record(Event{Type: "ParallelStateSucceeded", Previous: started})
	return outs, id, nil
}
