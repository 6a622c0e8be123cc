package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path"
	"strings"
)

// WorkflowManifest is <root>/workflows/<workflow>/workflow.json.
type WorkflowManifest struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Engine      string                     `json:"engine"`
	Parameters  map[string]json.RawMessage `json:"parameters,omitempty"`
	Schedule    string                     `json:"schedule,omitempty"`
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

	// The configuration that AWS does not hold, so that import can read it back.
	Memory        string   `json:"memory,omitempty"` // as configured, e.g. "2GB"
	Source        string   `json:"source"`
	Requirements  []string `json:"requirements,omitempty"`
	PythonVersion string   `json:"python_version"`
	BaseImage     string   `json:"base_image"`
	Architecture  string   `json:"architecture"`
	KeepImage     bool     `json:"keep_image_on_destroy,omitempty"`
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

// RunKey is the key of a run's record.
func RunKey(root, workflow, runID string) string {
	return path.Join(root, "workflows", workflow, "runs", runID, "run.json")
}

// OutputKey is the key of one operator's output in a run.
func OutputKey(root, workflow, runID, operator string) string {
	return path.Join(root, "workflows", workflow, "runs", runID, "outputs", operator)
}

// EnvironmentKeyKey is the key of the engine's secret for EnvironmentHMAC.
func EnvironmentKeyKey(root string) string {
	return path.Join(root, "keys", "environment-hmac")
}
