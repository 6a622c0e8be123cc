package lambda

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// apiError is an error as Lambda answers it.
type apiError struct {
	status  int
	code    string
	message string
	reason  string // TooManyRequestsException only
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func (e *apiError) write(w http.ResponseWriter) {
	if e.code != "TooManyRequestsException" {
		awsproto.RESTJSONError(w, e.status, e.code, e.message)
		return
	}
	// Lambda's throttle carries a Reason and, in Retry-After, a hint the
	// SDK exposes as RetryAfterSeconds.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.Header().Set("X-Amzn-RequestId", awsproto.RequestID())
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": e.message, "Reason": e.reason})
}

func notFound(arn string) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException", "Function not found: " + arn, ""}
}

func conflict(msg string) *apiError {
	return &apiError{http.StatusConflict, "ResourceConflictException", msg, ""}
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValueException", fmt.Sprintf(format, args...), ""}
}

func serviceError(format string, args ...any) *apiError {
	return &apiError{http.StatusInternalServerError, "ServiceException", fmt.Sprintf(format, args...), ""}
}

func throttled() *apiError {
	return &apiError{http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.", "ConcurrentInvocationLimitExceeded"}
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

func (v validation) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	msg := fmt.Sprintf("%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
	return &apiError{http.StatusBadRequest, "ValidationException", msg, ""}
}
