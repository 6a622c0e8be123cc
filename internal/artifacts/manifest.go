package artifacts

import (
	"encoding/json"
	"path"
)

// WorkflowManifest is <prefix>/workflows/<workflow>/workflow.json.
type WorkflowManifest struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Engine      string                     `json:"engine"`
	Parameters  map[string]json.RawMessage `json:"parameters,omitempty"`
	Schedule    string                     `json:"schedule,omitempty"`
}

// OperatorManifest is <prefix>/workflows/<workflow>/operators/<operator>.json.
// One object per operator lets operators be created in parallel; a run reads
// the DAG from these objects, not from Terraform state.
type OperatorManifest struct {
	Name         string   `json:"name"`
	Workflow     string   `json:"workflow"`
	FunctionName string   `json:"function_name"`
	FunctionARN  string   `json:"function_arn"`
	ImageURI     string   `json:"image_uri"` // repo@sha256:...
	SourceHash   string   `json:"source_hash"`
	Function     string   `json:"function"` // module:callable
	Inputs       []string `json:"inputs"`   // upstream operator names, in order
	MemoryMB     int64    `json:"memory_mb"`
	TimeoutS     int64    `json:"timeout_s"`

	// The configuration that AWS does not hold, so that import can read it back.
	Memory        string   `json:"memory,omitempty"` // as configured, e.g. "2GB"
	Source        string   `json:"source"`
	Requirements  []string `json:"requirements,omitempty"`
	PythonVersion string   `json:"python_version"`
	BaseImage     string   `json:"base_image"`
	Architecture  string   `json:"architecture"`
	KeepImage     bool     `json:"keep_image_on_destroy,omitempty"`
}

// WorkflowKey is the key of a workflow's manifest.
func WorkflowKey(prefix, workflow string) string {
	return path.Join(prefix, "workflows", workflow, "workflow.json")
}

// WorkflowsPrefix is the key prefix under which every workflow lives.
func WorkflowsPrefix(prefix string) string {
	return path.Join(prefix, "workflows") + "/"
}

// WorkflowPrefix is the key prefix of everything one workflow owns.
func WorkflowPrefix(prefix, workflow string) string {
	return path.Join(prefix, "workflows", workflow) + "/"
}

// OperatorsPrefix is the key prefix under which a workflow's operators live.
func OperatorsPrefix(prefix, workflow string) string {
	return path.Join(prefix, "workflows", workflow, "operators") + "/"
}

// OperatorKey is the key of one operator's manifest.
func OperatorKey(prefix, workflow, operator string) string {
	return path.Join(prefix, "workflows", workflow, "operators", operator+".json")
}

// RunKey is the key of a run's record.
func RunKey(prefix, runID string) string {
	return path.Join(prefix, "runs", runID, "run.json")
}

// OutputKey is the key of one operator's output in a run.
func OutputKey(prefix, runID, operator string) string {
	return path.Join(prefix, "runs", runID, "outputs", operator)
}
