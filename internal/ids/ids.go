// Package ids parses and formats the ids of the provider's Terraform objects.
// Each kind has its own type, so a bad operator id is reported as an operator
// id, not as the workflow id inside it.
//
//	engine    <region>:<ecr repository>          us-east-1:aqueduct/ml
//	workflow  <engine id>/<workflow name>        us-east-1:aqueduct/ml/iris
//	operator  <workflow id>/<operator name>      us-east-1:aqueduct/ml/iris/train
//	schedule  <workflow id>/schedule:<name>      us-east-1:aqueduct/ml/iris/schedule:nightly
//
// Repository names may hold slashes (ECR namespaces); workflow and operator
// names may not, so the last slash always splits a name from its parent.
package ids

import (
	"fmt"
	"regexp"
	"strings"
)

// NamePattern is the rule for engine, workflow and operator names: they
// become parts of S3 keys, tags and Lambda function names.
var NamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// NameHint describes NamePattern in words.
const NameHint = "lowercase letters, digits, hyphens and underscores, starting with a letter or digit"

// Engine identifies an aqueduct_lambda_resource: its region and ECR repository.
type Engine struct {
	Region     string
	Repository string
}

// Workflow identifies an aqueduct_workflow.
type Workflow struct {
	Engine Engine
	Name   string
}

// Operator identifies an aqueduct_operator.
type Operator struct {
	Workflow Workflow
	Name     string
}

// Schedule identifies an aqueduct_schedule. The "schedule:" mark keeps its
// id apart from an operator's: no operator name holds a colon.
type Schedule struct {
	Workflow Workflow
	Name     string
}

func (s Schedule) String() string { return s.Workflow.String() + "/" + scheduleMark + s.Name }

const scheduleMark = "schedule:"

// ParseSchedule parses "<workflow id>/schedule:<name>".
func ParseSchedule(s string) (Schedule, error) {
	bad := func() (Schedule, error) {
		return Schedule{}, fmt.Errorf("schedule id %q is not of the form <region>:<ecr repository>/<workflow name>/schedule:<schedule name>", s)
	}
	parent, last, ok := cutLast(s)
	name, marked := strings.CutPrefix(last, scheduleMark)
	if !ok || !marked || !NamePattern.MatchString(name) {
		return bad()
	}
	w, err := ParseWorkflow(parent)
	if err != nil {
		return bad()
	}
	return Schedule{Workflow: w, Name: name}, nil
}

func (e Engine) String() string   { return e.Region + ":" + e.Repository }
func (w Workflow) String() string { return w.Engine.String() + "/" + w.Name }
func (o Operator) String() string { return o.Workflow.String() + "/" + o.Name }

// Operator returns the id of the operator name in w.
func (w Workflow) Operator(name string) Operator { return Operator{Workflow: w, Name: name} }

// ParseEngine parses "<region>:<repository>". A bare repository name takes
// defaultRegion; an empty defaultRegion makes the region required.
func ParseEngine(s, defaultRegion string) (Engine, error) {
	region, repo, found := strings.Cut(s, ":")
	if !found {
		region, repo = defaultRegion, s
	}
	if region == "" || repo == "" || strings.ContainsAny(repo, ": ") {
		return Engine{}, fmt.Errorf("engine id %q is not of the form <region>:<ecr repository>", s)
	}
	return Engine{Region: region, Repository: repo}, nil
}

// ParseWorkflow parses "<engine id>/<workflow name>".
func ParseWorkflow(s string) (Workflow, error) {
	bad := func() (Workflow, error) {
		return Workflow{}, fmt.Errorf("workflow id %q is not of the form <region>:<ecr repository>/<workflow name>", s)
	}
	parent, name, ok := cutLast(s)
	if !ok || !NamePattern.MatchString(name) {
		return bad()
	}
	e, err := ParseEngine(parent, "")
	if err != nil {
		return bad()
	}
	return Workflow{Engine: e, Name: name}, nil
}

// ParseOperator parses "<workflow id>/<operator name>".
func ParseOperator(s string) (Operator, error) {
	bad := func() (Operator, error) {
		return Operator{}, fmt.Errorf("operator id %q is not of the form <region>:<ecr repository>/<workflow name>/<operator name>", s)
	}
	parent, name, ok := cutLast(s)
	if !ok || !NamePattern.MatchString(name) {
		return bad()
	}
	w, err := ParseWorkflow(parent)
	if err != nil {
		return bad()
	}
	return Operator{Workflow: w, Name: name}, nil
}

func cutLast(s string) (parent, name string, ok bool) {
	i := strings.LastIndex(s, "/")
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// Artifact is an operator's artifact handle: the operator and the lineage
// hash of what produces its output, "<operator id>@sha256:<64 hex>". It is
// what inputs and runs take, so that Terraform orders them after the
// operators they need and reads them again when anything upstream changes.
type Artifact struct {
	Operator Operator
	Lineage  string // "sha256:<64 hex>"
}

func (a Artifact) String() string { return a.Operator.String() + "@" + a.Lineage }

var lineagePattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ParseArtifact parses "<operator id>@sha256:<64 hex>".
func ParseArtifact(s string) (Artifact, error) {
	i := strings.LastIndex(s, "@")
	if i < 0 {
		if _, err := ParseOperator(s); err == nil {
			return Artifact{}, fmt.Errorf("%q is an operator id, not an artifact handle (\"<operator id>@sha256:<hash>\")", s)
		}
		return Artifact{}, fmt.Errorf("artifact handle %q is not of the form <operator id>@sha256:<hash>", s)
	}
	op, err := ParseOperator(s[:i])
	if err != nil || !lineagePattern.MatchString(s[i+1:]) {
		return Artifact{}, fmt.Errorf("artifact handle %q is not of the form <operator id>@sha256:<hash>", s)
	}
	return Artifact{Operator: op, Lineage: s[i+1:]}, nil
}
