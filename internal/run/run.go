// Package run executes a workflow's DAG on Lambda: the engine behind
// data "aqueduct_invocation". It reads the DAG from the operator manifests in
// the artifact store, invokes each operator's function with presigned URLs,
// and writes the run's record back to the store.
//
// Runs are incremental. Every operator's output is cached in the store under
// a key made of its lineage (artifacts.LineageOf: its image, entry point,
// architecture, keyed environment and its inputs' lineages), the run
// parameters it takes, and the keys of its inputs' outputs. A run invokes
// only the operators whose output for that key is missing; the others are
// "cached", read from the run that made them. Editing a leaf reruns the
// leaf; editing a root reruns everything downstream; a failed run resumes
// where it failed. The parameters an operator takes are learnt from its
// first invocation (the runtime reports them), so a parameter it does not
// take never reruns it.
//
// A run as a whole has an identity too (the request: what it runs, with
// which lineages, parameters and input), and a succeeded run whose outputs
// are all still stored is read back without resolving anything.
//
// Before an operator is invoked, its function is checked against its
// manifest, so a function changed outside Terraform or mid-update never
// produces a result stored under the manifest's identity.
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
	RequestID     string // Lambda's id of the invocation
}

// Target is an operator a run must produce the output of, with the lineage
// its artifact handle names.
type Target struct {
	Operator string
	Lineage  string
}

// Request says what to run: Targets and what they need, one Operator on
// Input, or (neither) every terminal operator of the workflow as last
// applied.
type Request struct {
	Workflow string
	Targets  []Target
	// Operator runs just this operator, with Input as its first argument and
	// no upstream inputs. OperatorLineage, when set, must be its lineage.
	Operator        string
	OperatorLineage string
	Input           json.RawMessage
	// Parameters override the workflow's defaults.
	Parameters map[string]json.RawMessage
	// RunKey names the run; its record is reused whatever the DAG.
	RunKey string
	// Rerun invokes every operator the run needs, cached or not, and
	// replaces their cached outputs: the cache then points at the rerun's
	// outputs, stored in its own folder, so no earlier record's change.
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
	StatusSucceeded = "succeeded" // invoked by this run
	StatusCached    = "cached"    // output found in the cache, made by CachedFrom
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
	// Invoked counts the operators this run invoked; the others were cached.
	Invoked int `json:"invoked"`
	// Warnings are things the caller should tell the user, such as
	// presigned URLs cut short by expiring credentials.
	Warnings []string `json:"warnings,omitempty"`
	// ExecutionARN is the Step Functions execution that ran it, if one did.
	ExecutionARN string `json:"execution_arn,omitempty"`
	// Reused says the record was read back and nothing was resolved.
	Reused bool `json:"-"`
}

// OperatorRecord is one operator's part of a run.
type OperatorRecord struct {
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	DurationMS int64     `json:"duration_ms"`
	// Attempts counts the invocations, retries included; 0 when cached.
	Attempts     int    `json:"attempts,omitempty"`
	FunctionName string `json:"function_name"`
	ImageURI     string `json:"image_uri"`
	Lineage      string `json:"lineage,omitempty"`
	// CacheKey is the key the output is cached under.
	CacheKey string `json:"cache_key,omitempty"`
	// CachedFrom is the run that made a cached output.
	CachedFrom  string `json:"cached_from,omitempty"`
	OutputKey   string `json:"output_key,omitempty"`
	OutputURI   string `json:"output_uri,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	SizeBytes   int64  `json:"size_bytes"`
	// Output is the JSON value when the output is JSON under
	// runtime.PreviewLimit, else nil.
	Output json.RawMessage `json:"output,omitempty"`
	Error  *ErrorRecord    `json:"error,omitempty"`
	// SkippedBecause says why a skipped operator did not run.
	SkippedBecause string `json:"skipped_because,omitempty"`
	LogTail        string `json:"log_tail,omitempty"`
	// RequestID is Lambda's id of the last invocation, which names its
	// lines in the function's log group.
	RequestID string `json:"request_id,omitempty"`
	// Warning is something the user should know about this operator's run.
	Warning string `json:"warning,omitempty"`
}

// Done reports whether the operator has its output: invoked or cached.
func (o *OperatorRecord) Done() bool { return o.Status == StatusSucceeded || o.Status == StatusCached }

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
