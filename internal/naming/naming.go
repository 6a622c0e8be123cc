// Package naming derives the names the provider gives AWS objects: Lambda
// function names, the artifact store namespace of an engine, and the owner
// tag that says which operator a function belongs to.
//
// Every derived name carries a hash of the whole, unjoined tuple it stands
// for (each field length-prefixed), so distinct tuples never meet, whatever
// characters the names contain: engine "hx-a" with workflow "b-c" and engine
// "hx-a-b" with workflow "c" give different functions. The readable part is
// for people; the hash is what makes the name unique.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
)

// MaxFunctionName is Lambda's limit on a function name.
const MaxFunctionName = 64

// hashLen hex digits (48 bits) make names unique in practice: a collision
// among a million functions has odds below one in five hundred million.
const hashLen = 12

// Tag keys on the objects the provider creates.
const (
	TagEngine   = "aqueduct:engine"   // engine name, readable
	TagWorkflow = "aqueduct:workflow" // workflow name, readable
	TagOperator = "aqueduct:operator" // operator name, readable
	// TagOwner holds Owner(operator): the exact identity of the operator a
	// function belongs to. Create adopts a function only when it matches.
	TagOwner = "aqueduct:owner"
	// TagSchedule names the schedule a state machine belongs to; TagKind
	// says whether a state machine serves runs or a schedule.
	TagSchedule = "aqueduct:schedule"
	TagKind     = "aqueduct:kind"
)

// Values of TagKind.
const (
	KindRuns     = "runs"
	KindSchedule = "schedule"
)

// tuple hashes length-prefixed fields under a domain, so that no two tuples
// and no two kinds of name share a hash input.
func tuple(domain string, fields ...string) [sha256.Size]byte {
	var b strings.Builder
	b.WriteString(domain)
	for _, f := range fields {
		fmt.Fprintf(&b, "\x00%d:%s", len(f), f)
	}
	return sha256.Sum256([]byte(b.String()))
}

func operatorFields(op ids.Operator) []string {
	e := op.Workflow.Engine
	return []string{e.Region, e.Repository, op.Workflow.Name, op.Name}
}

// FunctionName is the Lambda function of an operator:
// "<repository>-<workflow>-<operator>-<hash>", where <repository> is the last
// part of the engine's ECR repository name (the engine's name, for the
// default "aqueduct/<name>"), so IAM policies can scope an engine's
// functions by that prefix. The workflow and operator part is shortened so
// the whole fits Lambda's 64 characters; the prefix and the hash never are.
func FunctionName(op ids.Operator) string {
	sum := tuple("aqueduct/function/v1", operatorFields(op)...)
	h := hex.EncodeToString(sum[:])[:hashLen]
	return named(FunctionPrefix(op.Workflow.Engine), op.Workflow.Name+"-"+op.Name, h, MaxFunctionName)
}

// MaxStateMachineName is Step Functions' limit on a state machine name;
// MaxScheduleName is EventBridge Scheduler's on a schedule name.
const (
	MaxStateMachineName = 80
	MaxScheduleName     = 64
)

// named joins the engine's prefix, a readable middle shortened to fit max,
// and the hash, at most limit characters: the shape of every derived name.
func named(prefix, middle, hash string, limit int) string {
	if n := limit - len(prefix) - len(hash) - 2; len(middle) > n {
		middle = strings.TrimRight(middle[:max(n, 0)], "-_")
	}
	if middle == "" {
		return prefix + "-" + hash
	}
	return prefix + "-" + middle + "-" + hash
}

// RunStateMachine is the state machine of a workflow's runs started by
// data sources, for one definition: "<prefix>-<workflow>-run-<hash>". The
// hash covers the engine, the workflow and the definition, so the same
// definition always has the same machine and a new one a new machine.
func RunStateMachine(wf ids.Workflow, definition []byte) string {
	def := sha256.Sum256(definition)
	sum := tuple("aqueduct/run-state-machine/v1", wf.Engine.Region, wf.Engine.Repository, wf.Name, hex.EncodeToString(def[:]))
	return named(FunctionPrefix(wf.Engine), wf.Name+"-run", hex.EncodeToString(sum[:])[:hashLen], MaxStateMachineName)
}

// ScheduleStateMachine is a schedule's own state machine, updated in place
// as the workflow changes: "<prefix>-<workflow>-<schedule>-<hash>".
func ScheduleStateMachine(s ids.Schedule) string {
	sum := tuple("aqueduct/schedule-state-machine/v1", scheduleFields(s)...)
	return named(FunctionPrefix(s.Workflow.Engine), s.Workflow.Name+"-"+s.Name, hex.EncodeToString(sum[:])[:hashLen], MaxStateMachineName)
}

// ScheduleName is a schedule's EventBridge Scheduler schedule, in the
// default group: "<prefix>-<workflow>-<schedule>-<hash>".
func ScheduleName(s ids.Schedule) string {
	sum := tuple("aqueduct/schedule/v1", scheduleFields(s)...)
	return named(FunctionPrefix(s.Workflow.Engine), s.Workflow.Name+"-"+s.Name, hex.EncodeToString(sum[:])[:hashLen], MaxScheduleName)
}

func scheduleFields(s ids.Schedule) []string {
	e := s.Workflow.Engine
	return []string{e.Region, e.Repository, s.Workflow.Name, s.Name}
}

// RunsOwner is the value of TagOwner on a workflow's runs state machines.
func RunsOwner(wf ids.Workflow) string {
	sum := tuple("aqueduct/runs-owner/v1", wf.Engine.Region, wf.Engine.Repository, wf.Name)
	return hex.EncodeToString(sum[:])
}

// ScheduleOwner is the value of TagOwner on a schedule's state machine.
func ScheduleOwner(s ids.Schedule) string {
	sum := tuple("aqueduct/schedule-owner/v1", scheduleFields(s)...)
	return hex.EncodeToString(sum[:])
}

// FunctionPrefix is how the names of an engine's functions start: the last
// part of its repository name, with characters Lambda does not take in a
// function name replaced by "-", and at most 48 characters.
func FunctionPrefix(e ids.Engine) string {
	last := e.Repository[strings.LastIndex(e.Repository, "/")+1:]
	b := []byte(last)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 48 {
		b = b[:48]
	}
	return string(b)
}

// Owner is the value of TagOwner for an operator's function.
func Owner(op ids.Operator) string {
	sum := tuple("aqueduct/owner/v1", operatorFields(op)...)
	return hex.EncodeToString(sum[:])
}

// FunctionTags are the tags that record which operator a function is.
func FunctionTags(engineName string, op ids.Operator) map[string]string {
	return map[string]string{
		TagEngine:   engineName,
		TagWorkflow: op.Workflow.Name,
		TagOperator: op.Name,
		TagOwner:    Owner(op),
	}
}

// Namespace is the key prefix, under the engine's artifact store prefix,
// that holds everything one engine writes: "engines/<name>-<hash>". Two
// engines on the same bucket and prefix never share one, because the hash
// covers the engine's account, region, repository and name.
func Namespace(account string, e ids.Engine, engineName string) string {
	sum := tuple("aqueduct/namespace/v1", account, e.Region, e.Repository, engineName)
	return "engines/" + engineName + "-" + hex.EncodeToString(sum[:])[:hashLen]
}
