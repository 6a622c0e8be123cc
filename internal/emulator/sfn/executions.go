package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn/asl"
)

const (
	statusRunning   = "RUNNING"
	statusSucceeded = "SUCCEEDED"
	statusFailed    = "FAILED"
	statusTimedOut  = "TIMED_OUT"
	statusAborted   = "ABORTED"
	maxInput        = 256 * 1024 // bytes, AWS's payload quota
)

// execution is one run of a state machine, and its history.
type execution struct {
	ARN        string     `json:"arn"`
	Name       string     `json:"name"`
	MachineARN string     `json:"state_machine_arn"`
	Status     string     `json:"status"`
	Input      string     `json:"input"`
	Output     *string    `json:"output,omitempty"`
	Error      *string    `json:"error,omitempty"`
	Cause      *string    `json:"cause,omitempty"`
	Start      time.Time  `json:"start"`
	Stop       *time.Time `json:"stop,omitempty"`
	Events     []event    `json:"events"`

	cancel     context.CancelCauseFunc // nil once it has ended
	done       chan struct{}
	stopError  *string // what StopExecution said
	stopCause  *string
	finishedAt time.Time
}

// event is a history event as the service keeps it.
type event struct {
	ID       int64     `json:"id"`
	Previous int64     `json:"previous"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`
	// asl.Event's details.
	Name           string  `json:"name,omitempty"`
	Input          *string `json:"input,omitempty"`
	Output         *string `json:"output,omitempty"`
	Resource       string  `json:"resource,omitempty"`
	ResourceType   string  `json:"resource_type,omitempty"`
	Parameters     *string `json:"parameters,omitempty"`
	TimeoutSeconds int64   `json:"timeout_seconds,omitempty"`
	Error          *string `json:"error,omitempty"`
	Cause          *string `json:"cause,omitempty"`
	RoleARN        string  `json:"role_arn,omitempty"`
}

// appendLocked numbers an event and adds it to the history. Holds s.mu.
func (x *execution) appendLocked(ev event) int64 {
	ev.ID = int64(len(x.Events)) + 1
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	x.Events = append(x.Events, ev)
	return ev.ID
}

// finish closes the execution with its last event. Holds s.mu.
func (x *execution) finish(status string, at time.Time, last event) {
	x.Status = status
	at = at.UTC()
	x.Stop = &at
	if n := len(x.Events); n > 0 && last.Previous == 0 {
		last.Previous = x.Events[n-1].ID
	}
	last.Time = at
	x.appendLocked(last)
	x.cancel = nil
}

// fromASL copies an interpreter event into the service's form.
func fromASL(ev asl.Event) event {
	return event{
		Type: ev.Type, Previous: ev.Previous, Name: ev.Name, Input: ev.Input, Output: ev.Output,
		Resource: ev.Resource, ResourceType: ev.ResourceType, Parameters: ev.Parameters,
		TimeoutSeconds: ev.TimeoutSeconds, Error: ev.Error, Cause: ev.Cause,
	}
}

type startExecutionIn struct {
	StateMachineARN string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Input           *string `json:"input"`
	TraceHeader     string  `json:"traceHeader"`
}

func (s *Service) startExecution(_ *awsproto.Call, in *startExecutionIn) (any, error) {
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	arn, start, err := s.StartExecution(in.StateMachineARN, in.Name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
}

// StartExecution starts an execution of a state machine, as the API does,
// for callers inside the emulator (EventBridge Scheduler's targets). An
// empty name is a new UUID. The same name and input while the execution
// runs is that execution; a different input, or any once it has closed,
// is ExecutionAlreadyExists. Errors are *awsproto.Error.
func (s *Service) StartExecution(machineARN, name, input string) (executionARN string, started time.Time, err error) {
	if name == "" {
		name = asl.NewUUID()
	}
	if e := checkName(name); e != nil {
		return "", time.Time{}, e
	}
	if len(input) > maxInput {
		return "", time.Time{}, awsproto.Errorf(http.StatusBadRequest, "InvalidExecutionInput", "Invalid Execution Input: the input is larger than %d bytes", maxInput)
	}
	inValue, perr := asl.Unmarshal([]byte(input))
	if perr != nil {
		return "", time.Time{}, awsproto.Errorf(http.StatusBadRequest, "InvalidExecutionInput", "Invalid Execution Input: %v", perr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.machineLocked(machineARN)
	if e != nil {
		return "", time.Time{}, e
	}
	if m.Status == machineDeleting {
		return "", time.Time{}, errMachineDeleting(m.ARN)
	}
	arn := s.executionARN(m.Name, name)
	if x := s.executions[arn]; x != nil {
		if x.Status == statusRunning && sameInput(x.Input, input) {
			return x.ARN, x.Start, nil
		}
		return "", time.Time{}, awsproto.Errorf(http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	if s.closed {
		return "", time.Time{}, awsproto.Errorf(http.StatusInternalServerError, "InternalFailure", "the emulator is shutting down")
	}
	x := &execution{
		ARN: arn, Name: name, MachineARN: m.ARN, Status: statusRunning, Input: input,
		Start: time.Now().UTC(), done: make(chan struct{}),
	}
	x.appendLocked(event{Type: "ExecutionStarted", Time: x.Start, Input: &x.Input, RoleARN: m.RoleARN})
	ctx, cancel := context.WithCancelCause(context.Background())
	x.cancel = cancel
	s.executions[arn] = x
	s.saveLocked()
	ec := asl.ExecutionContext{
		ExecutionID: arn, ExecutionName: name, RoleArn: m.RoleARN, StartTime: x.Start,
		StateMachineID: m.ARN, StateMachineName: m.Name,
	}
	s.running.Add(1)
	go s.run(ctx, x, m.def, inValue, ec)
	return x.ARN, x.Start, nil
}

// sameInput compares two inputs as JSON values.
func sameInput(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// run interprets the execution in the background and closes it with its
// outcome.
func (s *Service) run(ctx context.Context, x *execution, def *asl.Definition, input any, ec asl.ExecutionContext) {
	defer s.running.Done()
	defer close(x.done)
	if def.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(def.TimeoutSeconds)*time.Second, errTimedOut)
		defer cancel()
	}
	// As in AWS's histories, the first state's entry has no previous event.
	out, failure, err := asl.Run(ctx, def, input, ec, &taskRuntime{s: s, x: x, role: ec.RoleArn}, 0)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	switch {
	case errors.Is(err, errTimedOut):
		x.Error, x.Cause = ptr(asl.ErrTimeout), ptr(fmt.Sprintf("The execution exceeded its TimeoutSeconds of %d", def.TimeoutSeconds))
		x.finish(statusTimedOut, now, event{Type: "ExecutionTimedOut", Error: x.Error, Cause: x.Cause})
	case errors.Is(err, errDeleted):
		name := ec.StateMachineName
		x.Error, x.Cause = ptr(asl.ErrRuntime), ptr(fmt.Sprintf("State machine %s has been deleted.", name))
		x.finish(statusFailed, now, event{Type: "ExecutionFailed", Error: x.Error, Cause: x.Cause})
	case err != nil:
		x.Error, x.Cause = x.stopError, x.stopCause
		if x.Cause == nil && !errors.Is(err, errStopped) {
			x.Cause = ptr(err.Error())
		}
		x.finish(statusAborted, now, event{Type: "ExecutionAborted", Error: x.Error, Cause: x.Cause})
	case failure != nil:
		// A Fail state may leave out Error and Cause; so does the answer.
		if failure.Error != "" {
			x.Error = ptr(failure.Error)
		}
		if failure.Cause != "" {
			x.Cause = ptr(failure.Cause)
		}
		x.finish(statusFailed, now, event{Type: "ExecutionFailed", Error: x.Error, Cause: x.Cause})
	default:
		x.Output = ptr(asl.Marshal(out))
		x.finish(statusSucceeded, now, event{Type: "ExecutionSucceeded", Output: x.Output})
	}
	if m := s.machines[x.MachineARN]; m != nil {
		s.finishDeletionLocked(m)
	}
	s.saveLocked()
}

// executionLocked finds an execution by ARN. Hold s.mu.
func (s *Service) executionLocked(arn string) (*execution, *awsproto.Error) {
	if _, e := parseARN(arn, "execution"); e != nil {
		return nil, e
	}
	x := s.executions[arn]
	if x == nil {
		return nil, errExecutionNotFound(arn)
	}
	return x, nil
}

type executionIn struct {
	ExecutionARN string `json:"executionArn"`
}

type dataDetails struct {
	Included  bool `json:"included,omitempty"`
	Truncated bool `json:"truncated"`
}

func (s *Service) describeExecution(_ *awsproto.Call, in *executionIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, e := s.executionLocked(in.ExecutionARN)
	if e != nil {
		return nil, e
	}
	out := map[string]any{
		"executionArn":    x.ARN,
		"stateMachineArn": x.MachineARN,
		"name":            x.Name,
		"status":          x.Status,
		"startDate":       epoch(x.Start),
		"input":           x.Input,
		"inputDetails":    map[string]bool{"included": true},
		"redriveCount":    0,
	}
	if x.Stop != nil {
		out["stopDate"] = epoch(*x.Stop)
	}
	if x.Output != nil {
		out["output"] = *x.Output
		out["outputDetails"] = map[string]bool{"included": true}
	}
	if x.Error != nil {
		out["error"] = *x.Error
	}
	if x.Cause != nil {
		out["cause"] = *x.Cause
	}
	return out, nil
}

type stopExecutionIn struct {
	ExecutionARN string  `json:"executionArn"`
	Error        *string `json:"error"`
	Cause        *string `json:"cause"`
}

// stopExecution aborts a running execution: what it runs is cancelled
// (a Lambda invocation's container is discarded), and it is ABORTED when
// the call returns. A closed execution is left as it is.
func (s *Service) stopExecution(_ *awsproto.Call, in *stopExecutionIn) (any, error) {
	s.mu.Lock()
	x, e := s.executionLocked(in.ExecutionARN)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	cancel, done := x.cancel, x.done
	if cancel != nil {
		x.stopError, x.stopCause = in.Error, in.Cause
		cancel(errStopped)
	}
	s.mu.Unlock()
	if cancel != nil {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := time.Now()
	if x.Stop != nil {
		stop = *x.Stop
	}
	return map[string]any{"stopDate": epoch(stop)}, nil
}

type listExecutionsIn struct {
	StateMachineARN string  `json:"stateMachineArn"`
	MapRunARN       string  `json:"mapRunArn"`
	StatusFilter    string  `json:"statusFilter"`
	MaxResults      *int    `json:"maxResults"`
	NextToken       *string `json:"nextToken"`
	RedriveFilter   string  `json:"redriveFilter"`
}

// listExecutions lists a state machine's executions, the most recent
// first, optionally of one status.
func (s *Service) listExecutions(_ *awsproto.Call, in *listExecutionsIn) (any, error) {
	switch {
	case in.MapRunARN != "":
		return nil, errValidation("Map Runs are not emulated: list executions by stateMachineArn")
	case in.StateMachineARN == "":
		return nil, errValidation("Must provide a StateMachine ARN or MapRun ARN")
	}
	switch in.StatusFilter {
	case "", statusRunning, statusSucceeded, statusFailed, statusTimedOut, statusAborted, "PENDING_REDRIVE":
	default:
		return nil, errValidation("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]", in.StatusFilter)
	}
	size, after, e := readPage("executions", in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.machineLocked(in.StateMachineARN)
	if e != nil {
		return nil, e
	}
	// Newest first; the key orders ties by ARN.
	key := func(x *execution) string {
		return fmt.Sprintf("%020d|%s", (1<<62)-x.Start.UnixNano(), x.ARN)
	}
	var list []*execution
	for _, x := range s.executions {
		if x.MachineARN == m.ARN && (in.StatusFilter == "" || x.Status == in.StatusFilter) && key(x) > after {
			list = append(list, x)
		}
	}
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	type item struct {
		ExecutionARN    string `json:"executionArn"`
		StateMachineARN string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Status          string `json:"status"`
		StartDate       epoch  `json:"startDate"`
		StopDate        *epoch `json:"stopDate,omitempty"`
	}
	out := struct {
		Executions []item  `json:"executions"`
		NextToken  *string `json:"nextToken,omitempty"`
	}{Executions: []item{}}
	for i, x := range list {
		if i == size {
			out.NextToken = encodeToken("executions", key(list[i-1]))
			break
		}
		out.Executions = append(out.Executions, item{x.ARN, x.MachineARN, x.Name, x.Status, epoch(x.Start), epochPtr(x.Stop)})
	}
	return out, nil
}

type historyIn struct {
	ExecutionARN         string  `json:"executionArn"`
	MaxResults           *int    `json:"maxResults"`
	ReverseOrder         bool    `json:"reverseOrder"`
	NextToken            *string `json:"nextToken"`
	IncludeExecutionData *bool   `json:"includeExecutionData"`
}

// getExecutionHistory pages through the history, oldest first unless
// reverseOrder.
func (s *Service) getExecutionHistory(_ *awsproto.Call, in *historyIn) (any, error) {
	size, after, e := readPage("history", in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, e := s.executionLocked(in.ExecutionARN)
	if e != nil {
		return nil, e
	}
	var afterID int64
	if after != "" {
		afterID, _ = strconv.ParseInt(after, 10, 64)
	}
	events := append([]event(nil), x.Events...)
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	include := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	out := struct {
		Events    []map[string]any `json:"events"`
		NextToken *string          `json:"nextToken,omitempty"`
	}{Events: []map[string]any{}}
	for _, ev := range events {
		if afterID != 0 && ((!in.ReverseOrder && ev.ID <= afterID) || (in.ReverseOrder && ev.ID >= afterID)) {
			continue
		}
		if len(out.Events) == size {
			out.NextToken = encodeToken("history", strconv.FormatInt(out.Events[size-1]["id"].(int64), 10))
			break
		}
		out.Events = append(out.Events, s.historyEvent(ev, include))
	}
	return out, nil
}

// historyEvent is an event in the API's shape: its id, previous id, time,
// type and the details member its type carries.
func (s *Service) historyEvent(ev event, include bool) map[string]any {
	data := func(v *string) any {
		if !include || v == nil {
			return nil
		}
		return *v
	}
	details := map[string]any{}
	set := func(k string, v any) {
		if v != nil && v != "" {
			details[k] = v
		}
	}
	var member string
	switch ev.Type {
	case "ExecutionStarted":
		member = "executionStartedEventDetails"
		set("input", data(ev.Input))
		details["inputDetails"] = dataDetails{Truncated: false}
		set("roleArn", ev.RoleARN)
	case "ExecutionSucceeded":
		member = "executionSucceededEventDetails"
		set("output", data(ev.Output))
		details["outputDetails"] = dataDetails{Truncated: false}
	case "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut":
		member = map[string]string{"ExecutionFailed": "executionFailedEventDetails", "ExecutionAborted": "executionAbortedEventDetails", "ExecutionTimedOut": "executionTimedOutEventDetails"}[ev.Type]
		set("error", deref(ev.Error))
		set("cause", deref(ev.Cause))
	case "TaskScheduled":
		member = "taskScheduledEventDetails"
		set("resourceType", ev.ResourceType)
		set("resource", ev.Resource)
		set("region", s.region)
		set("parameters", data(ev.Parameters))
		if ev.TimeoutSeconds > 0 {
			details["timeoutInSeconds"] = ev.TimeoutSeconds
		}
	case "TaskStarted":
		member = "taskStartedEventDetails"
		set("resourceType", ev.ResourceType)
		set("resource", ev.Resource)
	case "TaskSucceeded":
		member = "taskSucceededEventDetails"
		set("resourceType", ev.ResourceType)
		set("resource", ev.Resource)
		set("output", data(ev.Output))
		details["outputDetails"] = dataDetails{Truncated: false}
	case "TaskFailed", "TaskTimedOut":
		member = map[string]string{"TaskFailed": "taskFailedEventDetails", "TaskTimedOut": "taskTimedOutEventDetails"}[ev.Type]
		set("resourceType", ev.ResourceType)
		set("resource", ev.Resource)
		set("error", deref(ev.Error))
		set("cause", deref(ev.Cause))
	default:
		switch n := len(ev.Type); {
		case n > 7 && ev.Type[n-7:] == "Entered":
			member = "stateEnteredEventDetails"
			set("name", ev.Name)
			set("input", data(ev.Input))
			details["inputDetails"] = dataDetails{Truncated: false}
		case n > 6 && ev.Type[n-6:] == "Exited":
			member = "stateExitedEventDetails"
			set("name", ev.Name)
			set("output", data(ev.Output))
			details["outputDetails"] = dataDetails{Truncated: false}
		}
	}
	out := map[string]any{
		"id":              ev.ID,
		"previousEventId": ev.Previous,
		"timestamp":       epoch(ev.Time),
		"type":            ev.Type,
	}
	if member != "" {
		out[member] = details
	}
	return out
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}
