package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn/asl"
)

// taskRuntime is what one execution's interpreter calls: its history, and
// the Lambda integration.
type taskRuntime struct {
	s    *Service
	x    *execution
	role string // the state machine's role, which invocations are made as
}

func (t *taskRuntime) Record(ev asl.Event) int64 {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.x.appendLocked(fromASL(ev))
}

// Invoke runs arn:aws:states:::lambda:invoke, the only resource a
// definition may name: a synchronous invocation of FunctionName (with
// Qualifier) with Payload, answering what AWS answers.
//
//   - Success: {"ExecutedVersion", "Payload": the function's JSON answer,
//     "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"}.
//   - A function error: the error is the errorType of the function's error
//     document and the cause the document itself; without an errorType,
//     Lambda.Unknown and AWS's "The cause could not be determined" cause.
//   - Lambda refusing the call: Lambda.<its error code>, e.g.
//     Lambda.ResourceNotFoundException, Lambda.TooManyRequestsException.
func (t *taskRuntime) Invoke(ctx context.Context, resource string, parameters any) (any, *asl.Failure) {
	if resource != asl.LambdaInvoke {
		return nil, &asl.Failure{Error: asl.ErrRuntime, Cause: fmt.Sprintf("The resource %s is not emulated", resource)}
	}
	params, _ := parameters.(*asl.Object)
	if params == nil {
		return nil, &asl.Failure{Error: asl.ErrTaskFailed, Cause: "The Parameters of lambda:invoke must be an object"}
	}
	fn, _ := params.Get("FunctionName")
	name, ok := fn.(string)
	if !ok || name == "" {
		return nil, &asl.Failure{Error: "Lambda.InvalidParameterValueException", Cause: fmt.Sprintf("FunctionName must be a non-empty string, not %s", asl.Marshal(fn))}
	}
	if q, ok := params.Get("Qualifier"); ok {
		if qs, _ := q.(string); qs != "" {
			name += ":" + qs
		}
	}
	var payload []byte
	if p, ok := params.Get("Payload"); ok {
		payload = []byte(asl.Marshal(p))
	}
	if t.s.opts.Functions == nil {
		return nil, &asl.Failure{Error: "Lambda.ServiceException", Cause: "No Lambda service is wired into the emulated Step Functions"}
	}
	t.s.opts.Logf("sfn: %s invokes %s as %s", t.x.ARN, name, t.role)
	res, err := t.s.opts.Functions.InvokeFunction(ctx, name, payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &asl.Failure{Error: "Lambda.SdkClientException", Cause: ctx.Err().Error()}
		}
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			return nil, &asl.Failure{Error: "Lambda." + ae.Code, Cause: fmt.Sprintf("%s (Service: Lambda, Status Code: %d, Request ID: %s)", ae.Message, ae.Status, awsproto.RequestID())}
		}
		return nil, &asl.Failure{Error: "Lambda.ServiceException", Cause: err.Error()}
	}
	if res.FunctionError != "" {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(res.Payload, &doc) == nil && doc.ErrorType != "" {
			return nil, &asl.Failure{Error: doc.ErrorType, Cause: string(res.Payload)}
		}
		return nil, &asl.Failure{Error: "Lambda.Unknown", Cause: "The cause could not be determined because Lambda did not return an error type. Returned payload: " + string(res.Payload)}
	}
	return lambdaResult(res), nil
}

// lambdaResult is the result of a successful lambda:invoke, in the shape
// and order AWS gives it; the Payload is the function's answer parsed from
// JSON.
func lambdaResult(res *Invocation) any {
	var payload any
	if len(res.Payload) > 0 {
		v, err := asl.Unmarshal(res.Payload)
		if err != nil {
			payload = string(res.Payload)
		} else {
			payload = v
		}
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	date := time.Now().UTC().Format(http.TimeFormat)
	length := strconv.Itoa(len(res.Payload))
	all := asl.NewObject()
	headers := asl.NewObject()
	for _, h := range [][2]string{
		{"X-Amz-Executed-Version", res.ExecutedVersion},
		{"x-amzn-Remapped-Content-Length", "0"},
		{"Connection", "keep-alive"},
		{"x-amzn-RequestId", res.RequestID},
		{"Content-Length", length},
		{"Date", date},
		{"Content-Type", "application/json"},
	} {
		all.Set(h[0], []any{h[1]})
	}
	for _, h := range [][2]string{
		{"Connection", "keep-alive"},
		{"Content-Length", length},
		{"Content-Type", "application/json"},
		{"Date", date},
		{"X-Amz-Executed-Version", res.ExecutedVersion},
		{"x-amzn-Remapped-Content-Length", "0"},
		{"x-amzn-RequestId", res.RequestID},
	} {
		headers.Set(h[0], h[1])
	}
	meta := asl.NewObject()
	meta.Set("AllHttpHeaders", all)
	meta.Set("HttpHeaders", headers)
	meta.Set("HttpStatusCode", json.Number(strconv.Itoa(status)))
	resp := asl.NewObject()
	resp.Set("RequestId", res.RequestID)
	out := asl.NewObject()
	out.Set("ExecutedVersion", res.ExecutedVersion)
	out.Set("Payload", payload)
	out.Set("SdkHttpMetadata", meta)
	out.Set("SdkResponseMetadata", resp)
	out.Set("StatusCode", json.Number(strconv.Itoa(status)))
	return out
}
