package runtime

import "time"

// The server-side contract: runs on AWS Step Functions (package
// statemachine) invoke each operator's function with a ServerEvent (event
// version 2). There are no presigned URLs then. The runtime reads and writes
// the engine's artifact store itself, with the function's own role
// credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// as Lambda sets them), signing S3 requests with SigV4; AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL, or Store.Endpoint, names a local S3. The keys are
// those of package artifacts under Store.Root.
//
// For an operator event the runtime:
//  1. reads the operator's manifest and checks that its lineage is the
//     event's (else fails with Aqueduct.StaleLineage: the operator changed
//     after the run was planned or scheduled);
//  2. reads what the lineage accepts (artifacts.AcceptsKey, the slot of a
//     workflow run: the lineage) and, when known, computes the cache key
//     (CacheKey, with ParameterHashes and the inputs' results' cache keys,
//     as the run executor does); unless the run is a rerun, it answers
//     "cached" with the stored result (artifacts.ResultKey) when its output
//     object still exists;
//  3. otherwise reads each input's output (InputResults[name].OutputKey),
//     calls the operator with them and the parameters it takes, stores the
//     output at artifacts.CachedOutputKey(key) when the key is known and the
//     run is not a rerun, else at artifacts.RunOutputKey(run id, operator),
//     records what it accepts and the result under the key, and answers
//     "succeeded".
//
// For a record event (Record is true) it writes the run record
// (artifacts.RunKey) in the format of run.Record, from the results, and
// answers with its status. It reads back what the results leave out: each
// JSON output under PreviewLimit, and each operator's image from its
// manifest when that still has the run's lineage.
//
// The runtime's answers and errors never hold credentials. Its errors are
// function errors: Aqueduct.StaleLineage (the manifest changed or is gone),
// Aqueduct.FunctionChanged (the manifest names another function),
// Aqueduct.InputError, Aqueduct.OutputError, Aqueduct.StoreError (each
// naming the object and S3's error code), Aqueduct.CredentialsError and
// Aqueduct.BadEvent. Without s3:ListBucket S3 answers 403 for a missing
// object: the runtime takes a 403 for a miss where a miss only costs a
// recomputation (what a lineage takes, a cached result, a cached output).

// EventVersionServer is ServerEvent.Version.
const EventVersionServer = 2

// ServerStore is where a server-side run reads and writes.
type ServerStore struct {
	Bucket   string `json:"bucket"`
	Region   string `json:"region"`
	Root     string `json:"root"`
	Workflow string `json:"workflow"`
	Endpoint string `json:"endpoint,omitempty"`
}

// ServerRun identifies the run: ID, or the execution's name when empty (a
// scheduled run).
type ServerRun struct {
	ID        string `json:"id,omitempty"`
	Workflow  string `json:"workflow"`
	Identity  string `json:"identity,omitempty"`
	Rerun     bool   `json:"rerun"`
	BaseID    string `json:"base_id,omitempty"`
	StartedBy string `json:"started_by"`
}

// ServerEvent is the payload of one operator's Task, or of the final record
// Task.
type ServerEvent struct {
	Version       int               `json:"aqueduct"`
	Run           ServerRun         `json:"run"`
	ExecutionName string            `json:"execution_name"`
	Store         ServerStore       `json:"store"`
	Parameters    map[string]any    `json:"parameters"`
	ParamHashes   map[string]string `json:"parameter_hashes"`

	// An operator's event.
	Operator     string                  `json:"operator,omitempty"`
	Lineage      string                  `json:"lineage,omitempty"`
	Inputs       []string                `json:"inputs,omitempty"`        // upstream operators, in order
	InputResults map[string]ServerResult `json:"input_results,omitempty"` // by upstream operator

	// The record event.
	Record    bool                      `json:"record,omitempty"`
	Targets   []string                  `json:"targets,omitempty"`
	StartedAt time.Time                 `json:"started_at,omitzero"`
	Operators map[string]RecordOperator `json:"operators,omitempty"`
	Results   map[string]ServerResult   `json:"results,omitempty"`
}

// RecordOperator is what the record needs of an operator beyond its result.
type RecordOperator struct {
	FunctionName string `json:"function_name"`
	Lineage      string `json:"lineage"`
}

// ServerResult is an operator's answer in a server-side run, and what its
// failure or skip becomes in the state machine. It carries no output data:
// Step Functions limits the state to 256 KB.
type ServerResult struct {
	Status      string    `json:"status"` // succeeded, cached, failed, skipped
	CacheKey    string    `json:"cache_key,omitempty"`
	CachedFrom  string    `json:"cached_from,omitempty"`
	OutputKey   string    `json:"output_key,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	SizeBytes   int64     `json:"size_bytes,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	DurationMS  int64     `json:"duration_ms,omitempty"`
	// Error is Step Functions' error of a failed Task: Error and Cause (for
	// a function error, the function's error document as JSON text).
	Error          *StatesError `json:"error,omitempty"`
	SkippedBecause string       `json:"skipped_because,omitempty"`
}

// StatesError is the error a Catch puts in the state.
type StatesError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// RecordAnswer is the record Task's answer.
type RecordAnswer struct {
	Status string   `json:"status"`
	Failed []string `json:"failed"`
}

// ErrorStaleLineage is the error type of an operator event whose lineage is
// not the operator's as applied: it changed after the run was planned.
const ErrorStaleLineage = "Aqueduct.StaleLineage"

// FinalErrors are the runtime's error types that a second try cannot cure:
// retry policies skip them, in terraform as on Step Functions.
var FinalErrors = []string{ErrorStaleLineage, "Aqueduct.BadEvent", "Aqueduct.SerializationError", "Aqueduct.ResponseTooLarge"}
