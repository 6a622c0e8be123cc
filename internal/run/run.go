// Package run executes a workflow's DAG on Lambda: the engine behind
// data "aqueduct_invocation". It reads the DAG from the operator manifests in
// the artifact store, invokes each operator's function with presigned URLs,
// and writes the run's record back to the store.
//
// Runs are content-addressed: a run's id comes from its identity (the run key,
// or a hash of the operators it runs, each by its config hash, the
// parameters and the input). A succeeded run with the same identity whose
// outputs are all still there is read back instead of run again. Failed runs
// are not reused, so a transient failure does not pin a result. Before an
// operator is invoked, its function is checked against its manifest, so a
// function changed outside Terraform or mid-update never produces a result
// stored under the manifest's identity.
package run

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
)

// Store is the artifact store (S3 in production), rooted at the engine.
type Store interface {
	GetJSON(ctx context.Context, key string, v any) (found bool, err error)
	PutJSON(ctx context.Context, key string, v any) error
	List(ctx context.Context, prefix string) (keys []string, err error)
	Exists(ctx context.Context, key string) (bool, error)
	PresignGet(ctx context.Context, key string, ttl time.Duration) (url string, err error)
	PresignPut(ctx context.Context, key string, ttl time.Duration) (url string, err error)
	URI(key string) string // s3://bucket/key
	Prefix() string
}

// Invoker calls Lambda functions.
type Invoker interface {
	// Invoke calls the function synchronously (RequestResponse, LogType Tail).
	// Throttling is retried by the implementation.
	Invoke(ctx context.Context, functionName string, payload []byte) (Invocation, error)
	// Verify checks that the operator's function runs what its manifest
	// says (image, memory, environment, ...). An error fails the operator
	// before it is invoked: a result made by another configuration would be
	// stored under this one's identity.
	Verify(ctx context.Context, m *artifacts.OperatorManifest) error
}

// Invocation is a function's answer. FunctionError is Lambda's
// X-Amz-Function-Error ("Unhandled"); then Payload is the error document.
type Invocation struct {
	Payload       []byte
	FunctionError string
	LogTail       string // decoded text, not Lambda's base64
}

// Request says what to run.
type Request struct {
	Workflow string
	// Operator runs just this operator, with Input as its first argument and
	// no upstream inputs.
	Operator string
	// Targets limits the run to these operators and their ancestors.
	Targets []string
	// Parameters override the workflow's defaults.
	Parameters map[string]json.RawMessage
	Input      json.RawMessage
	// RunKey names the run; its record is reused whatever the DAG.
	RunKey string
	// Rerun runs again even when a succeeded run with this identity exists.
	Rerun       bool
	MaxParallel int // DefaultMaxParallel when 0
	// CredentialsExpire is when the credentials that sign presigned URLs
	// expire (zero when they do not): a URL stops working then, whatever its
	// own lifetime.
	CredentialsExpire time.Time
}

// DefaultMaxParallel is how many operators run at once unless told otherwise.
const DefaultMaxParallel = 10

// Run and operator statuses.
const (
	StatusPending   = "pending" // only in the record written as the run starts
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// Record is a run, as stored at artifacts.RunKey.
type Record struct {
	ID         string                     `json:"id"`
	Workflow   string                     `json:"workflow"`
	Operator   string                     `json:"operator,omitempty"` // set when one operator ran on its own
	Targets    []string                   `json:"targets,omitempty"`
	Identity   string                     `json:"identity"`
	Status     string                     `json:"status"`
	StartedAt  time.Time                  `json:"started_at"`
	FinishedAt time.Time                  `json:"finished_at,omitzero"`
	DurationMS int64                      `json:"duration_ms"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Operators  map[string]*OperatorRecord `json:"operators"`
	// Warnings are things the caller should tell the user, such as
	// presigned URLs cut short by expiring credentials.
	Warnings []string `json:"warnings,omitempty"`
	// Reused says the record was read back and nothing was invoked.
	Reused bool `json:"-"`
}

// OperatorRecord is one operator's part of a run.
type OperatorRecord struct {
	Status       string    `json:"status"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	DurationMS   int64     `json:"duration_ms"`
	FunctionName string    `json:"function_name"`
	ImageURI     string    `json:"image_uri"`
	OutputURI    string    `json:"output_uri,omitempty"`
	ContentType  string    `json:"content_type,omitempty"`
	SizeBytes    int64     `json:"size_bytes"`
	// Output is the JSON value when the output is JSON under
	// runtime.PreviewLimit, else nil.
	Output json.RawMessage `json:"output,omitempty"`
	Error  *ErrorRecord    `json:"error,omitempty"`
	// SkippedBecause says why a skipped operator did not run.
	SkippedBecause string `json:"skipped_because,omitempty"`
	LogTail        string `json:"log_tail,omitempty"`
	// Warning is something the user should know about this operator's run.
	Warning string `json:"warning,omitempty"`
}

// ErrorRecord is why an operator failed.
type ErrorRecord struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
}

// FailedOperators returns the names of the failed operators, sorted.
func (r *Record) FailedOperators() []string {
	var out []string
	for _, name := range sortedKeys(r.Operators) {
		if r.Operators[name].Status == StatusFailed {
			out = append(out, name)
		}
	}
	return out
}
