package lambda

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// Lambda's errors, as *awsproto.Error.

func notFound(arn string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: "Function not found: " + arn}
}

func conflict(msg string) *awsproto.Error {
	return &awsproto.Error{Status: http.StatusConflict, Code: "ResourceConflictException", Message: msg}
}

func invalidParam(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func invalidContent(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidRequestContentException", format, args...)
}

func serviceError(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusInternalServerError, "ServiceException", format, args...)
}

// throttled is Lambda's answer when the account's concurrency is used up:
// a Reason, and in Retry-After a hint the SDK exposes as RetryAfterSeconds.
func throttled() *awsproto.Error {
	return &awsproto.Error{
		Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate Exceeded.",
		Header: http.Header{"Retry-After": {"1"}},
		Fields: map[string]string{"Reason": "ConcurrentInvocationLimitExceeded"},
	}
}

// validation collects model-constraint violations, which Lambda reports
// together as one ValidationException.
type validation []string

func (v *validation) add(value any, field, constraint string) {
	val := "null"
	if value != nil {
		val = fmt.Sprintf("'%v'", value)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, field, constraint))
}

// addSensitive records a violation by a sensitive member, whose value Lambda
// leaves out of the message.
func (v *validation) addSensitive(field, constraint string) {
	*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", field, constraint))
}

func (v validation) err() *awsproto.Error {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}
