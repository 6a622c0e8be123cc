package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"path"
	"strings"
	"time"
)

// WorkflowManifest is <root>/workflows/<workflow>/workflow.json.
type WorkflowManifest struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Engine      string                     `json:"engine"`
	Parameters  map[string]json.RawMessage `json:"parameters,omitempty"`
	// Schedule is read from manifests of older versions only: the
	// attribute that set it is retired in favour of aqueduct_schedule.
	Schedule string `json:"schedule,omitempty"`
	// Tags are the workflow's tags_all, put on the state machines of its
	// runs, which the data source creates without Terraform state.
	Tags map[string]string `json:"tags,omitempty"`
}

// OperatorManifest is <root>/workflows/<workflow>/operators/<operator>.json.
// One object per operator lets operators be created in parallel; a run reads
// the DAG from these objects, not from Terraform state.
//
// The provider writes it before it creates or updates the function, so a
// function the provider made always has a manifest (an interrupted apply
// leaves one that names it), and the image it is about to run is referenced
// before the image it replaces may be deleted.
type OperatorManifest struct {
	Name         string   `json:"name"`
	Workflow     string   `json:"workflow"`
	FunctionName string   `json:"function_name"`
	FunctionARN  string   `json:"function_arn,omitempty"`
	ImageURI     string   `json:"image_uri"` // repo@sha256:...
	SourceHash   string   `json:"source_hash"`
	Function     string   `json:"function"` // module:callable
	Inputs       []string `json:"inputs"`   // upstream operator names, in order
	MemoryMB     int64    `json:"memory_mb"`
	TimeoutS     int64    `json:"timeout_s"`
	EphemeralMB  int64    `json:"ephemeral_storage_mb,omitempty"`
	RoleARN      string   `json:"role_arn,omitempty"`
	// EnvironmentHMAC is HMAC-SHA256 of the environment (canonical JSON)
	// under the engine's key: it changes whenever a value does, and shows no
	// value. Empty when there is no environment.
	EnvironmentHMAC string `json:"environment_hmac,omitempty"`
	// ReplacesImage is the image the function ran before the update this
	// manifest announces; it stays referenced until the update lands.
	ReplacesImage string `json:"replaces_image,omitempty"`
	// Lineage is LineageOf(this, InputLineages): the identity of what
	// produces the operator's output, and the hash in its artifact handle.
	Lineage string `json:"lineage,omitempty"`
	// InputLineages are the lineages of Inputs, in order, as applied: a run
	// checks them against the inputs' own, so an operator applied against an
	// older version of an input never feeds on the newer one.
	InputLineages []string `json:"input_lineages,omitempty"`
	// Retry is how the operator's own failures are retried, by both
	// executors; nil means a failure is final. Not part of the lineage or
	// the run's identity: it decides whether the operator finishes, not
	// what it returns.
	Retry *RetryPolicy `json:"retry,omitempty"`

	// The configuration that AWS does not hold, so that import can read it back.
	Memory       string   `json:"memory,omitempty"` // as configured, e.g. "2GB"
	Source       string   `json:"source"`
	Requirements []string `json:"requirements,omitempty"`
	// RequirementsFile is the operator's requirements_file, relative to Source.
	RequirementsFile string `json:"requirements_file,omitempty"`
	// BuildSecrets name where each build secret comes from (an environment
	// variable or a file of the machine running Terraform), never a value.
	BuildSecrets        []BuildSecret `json:"build_secrets,omitempty"`
	BuildSecretsVersion string        `json:"build_secrets_version,omitempty"`
	PythonVersion       string        `json:"python_version"`
	BaseImage           string        `json:"base_image"`
	Architecture        string        `json:"architecture"`
	KeepImage           bool          `json:"keep_image_on_destroy,omitempty"`
}

// BuildSecret is where one build secret's value comes from.
type BuildSecret struct {
	Name string `json:"name"`
	Env  string `json:"env,omitempty"`
	File string `json:"file,omitempty"`
}

// ConfigHash covers everything about the operator that can change its
// output: the image by digest, the entry point, the function it runs as,
// memory, timeout, /tmp size, architecture, role, the keyed hash of its
// environment and its inputs in order. It is what a run's identity is made
// of, so a result is never reused for a changed operator.
func (m *OperatorManifest) ConfigHash() string {
	_, digest, _ := strings.Cut(m.ImageURI, "@")
	doc := struct {
		V            int      `json:"v"`
		Image        string   `json:"image"`
		Function     string   `json:"function"`
		FunctionName string   `json:"function_name"`
		MemoryMB     int64    `json:"memory_mb"`
		TimeoutS     int64    `json:"timeout_s"`
		EphemeralMB  int64    `json:"ephemeral_mb"`
		Architecture string   `json:"architecture"`
		RoleARN      string   `json:"role_arn"`
		Environment  string   `json:"environment"`
		Inputs       []string `json:"inputs"`
	}{1, digest, m.Function, m.FunctionName, m.MemoryMB, m.TimeoutS, m.EphemeralMB, m.Architecture, m.RoleARN, m.EnvironmentHMAC, m.Inputs}
	if doc.Inputs == nil {
		doc.Inputs = []string{}
	}
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// LineageOf is the lineage hash of an operator with these input lineages:
// a Merkle hash of what produces its output. It covers the image by digest,
// the entry point, the architecture and the keyed hash of the environment,
// and its inputs' lineages in order, so it changes whenever anything
// upstream does. The resources it runs with (memory, timeout, /tmp, role)
// decide whether it finishes, not what it returns, and are left out: tuning
// them reruns nothing.
func LineageOf(m *OperatorManifest, inputLineages []string) string {
	_, digest, _ := strings.Cut(m.ImageURI, "@")
	doc := struct {
		V            int      `json:"v"`
		Image        string   `json:"image"`
		Function     string   `json:"function"`
		Architecture string   `json:"architecture"`
		Environment  string   `json:"environment"`
		Inputs       []string `json:"inputs"`
	}{1, digest, m.Function, m.Architecture, m.EnvironmentHMAC, inputLineages}
	if doc.Inputs == nil {
		doc.Inputs = []string{}
	}
	b, _ := json.Marshal(doc)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RetryPolicy retries an operator's own failures (its exceptions, timeouts
// and crashes): Attempts more tries, the first IntervalS seconds after the
// failure, each next wait BackoffRate times the one before, capped at
// MaxDelayS when set. These are the Step Functions Retrier's fields and
// meaning, so a run retries alike in terraform and on Step Functions.
type RetryPolicy struct {
	Attempts    int     `json:"attempts"`
	IntervalS   int     `json:"interval_s"`
	BackoffRate float64 `json:"backoff_rate"`
	MaxDelayS   int     `json:"max_delay_s,omitempty"`
}

// Delay is the wait before retry n (1 for the first).
func (p *RetryPolicy) Delay(n int) time.Duration {
	d := float64(p.IntervalS) * math.Pow(max(p.BackoffRate, 1), float64(n-1))
	if p.MaxDelayS > 0 {
		d = min(d, float64(p.MaxDelayS))
	}
	d = min(d, 1e9) // a policy's worst case must not overflow a Duration
	return time.Duration(d * float64(time.Second))
}

// Keys are relative to an engine's root: the store's prefix (see
// naming.Namespace), so nothing here can reach another engine's objects.

// WorkflowsPrefix is the key prefix under which every workflow lives.
func WorkflowsPrefix(root string) string {
	return path.Join(root, "workflows") + "/"
}

// WorkflowPrefix is the key prefix of everything one workflow owns: its
// manifest, its operators' manifests, its runs and their outputs.
func WorkflowPrefix(root, workflow string) string {
	return path.Join(root, "workflows", workflow) + "/"
}

// WorkflowKey is the key of a workflow's manifest.
func WorkflowKey(root, workflow string) string {
	return path.Join(root, "workflows", workflow, "workflow.json")
}

// OperatorsPrefix is the key prefix under which a workflow's operators live.
func OperatorsPrefix(root, workflow string) string {
	return path.Join(root, "workflows", workflow, "operators") + "/"
}

// OperatorKey is the key of one operator's manifest.
func OperatorKey(root, workflow, operator string) string {
	return path.Join(root, "workflows", workflow, "operators", operator+".json")
}

// ScheduleManifest is <root>/workflows/<workflow>/schedules/<name>.json:
// what an aqueduct_schedule was applied with that AWS does not hold, so
// that import reads it back.
type ScheduleManifest struct {
	Name       string                     `json:"name"`
	Workflow   string                     `json:"workflow"`
	Targets    []string                   `json:"targets"`              // operator names
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"` // the overrides, as configured
	Rerun      bool                       `json:"rerun"`
	// StateMachine and Schedule are the AWS objects it owns, by name.
	StateMachine string `json:"state_machine"`
	Schedule     string `json:"schedule"`
}

// SchedulesPrefix is the key prefix of a workflow's schedule manifests.
func SchedulesPrefix(root, workflow string) string {
	return path.Join(WorkflowPrefix(root, workflow), "schedules") + "/"
}

// ScheduleKey is the key of a schedule's manifest.
func ScheduleKey(root, workflow, name string) string {
	return SchedulesPrefix(root, workflow) + name + ".json"
}

// RunKey is the key of a run's record.
func RunKey(root, workflow, runID string) string {
	return path.Join(root, "workflows", workflow, "runs", runID, "run.json")
}

// RunOutputKey is where a run stores an operator's output when it cannot
// know the output's cache key beforehand (the operator never ran, so what
// it takes is not known yet).
func RunOutputKey(root, workflow, runID, operator string) string {
	return path.Join(root, "workflows", workflow, "runs", runID, "outputs", operator)
}

// The result cache of a workflow: an operator's output is stored under its
// cache key (its lineage, the parameters it takes, its inputs' keys), so any
// run that needs the same output finds it there.

// CachePrefix is the key prefix of a workflow's result cache.
func CachePrefix(root, workflow string) string {
	return path.Join(root, "workflows", workflow, "cache") + "/"
}

// AcceptsKey is where the parameters an operator of this lineage takes are
// recorded, learnt from its first invocation.
func AcceptsKey(root, workflow, lineage string) string {
	return path.Join(root, "workflows", workflow, "cache", "accepts", hexOf(lineage)+".json")
}

// CachedResult is the object at ResultKey: where a cached output is and
// what it is. The run executor and the runtime (server-side runs) both
// write and read it.
type CachedResult struct {
	RunID       string          `json:"run_id"` // the run that made it
	OutputKey   string          `json:"output_key"`
	ContentType string          `json:"content_type"`
	SizeBytes   int64           `json:"size_bytes"`
	Preview     json.RawMessage `json:"preview,omitempty"`
	FinishedAt  time.Time       `json:"finished_at"`
	DurationMS  int64           `json:"duration_ms"`
}

// ResultKey is the record of a cached output.
func ResultKey(root, workflow, cacheKey string) string {
	return path.Join(root, "workflows", workflow, "cache", "results", hexOf(cacheKey), "result.json")
}

// CachedOutputKey is a cached output itself.
func CachedOutputKey(root, workflow, cacheKey string) string {
	return path.Join(root, "workflows", workflow, "cache", "results", hexOf(cacheKey), "output")
}

func hexOf(hash string) string { return strings.TrimPrefix(hash, "sha256:") }

// EnvironmentKeyKey is the key of the engine's secret for EnvironmentHMAC.
func EnvironmentKeyKey(root string) string {
	return path.Join(root, "keys", "environment-hmac")
}
