package runtime

import "encoding/json"

// The invocation contract between the run executor (Go) and the runtime inside
// the function (Python). An event carries presigned URLs, never credentials.

// Input is one upstream output, in the operator's `inputs` order.
type Input struct {
	Operator    string `json:"operator"`
	URL         string `json:"url"` // presigned GET
	ContentType string `json:"content_type"`
}

// Output says where the operator's result goes.
type Output struct {
	URL string `json:"url"` // presigned PUT
	URI string `json:"uri"` // s3://bucket/key, echoed back for the record
}

// Event is the Lambda payload for one operator of one run.
type Event struct {
	Version    int                        `json:"aqueduct"` // EventVersion
	RunID      string                     `json:"run_id"`
	Operator   string                     `json:"operator"`
	Inputs     []Input                    `json:"inputs"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	// Input is a direct JSON input, used when one operator is invoked on its own.
	Input  json.RawMessage `json:"input,omitempty"`
	Output Output          `json:"output"`
}

// EventVersion is the current Event.Version.
const EventVersion = 1

// Content types the runtime produces.
const (
	ContentTypeJSON   = "application/json"
	ContentTypePickle = "application/x-python-pickle"
	ContentTypeBytes  = "application/octet-stream"
)

// Response is the function's answer on success. A failure is a Lambda
// function error whose body is FunctionError.
type Response struct {
	Status      string          `json:"status"` // "succeeded"
	ContentType string          `json:"content_type"`
	SizeBytes   int64           `json:"size_bytes"`
	OutputURI   string          `json:"output_uri"`
	Preview     json.RawMessage `json:"preview,omitempty"` // the JSON value when it is under PreviewLimit
	DurationMS  int64           `json:"duration_ms"`
}

// PreviewLimit is the largest JSON output returned inline.
const PreviewLimit = 64 * 1024

// FunctionError is Lambda's standard error body.
type FunctionError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}
