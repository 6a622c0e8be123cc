package sfn

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// TargetPrefix is what Step Functions' X-Amz-Target starts with.
const TargetPrefix = "AWSStepFunctions."

// newAPI is Step Functions' table of operations: the awsJson1_0 calls the
// emulated Step Functions answers, each matched by X-Amz-Target
// (TargetPrefix + Name), its input the JSON body. A new call is a row here
// plus its handler.
func (s *Service) newAPI() *awsproto.API {
	return &awsproto.API{
		Name:         "states",
		Protocol:     awsproto.AWSJSON10,
		SigningNames: []string{"states"},
		TargetPrefix: TargetPrefix,
		Operations: []awsproto.Operation{
			{Name: "CreateStateMachine", Handler: awsproto.Handle(s.createStateMachine)},
			{Name: "DescribeStateMachine", Handler: awsproto.Handle(s.describeStateMachine)},
			{Name: "UpdateStateMachine", Handler: awsproto.Handle(s.updateStateMachine)},
			{Name: "DeleteStateMachine", Handler: awsproto.Handle(s.deleteStateMachine)},
			{Name: "ListStateMachines", Handler: awsproto.Handle(s.listStateMachines)},
			{Name: "TagResource", Handler: awsproto.Handle(s.tagResource)},
			{Name: "UntagResource", Handler: awsproto.Handle(s.untagResource)},
			{Name: "ListTagsForResource", Handler: awsproto.Handle(s.listTagsForResource)},
			{Name: "StartExecution", Handler: awsproto.Handle(s.startExecution)},
			{Name: "DescribeExecution", Handler: awsproto.Handle(s.describeExecution)},
			{Name: "StopExecution", Handler: awsproto.Handle(s.stopExecution)},
			{Name: "GetExecutionHistory", Handler: awsproto.Handle(s.getExecutionHistory)},
			{Name: "ListExecutions", Handler: awsproto.Handle(s.listExecutions)},
		},
		Unknown: func(asked string) *awsproto.Error {
			return awsproto.Errorf(http.StatusBadRequest, "UnknownOperationException", "The operation %s is not supported by the emulated Step Functions", asked)
		},
		Throttle: &awsproto.Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."},
	}
}

// Step Functions' errors, worded as it words them.

func errInvalidArn(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: '%s'", fmt.Sprintf(format, args...))
}

func errInvalidName(name string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidName", "Invalid Name: '%s'", name)
}

func errMachineNotFound(arn string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", arn)
}

func errMachineDeleting(arn string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "StateMachineDeleting", "State Machine is being deleted: '%s'", arn)
}

func errExecutionNotFound(arn string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", arn)
}

func errValidation(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func errInvalidToken(token string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", token)
}

// accessDenied is AWS's answer for a role Step Functions cannot assume.
func accessDenied() *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "AccessDeniedException", "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.")
}

// ARNs.

func (s *Service) machineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", s.region, awsproto.AccountID, name)
}

func (s *Service) executionARN(machine, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:execution:%s:%s", s.region, awsproto.AccountID, machine, name)
}

// parseARN checks a states ARN of the given resource type (stateMachine or
// execution) and returns its resource parts. An ARN of another region or
// account is well formed; it names nothing here.
func parseARN(arn, want string) ([]string, *awsproto.Error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "states" {
		return nil, errInvalidArn("Invalid ARN prefix: %s", arn)
	}
	if parts[5] != want {
		return nil, errInvalidArn("Resource type not valid in this context: %s", parts[5])
	}
	rest := parts[6:]
	n := 1
	if want == "execution" {
		n = 2
	}
	if len(rest) != n {
		return nil, errInvalidArn("Invalid Arn: %s", arn)
	}
	for _, p := range rest {
		if p == "" {
			return nil, errInvalidArn("Invalid Arn: %s", arn)
		}
	}
	return rest, nil
}

// checkName applies Step Functions' naming rules to a state machine or
// execution name: 1 to 80 characters, none of whitespace, brackets,
// wildcards, special and control characters.
func checkName(name string) *awsproto.Error {
	if name == "" || len([]rune(name)) > 80 {
		return errInvalidName(name)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`"+`$&,;:/`, r) ||
			(r >= 0 && r <= 0x1f) || (r >= 0x7f && r <= 0x9f) {
			return errInvalidName(name)
		}
	}
	return nil
}

// epoch writes a time as awsJson writes timestamps: epoch seconds.
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

func epochPtr(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	e := epoch(*t)
	return &e
}

// Pagination: a nextToken is an opaque cursor, the listing's kind and the
// sort key of the last item returned, so that a page does not shift when
// items are added.

type cursor struct {
	Kind string `json:"k"`
	Key  string `json:"c"`
}

func encodeToken(kind, key string) *string {
	b, _ := json.Marshal(cursor{kind, key})
	t := base64.RawURLEncoding.EncodeToString(b)
	return &t
}

// readPage reads a listing's maxResults (0 or absent is 100, at most
// 1000) and nextToken, which must be a cursor of the same kind: the page
// size and the key the page starts after.
func readPage(kind string, maxResults *int, token *string) (size int, after string, e *awsproto.Error) {
	size = 100
	if maxResults != nil && *maxResults != 0 {
		if *maxResults < 0 || *maxResults > 1000 {
			return 0, "", errValidation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", *maxResults)
		}
		size = *maxResults
	}
	if token == nil || *token == "" {
		return size, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Kind != kind {
		return 0, "", errInvalidToken(*token)
	}
	return size, c.Key, nil
}
