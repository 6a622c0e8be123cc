package scheduler

import (
	"net/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// Scheduler's errors, with the statuses of its Smithy model:
// ValidationException 400, ResourceNotFoundException 404, ConflictException
// 409, ServiceQuotaExceededException 402, ThrottlingException 429,
// InternalServerException 500.

func notFound(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func scheduleNotFound(name string) *awsproto.Error {
	return notFound("Schedule %s does not exist.", name)
}

func groupNotFound(name string) *awsproto.Error {
	return notFound("Schedule group %s does not exist.", name)
}

func conflict(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "ConflictException", format, args...)
}

func invalid(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

var (
	throttling = &awsproto.Error{Status: http.StatusTooManyRequests, Code: "ThrottlingException", Message: "Rate exceeded"}
	internal   = &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalServerException", Message: "Unexpected error encountered while processing the request."}
)

// validation is AWS's collection of model-constraint violations with
// Scheduler's own checks added.
type validation struct{ awsproto.Validation }

// name checks a schedule or group name: 1 to 64 of [0-9a-zA-Z-_.].
func (v *validation) name(s *string, field string) {
	if s == nil {
		return
	}
	v.Length(s, field, 1, 64)
	if *s != "" && len(*s) <= 64 && !nameRE.MatchString(*s) {
		v.Add(*s, field, "Member must satisfy regular expression pattern: "+namePattern)
	}
}
