package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
)

// Protocol is a wire protocol an emulated service speaks. It decides how a
// request's input is read, how an output is written and how an Error looks.
type Protocol int

const (
	// AWSJSON10 is awsJson1_0 (Step Functions): POST / with X-Amz-Target,
	// JSON in and out, errors as {"__type", "message"}.
	AWSJSON10 Protocol = iota + 1
	// AWSJSON11 is awsJson1_1 (ECR): AWSJSON10 with its own content type.
	AWSJSON11
	// RESTJSON is restJson1 (Lambda, EventBridge Scheduler): method and path
	// select the operation, inputs bind to labels, query, headers and a JSON
	// body; errors carry X-Amzn-ErrorType.
	RESTJSON
	// AWSQuery is awsQuery (IAM, STS): a form with Action, XML results
	// wrapped in <ActionResponse><ActionResult>, errors as <ErrorResponse>.
	AWSQuery
	// RESTXML is restXml (S3), here only forwarded to a library; errors as
	// <Error><Code><Message><RequestId>.
	RESTXML
	// OCIDistribution is the OCI distribution API of ECR's registry, also
	// forwarded to a library; errors as {"errors": [{"code", "message"}]}.
	OCIDistribution
)

func (p Protocol) String() string {
	switch p {
	case AWSJSON10:
		return "awsJson1_0"
	case AWSJSON11:
		return "awsJson1_1"
	case RESTJSON:
		return "restJson1"
	case AWSQuery:
		return "awsQuery"
	case RESTXML:
		return "restXml"
	case OCIDistribution:
		return "ociDistribution"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

func (p Protocol) jsonContentType() string {
	if p == AWSJSON10 {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

// Error is an error as an AWS service answers it, whatever the service: every
// emulated service returns these from its handlers, and Write puts one on
// the wire in the service's protocol.
type Error struct {
	Status  int    // HTTP status
	Code    string // AWS error code, e.g. ResourceNotFoundException
	Message string
	// Header holds response headers the error adds, e.g. Lambda's
	// Retry-After on TooManyRequestsException.
	Header http.Header
	// Fields are members of a JSON error body beyond the code and message,
	// e.g. Lambda's Reason on TooManyRequestsException.
	Fields map[string]string
}

// Errorf returns an Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Write answers with e in protocol p. The request id is the one the response
// already carries, or a new one.
func (e *Error) Write(w http.ResponseWriter, r *http.Request, p Protocol) {
	h := w.Header()
	for k, v := range e.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	switch p {
	case AWSJSON10, AWSJSON11:
		h.Set("Content-Type", p.jsonContentType())
		requestID(h, amznRequestID)
		w.WriteHeader(e.Status)
		body := map[string]string{"__type": e.Code, "message": e.Message}
		maps.Copy(body, e.Fields)
		_ = json.NewEncoder(w).Encode(body)
	case RESTJSON:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-ErrorType", e.Code)
		requestID(h, amznRequestID)
		w.WriteHeader(e.Status)
		// Services spell the message member either way (Lambda's
		// ResourceNotFoundException has Message, its
		// InvalidParameterValueException message); SDKs read the one their
		// model names, so both are sent. Type is Lambda's fault side.
		kind := "User"
		if e.Status >= 500 {
			kind = "Service"
		}
		body := map[string]string{"Type": kind, "Message": e.Message, "message": e.Message}
		maps.Copy(body, e.Fields)
		_ = json.NewEncoder(w).Encode(body)
	case AWSQuery:
		type errorBody struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		type errorResponse struct {
			XMLName   xml.Name  `xml:"ErrorResponse"`
			Error     errorBody `xml:"Error"`
			RequestID string    `xml:"RequestId"`
		}
		kind := "Sender"
		if e.Status >= 500 {
			kind = "Receiver"
		}
		id := requestID(h, amznRequestID)
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(e.Status)
		_ = xml.NewEncoder(w).Encode(errorResponse{Error: errorBody{Type: kind, Code: e.Code, Message: e.Message}, RequestID: id})
	case RESTXML:
		type errorBody struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			Message   string   `xml:"Message"`
			RequestID string   `xml:"RequestId"`
		}
		id := requestID(h, "X-Amz-Request-Id")
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(e.Status)
		if r != nil && r.Method == http.MethodHead {
			return // HEAD answers carry no body
		}
		_, _ = w.Write([]byte(xml.Header))
		_ = xml.NewEncoder(w).Encode(errorBody{Code: e.Code, Message: e.Message, RequestID: id})
	case OCIDistribution:
		h.Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"errors": []map[string]string{{"code": e.Code, "message": e.Message}},
		})
	default:
		http.Error(w, e.Error(), e.Status)
	}
}

const amznRequestID = "X-Amzn-RequestId"

// requestID returns the response's request id header, setting a new one
// when there is none.
func requestID(h http.Header, key string) string {
	if id := h.Get(key); id != "" {
		return id
	}
	id := RequestID()
	h.Set(key, id)
	return id
}
