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
	var v validation
	if invType != "RequestResponse" && invType != "Event" && invType != "DryRun" {
		v.add(invType, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if logType != "" && logType != "None" && logType != "Tail" {
		v.add(logType, "logType", "Member must satisfy enum value set: [None, Tail]")
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	limit := maxSyncPayload
	if invType == "Event" {
		limit = maxAsyncPayload
	}
	payload := in.Payload
	if len(payload) > limit {
		return nil, awsproto.Errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	if len(bytes.TrimSpace(payload)) > 0 && !json.Valid(payload) {
		return nil, invalidContent("Could not parse request body into json: Could not parse payload into json")
	}

	s.checkImageExists(f)
	s.mu.Lock()
	state, spec, ctx, closed := f.State, f.Live, s.ctx, s.closed
	if s.functions[f.Name] != f {
		s.mu.Unlock()
		return nil, notFound(s.arn(f.Name))
	}
	s.mu.Unlock()
	if closed {
		return nil, serviceError("the emulator is shutting down")
	}
	if state != stateActive || spec == nil {
		// As Lambda: a Pending function cannot be invoked.
		return nil, conflict("The operation cannot be performed at this time. The function is currently in the following state: " + state)
	}
	w := c.Writer
	reqID := awsproto.RequestID()
	req := runner.Request{ID: reqID, Payload: payload, ClientContext: in.ClientContext}

	switch invType {
	case "DryRun":
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.WriteHeader(http.StatusNoContent)
		return nil, nil
	case "Event":
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, serviceError("the emulator is shutting down")
		}
		s.invocations[f.Name]++
		s.async.Add(1)
		s.mu.Unlock()
		go s.runAsync(ctx, *spec, req)
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.WriteHeader(http.StatusAccepted)
		return nil, nil
	}

	select {
	case s.slots <- struct{}{}:
	default:
		return nil, throttled()
	}
	defer func() { <-s.slots }()
	s.mu.Lock()
	s.invocations[f.Name]++
	s.mu.Unlock()

	// The invocation runs to its end even if the caller hangs up, as on Lambda.
	res, err := s.run.Invoke(ctx, *spec, req)
	if err != nil {
		s.opts.Logf("lambda: invoke %s: %v", f.Name, err)
		return nil, serviceError("%s", err.Error())
	}
	body, fnErr := res.Payload, res.FunctionError
	if len(body) > maxResponse {
		fnErr = "Unhandled"
		body, _ = json.Marshal(map[string]string{
			"errorMessage": fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxResponse),
			"errorType":    "Function.ResponseSizeTooLarge",
		})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", reqID)
	h.Set("X-Amz-Executed-Version", spec.Version)
	if fnErr != "" {
		h.Set("X-Amz-Function-Error", fnErr)
	}
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(runner.Tail(res.Log, logTailBytes)))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil, nil
}

// runAsync runs an Event invocation. It waits for a free execution slot
// rather than failing, as Lambda's event queue does.
func (s *Service) runAsync(ctx context.Context, spec runner.Spec, req runner.Request) {
	defer s.async.Done()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return // reset or closed while queued
	}
	defer func() { <-s.slots }()
	res, err := s.run.Invoke(ctx, spec, req)
	switch {
	case err != nil:
		s.opts.Logf("lambda: async invoke %s (%s): %v", spec.Function, req.ID, err)
	case res.FunctionError != "":
		s.opts.Logf("lambda: async invoke %s (%s) failed: %s", spec.Function, req.ID, res.Payload)
	}
}
