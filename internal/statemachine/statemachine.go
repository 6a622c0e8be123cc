// Package statemachine compiles a run of a workflow to an Amazon States
// Language definition, for runs that live on AWS Step Functions rather than
// in a terraform process.
//
// The definition has one Task per operator, invoking its function by name
// through `arn:aws:states:::lambda:invoke`. Operators run level by level:
// each level (operators whose inputs are all in earlier levels) is one
// Parallel state with a branch per operator, so independent operators run at
// the same time. A branch first checks its inputs (a Choice): when one did
// not succeed, the operator is skipped. Its Task retries Lambda's throttling
// and service errors, and the operator's own retry policy for function
// errors; a Catch turns any remaining error into a failed result. After each
// level a Pass state merges the level's results into $.results. A final Task
// invokes the runtime of one of the run's functions to write the run record
// to the artifact store, in the format every run has, and a Choice ends the
// execution as succeeded or failed with the run.
//
// Nothing that changes with an operator's code is in the definition: the
// operators' lineages, the parameters and the run's identity come in the
// execution input (ExecutionInput). So the definition, and the state
// machine's name (naming.RunStateMachine), depend only on the DAG's structure, the functions
// and the retry policies: creating it again is a no-op.
//
// Each Task's payload is the runtime's server event (runtime.ServerEvent):
// the runtime inside the function reads and writes the artifact store with
// the function's own role, checks the result cache itself, and answers with
// a small result (runtime.ServerResult); no credentials and no data travel
// through the state machine.
package statemachine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// Operator is one operator of the run.
type Operator struct {
	Name         string
	FunctionName string
	Inputs       []string // upstream operator names, in order
	TimeoutS     int64
	Retry        *artifacts.RetryPolicy // nil: a failure is final
}

// Store is where the runtime reads and writes: the engine's artifact store.
type Store struct {
	Bucket   string `json:"bucket"`
	Region   string `json:"region"`
	Root     string `json:"root"`
	Workflow string `json:"workflow"`
	// Endpoint overrides the S3 endpoint (a local emulator); empty on AWS.
	Endpoint string `json:"endpoint,omitempty"`
}

// Spec is what to compile: the operators of the run (its targets and all
// their ancestors) and its targets.
type Spec struct {
	Workflow  string
	Operators []Operator
	Targets   []string
	Store     Store
}

// state is one ASL state, its fields in the order people read them.
type state struct {
	Type           string    `json:"Type"`
	Comment        string    `json:"Comment,omitempty"`
	Resource       string    `json:"Resource,omitempty"`
	Parameters     any       `json:"Parameters,omitempty"`
	Result         any       `json:"Result,omitempty"`
	ResultSelector any       `json:"ResultSelector,omitempty"`
	ResultPath     string    `json:"ResultPath,omitempty"`
	TimeoutSeconds int64     `json:"TimeoutSeconds,omitempty"`
	Retry          []any     `json:"Retry,omitempty"`
	Catch          []any     `json:"Catch,omitempty"`
	Branches       []machine `json:"Branches,omitempty"`
	Choices        []any     `json:"Choices,omitempty"`
	Default        string    `json:"Default,omitempty"`
	Error          string    `json:"Error,omitempty"`
	Cause          string    `json:"Cause,omitempty"`
	Next           string    `json:"Next,omitempty"`
	End            bool      `json:"End,omitempty"`
}

// machine is a state machine or a Parallel branch.
type machine struct {
	Comment string `json:"Comment,omitempty"`
	StartAt string `json:"StartAt"`
	States  states `json:"States"`
}

// states keeps the order states were added in: the order they run.
type states []namedState

type namedState struct {
	name string
	s    state
}

func (ss *states) add(name string, s state) { *ss = append(*ss, namedState{name, s}) }

func (ss states) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(n.name)
		v, err := marshal(n.s)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// throttling are Lambda's errors a Task always retries, as AWS recommends.
var throttling = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

// Compile returns the definition, indented, the same bytes for the same spec.
func Compile(spec Spec) ([]byte, error) {
	ops := map[string]Operator{}
	for _, o := range spec.Operators {
		if _, dup := ops[o.Name]; dup {
			return nil, fmt.Errorf("operator %q appears twice", o.Name)
		}
		ops[o.Name] = o
	}
	if len(spec.Targets) == 0 {
		return nil, fmt.Errorf("a run of workflow %q has no targets", spec.Workflow)
	}
	levels, err := levelsOf(ops)
	if err != nil {
		return nil, err
	}
	for _, t := range spec.Targets {
		if _, ok := ops[t]; !ok {
			return nil, fmt.Errorf("target %q is not among the operators", t)
		}
	}
	recorder := ops[spec.Targets[0]].FunctionName

	var ss states
	// runData carries the run's input through, with its results so far: none
	// at the start, then results merged with an intrinsic.
	runData := func(results string) map[string]any {
		m := map[string]any{"run.$": "$.run", "parameters.$": "$.parameters", "parameter_hashes.$": "$.parameter_hashes", "lineages.$": "$.lineages", "cached.$": "$.cached"}
		if results == "" {
			m["results"] = map[string]any{}
		} else {
			m["results.$"] = results
		}
		return m
	}
	ss.add("Start", state{Type: "Pass", Comment: "The run's input, and no results yet.", Parameters: runData(""), Next: levelName(0)})
	for i, level := range levels {
		var branches []machine
		for _, name := range level {
			branches = append(branches, branch(ops[name], spec.Store))
		}
		merged := "$.results"
		for j := range level {
			merged = fmt.Sprintf("States.JsonMerge(%s, $.level[%d], false)", merged, j)
		}
		next := "Record"
		if i+1 < len(levels) {
			next = levelName(i + 1)
		}
		ss.add(levelName(i), state{
			Type: "Parallel", Comment: "Operators whose inputs are all ready: " + strings.Join(level, ", ") + ".",
			Branches: branches, ResultPath: "$.level", Next: mergeName(i),
		})
		ss.add(mergeName(i), state{Type: "Pass", Parameters: runData(merged), Next: next})
	}
	opsInfo := map[string]any{}
	for _, name := range sortedNames(ops) {
		opsInfo[name] = map[string]any{"function_name": ops[name].FunctionName, "lineage.$": "$.lineages." + name}
	}
	ss.add("Record", state{
		Type:     "Task",
		Comment:  "The runtime writes the run record to the artifact store.",
		Resource: "arn:aws:states:::lambda:invoke",
		Parameters: map[string]any{
			"FunctionName": recorder,
			"Payload": map[string]any{
				"aqueduct": 2, "record": true, "store": spec.Store, "targets": spec.Targets, "operators": opsInfo,
				"run.$": "$.run", "execution_name.$": "$$.Execution.Name", "started_at.$": "$$.Execution.StartTime",
				"parameters.$": "$.parameters", "results.$": "$.results",
			},
		},
		ResultSelector: map[string]any{"status.$": "$.Payload.status", "failed.$": "$.Payload.failed"},
		Retry:          []any{throttleRetry()},
		Next:           "Done",
	})
	ss.add("Done", state{
		Type:    "Choice",
		Choices: []any{map[string]any{"Variable": "$.status", "StringEquals": "succeeded", "Next": "Succeeded"}},
		Default: "Failed",
	})
	ss.add("Succeeded", state{Type: "Succeed"})
	ss.add("Failed", state{Type: "Fail", Error: "Aqueduct.RunFailed", Cause: "An operator failed; the run record names it."})

	def := machine{
		Comment: fmt.Sprintf("aqueduct run of workflow %s: %s. Generated by terraform-provider-aqueduct; do not edit.", spec.Workflow, strings.Join(spec.Targets, ", ")),
		StartAt: "Start",
		States:  ss,
	}
	raw, err := marshal(def)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func throttleRetry() map[string]any {
	return map[string]any{"ErrorEquals": throttling, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2}
}

// branch is one operator's part of a level: check the inputs, invoke, and
// turn a failure into a result.
func branch(o Operator, store Store) machine {
	var ss states
	// An output the run found in the cache before it started is taken as
	// is, once the inputs are done, as the local executor does: the
	// function is not invoked to say so.
	cachedCheck := o.Name + " cached?"
	start := cachedCheck
	if len(o.Inputs) > 0 {
		start = o.Name + " ready?"
		var notDone []any
		for _, in := range uniq(o.Inputs) {
			status := "$.results." + in + ".status"
			notDone = append(notDone, map[string]any{"Not": map[string]any{"Or": []any{
				map[string]any{"Variable": status, "StringEquals": "succeeded"},
				map[string]any{"Variable": status, "StringEquals": "cached"},
			}}})
		}
		rule := map[string]any{"Or": notDone}
		if len(notDone) == 1 {
			rule = notDone[0].(map[string]any)
		}
		rule["Next"] = o.Name + " skipped"
		ss.add(start, state{Type: "Choice", Comment: "Skip the operator when an input did not succeed.", Choices: []any{rule}, Default: cachedCheck})
	}
	ss.add(cachedCheck, state{
		Type: "Choice", Comment: "Take the output found in the cache when the run started.",
		Choices: []any{map[string]any{"Variable": "$.cached." + o.Name, "IsPresent": true, "Next": o.Name + " from cache"}},
		Default: o.Name,
	})
	ss.add(o.Name+" from cache", state{Type: "Pass", Parameters: map[string]any{o.Name + ".$": "$.cached." + o.Name}, End: true})
	inputResults := map[string]any{}
	for _, in := range uniq(o.Inputs) {
		inputResults[in+".$"] = "$.results." + in
	}
	retry := []any{throttleRetry()}
	if p := o.Retry; p != nil && p.Attempts > 0 {
		// What a second try cannot cure (a stale lineage) is not retried.
		retry = append(retry, map[string]any{"ErrorEquals": runtime.FinalErrors, "MaxAttempts": 0})
		r := map[string]any{"ErrorEquals": []string{"States.ALL"}, "MaxAttempts": p.Attempts, "IntervalSeconds": max(p.IntervalS, 1),
			"BackoffRate": max(p.BackoffRate, 1)}
		if p.MaxDelayS > 0 {
			r["MaxDelaySeconds"] = p.MaxDelayS
		}
		retry = append(retry, r)
	}
	timeout := o.TimeoutS
	if timeout <= 0 {
		timeout = 900
	}
	ss.add(o.Name, state{
		Type:     "Task",
		Resource: "arn:aws:states:::lambda:invoke",
		Parameters: map[string]any{
			"FunctionName": o.FunctionName,
			"Payload": map[string]any{
				"aqueduct": 2, "operator": o.Name, "store": store, "inputs": nonNil(o.Inputs), "input_results": inputResults,
				"run.$": "$.run", "execution_name.$": "$$.Execution.Name", "lineage.$": "$.lineages." + o.Name,
				"parameters.$": "$.parameters", "parameter_hashes.$": "$.parameter_hashes",
			},
		},
		ResultSelector: map[string]any{o.Name + ".$": "$.Payload"},
		// Lambda's own timeout ends the function first; this bounds queueing.
		TimeoutSeconds: timeout + 60,
		Retry:          retry,
		Catch:          []any{map[string]any{"ErrorEquals": []string{"States.ALL"}, "ResultPath": "$.error", "Next": o.Name + " failed"}},
		End:            true,
	})
	ss.add(o.Name+" failed", state{
		Type:       "Pass",
		Parameters: map[string]any{o.Name: map[string]any{"status": "failed", "error.$": "$.error"}},
		End:        true,
	})
	if len(o.Inputs) > 0 {
		ss.add(o.Name+" skipped", state{
			Type:   "Pass",
			Result: map[string]any{o.Name: map[string]any{"status": "skipped", "skipped_because": "an upstream operator did not succeed"}},
			End:    true,
		})
	}
	return machine{StartAt: start, States: ss}
}

// levelsOf orders the operators in levels: an operator's inputs are all in
// earlier levels. Names are sorted within a level.
func levelsOf(ops map[string]Operator) ([][]string, error) {
	level := map[string]int{}
	var visit func(name string, path []string) (int, error)
	visit = func(name string, path []string) (int, error) {
		if l, ok := level[name]; ok {
			if l < 0 {
				return 0, fmt.Errorf("the operators form a cycle: %s", strings.Join(append(path, name), " <- "))
			}
			return l, nil
		}
		o, ok := ops[name]
		if !ok {
			return 0, fmt.Errorf("operator %q is an input of %q but not part of the run", name, path[len(path)-1])
		}
		level[name] = -1
		l := 0
		for _, in := range o.Inputs {
			li, err := visit(in, append(path, name))
			if err != nil {
				return 0, err
			}
			l = max(l, li+1)
		}
		level[name] = l
		return l, nil
	}
	var levels [][]string
	for _, name := range sortedNames(ops) {
		l, err := visit(name, nil)
		if err != nil {
			return nil, err
		}
		for len(levels) <= l {
			levels = append(levels, nil)
		}
	}
	for _, name := range sortedNames(ops) {
		levels[level[name]] = append(levels[level[name]], name)
	}
	return levels, nil
}

// ExecutionInput is a run's input: what the definition leaves out.
type ExecutionInput struct {
	Run Run `json:"run"`
	// Parameters are the run's parameters (workflow defaults and overrides),
	// canonical JSON; ParameterHashes the hex SHA-256 of each, for cache keys.
	Parameters      map[string]json.RawMessage `json:"parameters"`
	ParameterHashes map[string]string          `json:"parameter_hashes"`
	// Lineages are the run's operators' lineages.
	Lineages map[string]string `json:"lineages"`
	// Cached are the results of the operators whose outputs the run found
	// in the cache before it started; never nil.
	Cached map[string]runtime.ServerResult `json:"cached"`
}

// Run identifies the run in its record.
type Run struct {
	// ID is the run's id; empty for scheduled runs, which take the
	// execution's name.
	ID       string `json:"id,omitempty"`
	Workflow string `json:"workflow"`
	Identity string `json:"identity,omitempty"`
	Rerun    bool   `json:"rerun"`
	// BaseID is the id the identity gives: a succeeded rerun's record is
	// written there too, so later runs of the identity read it.
	BaseID string `json:"base_id,omitempty"`
	// StartedBy says who started it: "terraform" or "schedule:<name>".
	StartedBy string `json:"started_by"`
}

func levelName(i int) string { return fmt.Sprintf("Level %d", i) }
func mergeName(i int) string { return fmt.Sprintf("Level %d results", i) }

func sortedNames(ops map[string]Operator) []string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
