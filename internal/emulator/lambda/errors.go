package lambda

import (
	"net/http"

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
