package sfn

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn/asl"
)

const (
	machineActive   = "ACTIVE"
	machineDeleting = "DELETING"
	typeStandard    = "STANDARD"
	maxTags         = 50
)

type stateMachine struct {
	ARN        string          `json:"arn"`
	Name       string          `json:"name"`
	Definition string          `json:"definition"`
	RoleARN    string          `json:"role_arn"`
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	Created    time.Time       `json:"created"`
	RevisionID string          `json:"revision_id"`
	Logging    json.RawMessage `json:"logging,omitempty"`
	Tracing    json.RawMessage `json:"tracing,omitempty"`
	Tags       []tag           `json:"tags,omitempty"`

	def *asl.Definition
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// defaults for the configurations a state machine reports when none was set.
var (
	defaultLogging = json.RawMessage(`{"level":"OFF","includeExecutionData":false}`)
	defaultTracing = json.RawMessage(`{"enabled":false}`)
)

func orDefault(m, d json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(m) == "null" {
		return d
	}
	return m
}

// sameJSON reports whether two configurations are equal, absent ones
// being their defaults.
func sameJSON(a, b, d json.RawMessage) bool {
	var x, y any
	_ = json.Unmarshal(orDefault(a, d), &x)
	_ = json.Unmarshal(orDefault(b, d), &y)
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// checkRole reports whether Step Functions could assume roleARN.
func (s *Service) checkRole(roleARN string) *awsproto.Error {
	if !strings.HasPrefix(roleARN, "arn:aws:iam::") || !strings.Contains(roleARN, ":role/") {
		return errInvalidArn("Invalid ARN prefix: %s", roleARN)
	}
	if s.opts.Roles == nil {
		return nil
	}
	if s.opts.Roles.AssumableBy(roleARN, "states.amazonaws.com") || s.opts.Roles.AssumableBy(roleARN, "states."+s.region+".amazonaws.com") {
		return nil
	}
	return accessDenied()
}

// parseDefinition runs the definition through the interpreter's checks.
func parseDefinition(definition string) (*asl.Definition, *awsproto.Error) {
	def, err := asl.Parse(definition)
	if err != nil {
		var verr *asl.ValidationError
		if errors.As(err, &verr) {
			return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidDefinition", "%s", verr.Error())
		}
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidDefinition", "Invalid State Machine Definition: '%s'", err)
	}
	return def, nil
}

func checkTags(tags []tag) *awsproto.Error {
	if len(tags) > maxTags {
		return awsproto.Errorf(http.StatusBadRequest, "TooManyTags", "Too many tags: the limit is %d", maxTags)
	}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 {
			return errValidation("1 validation error detected: tag keys must be 1 to 128 characters and values at most 256")
		}
	}
	return nil
}

type createStateMachineIn struct {
	Name               string          `json:"name"`
	Definition         string          `json:"definition"`
	RoleARN            string          `json:"roleArn"`
	Type               string          `json:"type"`
	Logging            json.RawMessage `json:"loggingConfiguration"`
	Tracing            json.RawMessage `json:"tracingConfiguration"`
	Tags               []tag           `json:"tags"`
	Publish            bool            `json:"publish"`
	VersionDescription string          `json:"versionDescription"`
}

func (s *Service) createStateMachine(_ *awsproto.Call, in *createStateMachineIn) (any, error) {
	if e := checkName(in.Name); e != nil {
		return nil, e
	}
	switch in.Type {
	case "", typeStandard:
		in.Type = typeStandard
	case "EXPRESS":
		return nil, awsproto.Errorf(http.StatusBadRequest, "StateMachineTypeNotSupported", "EXPRESS state machines are not emulated; use type STANDARD")
	default:
		return nil, errValidation("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", in.Type)
	}
	if in.Publish || in.VersionDescription != "" {
		return nil, errValidation("State machine versions are not emulated: publish and versionDescription must be left out")
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	def, e := parseDefinition(in.Definition)
	if e != nil {
		return nil, e
	}
	if e := s.checkRole(in.RoleARN); e != nil {
		return nil, e
	}
	arn := s.machineARN(in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.machines[arn]; m != nil {
		// Idempotent as on AWS: the same name, definition, type, logging
		// and tracing is the existing state machine, whatever the role and
		// tags (which are left as they are).
		switch {
		case m.Status == machineDeleting:
			return nil, errMachineDeleting(arn)
		case m.Definition != in.Definition || m.Type != in.Type ||
			!sameJSON(m.Logging, in.Logging, defaultLogging) || !sameJSON(m.Tracing, in.Tracing, defaultTracing):
			return nil, awsproto.Errorf(http.StatusBadRequest, "StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
		}
		return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.Created)}, nil
	}
	m := &stateMachine{
		ARN: arn, Name: in.Name, Definition: in.Definition, RoleARN: in.RoleARN, Type: in.Type,
		Status: machineActive, Created: time.Now().UTC(), RevisionID: asl.NewUUID(),
		Logging: in.Logging, Tracing: in.Tracing, Tags: in.Tags, def: def,
	}
	s.machines[arn] = m
	s.saveLocked()
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.Created)}, nil
}

// machine finds a state machine by ARN. Hold s.mu.
func (s *Service) machineLocked(arn string) (*stateMachine, *awsproto.Error) {
	if _, e := parseARN(arn, "stateMachine"); e != nil {
		return nil, e
	}
	m := s.machines[arn]
	if m == nil {
		return nil, errMachineNotFound(arn)
	}
	return m, nil
}

type machineIn struct {
	StateMachineARN string `json:"stateMachineArn"`
}

func (s *Service) describeStateMachine(_ *awsproto.Call, in *machineIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.machineLocked(in.StateMachineARN)
	if e != nil {
		return nil, e
	}
	return map[string]any{
		"stateMachineArn":      m.ARN,
		"name":                 m.Name,
		"status":               m.Status,
		"definition":           m.Definition,
		"roleArn":              m.RoleARN,
		"type":                 m.Type,
		"creationDate":         epoch(m.Created),
		"loggingConfiguration": orDefault(m.Logging, defaultLogging),
		"tracingConfiguration": orDefault(m.Tracing, defaultTracing),
		"revisionId":           m.RevisionID,
	}, nil
}

type updateStateMachineIn struct {
	StateMachineARN    string          `json:"stateMachineArn"`
	Definition         *string         `json:"definition"`
	RoleARN            *string         `json:"roleArn"`
	Logging            json.RawMessage `json:"loggingConfiguration"`
	Tracing            json.RawMessage `json:"tracingConfiguration"`
	Publish            bool            `json:"publish"`
	VersionDescription string          `json:"versionDescription"`
}

func (s *Service) updateStateMachine(_ *awsproto.Call, in *updateStateMachineIn) (any, error) {
	if in.Definition == nil && in.RoleARN == nil && len(in.Logging) == 0 && len(in.Tracing) == 0 {
		return nil, awsproto.Errorf(http.StatusBadRequest, "MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified")
	}
	if in.Publish || in.VersionDescription != "" {
		return nil, errValidation("State machine versions are not emulated: publish and versionDescription must be left out")
	}
	var def *asl.Definition
	if in.Definition != nil {
		var e *awsproto.Error
		if def, e = parseDefinition(*in.Definition); e != nil {
			return nil, e
		}
	}
	if in.RoleARN != nil {
		if e := s.checkRole(*in.RoleARN); e != nil {
			return nil, e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.machineLocked(in.StateMachineARN)
	if e != nil {
		return nil, e
	}
	if m.Status == machineDeleting {
		return nil, errMachineDeleting(m.ARN)
	}
	// Running executions keep the definition and role they started with.
	if def != nil {
		m.Definition, m.def = *in.Definition, def
	}
	if in.RoleARN != nil {
		m.RoleARN = *in.RoleARN
	}
	if len(in.Logging) > 0 {
		m.Logging = in.Logging
	}
	if len(in.Tracing) > 0 {
		m.Tracing = in.Tracing
	}
	m.RevisionID = asl.NewUUID()
	s.saveLocked()
	return map[string]any{"updateDate": epoch(time.Now()), "revisionId": m.RevisionID}, nil
}

// deleteStateMachine marks the state machine DELETING and stops its
// running executions, which fail with States.Runtime as on AWS; the state
// machine and its executions go once none runs.
func (s *Service) deleteStateMachine(_ *awsproto.Call, in *machineIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.machineLocked(in.StateMachineARN)
	if e != nil {
		return nil, e
	}
	m.Status = machineDeleting
	for _, x := range s.executions {
		if x.MachineARN == m.ARN && x.cancel != nil {
			x.cancel(errDeleted)
		}
	}
	s.finishDeletionLocked(m)
	s.saveLocked()
	return nil, nil
}

// finishDeletionLocked removes a DELETING state machine and its executions
// once none of them runs. Holds s.mu.
func (s *Service) finishDeletionLocked(m *stateMachine) {
	if m.Status != machineDeleting || s.machines[m.ARN] != m {
		return
	}
	for _, x := range s.executions {
		if x.MachineARN == m.ARN && x.Status == statusRunning {
			return
		}
	}
	for arn, x := range s.executions {
		if x.MachineARN == m.ARN {
			delete(s.executions, arn)
		}
	}
	delete(s.machines, m.ARN)
}

type listStateMachinesIn struct {
	MaxResults *int    `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

func (s *Service) listStateMachines(_ *awsproto.Call, in *listStateMachinesIn) (any, error) {
	size, after, e := readPage("machines", in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, m := range s.machines {
		if m.Name > after {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	type item struct {
		ARN     string `json:"stateMachineArn"`
		Name    string `json:"name"`
		Type    string `json:"type"`
		Created epoch  `json:"creationDate"`
	}
	out := struct {
		StateMachines []item  `json:"stateMachines"`
		NextToken     *string `json:"nextToken,omitempty"`
	}{StateMachines: []item{}}
	for i, n := range names {
		if i == size {
			out.NextToken = encodeToken("machines", names[i-1])
			break
		}
		m := s.machines[s.machineARN(n)]
		out.StateMachines = append(out.StateMachines, item{m.ARN, m.Name, m.Type, epoch(m.Created)})
	}
	return out, nil
}

// Tags, on state machines only (activities are not emulated).

func (s *Service) taggedLocked(arn string) (*stateMachine, *awsproto.Error) {
	if _, e := parseARN(arn, "stateMachine"); e != nil {
		return nil, e
	}
	m := s.machines[arn]
	if m == nil {
		return nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "ResourceNotFound", Message: "Resource not found: '" + arn + "'", Fields: map[string]string{"resourceName": arn}}
	}
	return m, nil
}

type tagResourceIn struct {
	ResourceARN string `json:"resourceArn"`
	Tags        []tag  `json:"tags"`
}

func (s *Service) tagResource(_ *awsproto.Call, in *tagResourceIn) (any, error) {
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.taggedLocked(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	tags := append([]tag(nil), m.Tags...)
	for _, t := range in.Tags {
		if i := indexTag(tags, t.Key); i >= 0 {
			tags[i].Value = t.Value
		} else {
			tags = append(tags, t)
		}
	}
	if len(tags) > maxTags {
		return nil, &awsproto.Error{Status: http.StatusBadRequest, Code: "TooManyTags", Message: "Too many tags: the limit is 50", Fields: map[string]string{"resourceName": m.ARN}}
	}
	m.Tags = tags
	s.saveLocked()
	return nil, nil
}

func indexTag(tags []tag, key string) int {
	for i, t := range tags {
		if t.Key == key {
			return i
		}
	}
	return -1
}

type untagResourceIn struct {
	ResourceARN string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Service) untagResource(_ *awsproto.Call, in *untagResourceIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.taggedLocked(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	var kept []tag
	for _, t := range m.Tags {
		if !slices.Contains(in.TagKeys, t.Key) {
			kept = append(kept, t)
		}
	}
	m.Tags = kept
	s.saveLocked()
	return nil, nil
}

type listTagsIn struct {
	ResourceARN string `json:"resourceArn"`
}

func (s *Service) listTagsForResource(_ *awsproto.Call, in *listTagsIn) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.taggedLocked(in.ResourceARN)
	if e != nil {
		return nil, e
	}
	tags := append([]tag{}, m.Tags...)
	return map[string]any{"tags": tags}, nil
}
