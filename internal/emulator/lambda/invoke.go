package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

// Lambda's payload quotas.
const (
	maxSyncPayload  = 6291456 // RequestResponse request
	maxAsyncPayload = 1048576 // Event request
	maxResponse     = 6291556 // function response
	logTailBytes    = 4096
)

type invokeInput struct {
	FunctionName   string `http:"label=FunctionName"`
	Qualifier      string `http:"query=Qualifier"`
	InvocationType string `http:"header=X-Amz-Invocation-Type"`
	LogType        string `http:"header=X-Amz-Log-Type"`
	ClientContext  string `http:"header=X-Amz-Client-Context"`
	Payload        []byte `http:"payload"`
}

// invoke answers with the function's own payload and headers, so it writes
// its success itself.
func (s *Service) invoke(c *awsproto.Call, in *invokeInput) (any, error) {
	f, e := s.lookup(in.FunctionName, in.Qualifier)
	if e != nil {
		return nil, e
	}
	invType := in.InvocationType
	if invType == "" {
		invType = "RequestResponse"
	}
	logType := in.LogType
	var v awsproto.Validation
	v.Enum(&invType, "invocationType", "Event", "RequestResponse", "DryRun")
	if logType != "" {
		v.Enum(&logType, "logType", "None", "Tail")
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	limit := maxSyncPayload
	if invType == "Event" {
		limit = maxAsyncPayload
	}
	payload := in.Payload
	if e := checkPayload(payload, limit); e != nil {
		return nil, e
	}

	if invType == "DryRun" {
		if _, _, e := s.ready(f); e != nil {
			return nil, e
		}
		w := c.Writer
		w.Header().Set("X-Amzn-RequestId", awsproto.RequestID())
		w.WriteHeader(http.StatusNoContent)
		return nil, nil
	}
	if invType == "Event" {
		spec, ctx, e := s.ready(f)
		if e != nil {
			return nil, e
		}
		reqID := awsproto.RequestID()
		if e := s.queueEvent(ctx, f, *spec, runner.Request{ID: reqID, Payload: payload, ClientContext: in.ClientContext}); e != nil {
			return nil, e
		}
		w := c.Writer
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.WriteHeader(http.StatusAccepted)
		return nil, nil
	}

	// The invocation runs to its end even if the caller hangs up, as on Lambda.
	res, e := s.invokeSync(context.Background(), f, payload, in.ClientContext)
	if e != nil {
		return nil, e
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", res.RequestID)
	h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(runner.Tail(res.log, logTailBytes)))
	}
	h.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	c.Writer.WriteHeader(http.StatusOK)
	_, _ = c.Writer.Write(res.Payload)
	return nil, nil
}

// ready checks that f can be invoked now and returns what runs it: the
// function's live configuration and the service's context.
func (s *Service) ready(f *function) (*runner.Spec, context.Context, *awsproto.Error) {
	s.checkImageExists(f)
	s.mu.Lock()
	state, spec, ctx, closed := f.State, f.Live, s.ctx, s.closed
	gone := s.functions[f.Name] != f
	s.mu.Unlock()
	switch {
	case gone:
		return nil, nil, notFound(s.arn(f.Name))
	case closed:
		return nil, nil, serviceError("the emulator is shutting down")
	case state != stateActive || spec == nil:
		// As Lambda: a Pending function cannot be invoked.
		return nil, nil, conflict("The operation cannot be performed at this time. The function is currently in the following state: " + state)
	}
	return spec, ctx, nil
}

// InvokeResult is a synchronous invocation's answer, as Lambda's Invoke API
// gives it: the function's payload, or its error document with
// FunctionError "Unhandled".
type InvokeResult struct {
	Payload         []byte
	FunctionError   string
	ExecutedVersion string
	RequestID       string
	StatusCode      int
	log             []byte
}

// Invoke runs a RequestResponse invocation of the named function (a name,
// partial ARN or ARN) in-process, as another AWS service calls Lambda (Step
// Functions' lambda:invoke). Ending ctx ends the invocation and discards
// its container. Lambda's own refusals (ResourceNotFoundException,
// TooManyRequestsException, ResourceConflictException, ServiceException)
// come back as *awsproto.Error; a function error is a result.
func (s *Service) Invoke(ctx context.Context, functionName string, payload []byte) (*InvokeResult, error) {
	f, e := s.lookup(functionName, "")
	if e != nil {
		return nil, e
	}
	if e := checkPayload(payload, maxSyncPayload); e != nil {
		return nil, e
	}
	res, e := s.invokeSync(ctx, f, payload, "")
	if e != nil {
		return nil, e
	}
	return res, nil
}

// invokeSync runs one RequestResponse invocation in an execution slot. It
// ends when the function does, when the service is reset or closed, or
// when ctx ends.
func (s *Service) invokeSync(ctx context.Context, f *function, payload []byte, clientContext string) (*InvokeResult, *awsproto.Error) {
	spec, sctx, e := s.ready(f)
	if e != nil {
		return nil, e
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return nil, throttled()
	}
	defer func() { <-s.slots }()
	release, e := s.acquireReserved(f)
	if e != nil {
		return nil, e
	}
	defer release()
	s.mu.Lock()
	s.invocations[f.Name]++
	group := f.logGroup()
	s.mu.Unlock()

	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(sctx, cancel)
	defer stop()
	reqID := awsproto.RequestID()
	res, err := s.run.Invoke(ictx, *spec, runner.Request{ID: reqID, Payload: payload, ClientContext: clientContext})
	if err != nil {
		s.opts.Logf("lambda: invoke %s: %v", f.Name, err)
		return nil, serviceError("%s", err.Error())
	}
	s.writeLog(group, res.Log)
	body, fnErr := res.Payload, res.FunctionError
	if len(body) > maxResponse {
		fnErr = "Unhandled"
		body, _ = json.Marshal(map[string]string{
			"errorMessage": fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponse),
			"errorType":    "Function.ResponseSizeTooLarge",
		})
	}
	return &InvokeResult{
		Payload: body, FunctionError: fnErr, ExecutedVersion: spec.Version,
		RequestID: reqID, StatusCode: http.StatusOK, log: res.Log,
	}, nil
}

// InvokeAsync queues an asynchronous (Event) invocation of a function, by
// name or ARN, as Invoke with InvocationType Event does, for callers inside
// the emulator such as EventBridge Scheduler's Lambda targets. It returns
// the request id, or the *awsproto.Error Invoke would answer with.
func (s *Service) InvokeAsync(function string, payload []byte) (string, error) {
	f, e := s.lookup(function, "")
	if e != nil {
		return "", e
	}
	if e := checkPayload(payload, maxAsyncPayload); e != nil {
		return "", e
	}
	spec, ctx, e := s.ready(f)
	if e != nil {
		return "", e
	}
	id := awsproto.RequestID()
	if e := s.queueEvent(ctx, f, *spec, runner.Request{ID: id, Payload: payload}); e != nil {
		return "", e
	}
	return id, nil
}

// checkPayload holds an invocation's payload to Lambda's quota and to JSON.
func checkPayload(payload []byte, limit int) *awsproto.Error {
	if len(payload) > limit {
		return awsproto.Errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if len(bytes.TrimSpace(payload)) > 0 && !json.Valid(payload) {
		return invalidContent("Could not parse request body into json: Could not parse payload into json")
	}
	return nil
}

// queueEvent counts an Event invocation and starts it in the background.
func (s *Service) queueEvent(ctx context.Context, f *function, spec runner.Spec, req runner.Request) *awsproto.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return serviceError("the emulator is shutting down")
	}
	s.invocations[f.Name]++
	s.async.Add(1)
	go s.runAsync(ctx, spec, req, f.logGroup())
	return nil
}

// runAsync runs an Event invocation. It waits for a free execution slot
// rather than failing, as Lambda's event queue does.
func (s *Service) runAsync(ctx context.Context, spec runner.Spec, req runner.Request, group string) {
	defer s.async.Done()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return // reset or closed while queued
	}
	defer func() { <-s.slots }()
	res, err := s.run.Invoke(ctx, spec, req)
	if err == nil {
		s.writeLog(group, res.Log)
	}
	switch {
	case err != nil:
		s.opts.Logf("lambda: async invoke %s (%s): %v", spec.Function, req.ID, err)
	case res.FunctionError != "":
		s.opts.Logf("lambda: async invoke %s (%s) failed: %s", spec.Function, req.ID, res.Payload)
	}
}
