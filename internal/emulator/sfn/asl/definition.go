package asl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// LambdaInvoke is the one Task resource the emulator runs: Step Functions'
// optimized Lambda integration.
const LambdaInvoke = "arn:aws:states:::lambda:invoke"

// Definition is a parsed and validated state machine.
type Definition struct {
	Comment string
	// TimeoutSeconds bounds the whole execution; zero for none.
	TimeoutSeconds int64
	top            *container
}

// container is a StartAt and its States: the machine's own, or a Parallel
// branch's. Transitions stay inside their container.
type container struct {
	startAt  string
	states   map[string]*State
	order    []string
	declared map[string]bool // every name under States, valid or not
}

// State is one state of a definition.
type State struct {
	Name string
	Type string // Task, Parallel, Pass, Choice, Succeed, Fail

	Next string
	End  bool

	InputPath, OutputPath, ResultPath optPath
	Parameters, ResultSelector        *template
	Result                            any
	HasResult                         bool

	Resource       string
	TimeoutSeconds int64
	Retry          []Retrier
	Catch          []Catcher

	branches []*container

	Choices []*ChoiceRule
	Default string

	Error, Cause string
}

// optPath is a path field: absent means "$", null means the field's null
// behaviour (an empty object for InputPath and OutputPath, the result
// discarded for ResultPath).
type optPath struct {
	set  bool
	null bool
	path *Path
}

// Retrier is one element of a state's Retry.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds int64
	MaxAttempts     int64
	BackoffRate     float64
	MaxDelaySeconds int64 // zero for no cap
	FullJitter      bool
}

// Catcher is one element of a state's Catch.
type Catcher struct {
	ErrorEquals []string
	ResultPath  optPath
	Next        string
}

// Diagnostic is one problem with a definition, as AWS reports it: a code
// such as SCHEMA_VALIDATION_FAILED, a message and where (/States/X/Type).
type Diagnostic struct {
	Code, Message, Location string
}

// ValidationError is a definition that cannot be run; its message is what
// CreateStateMachine answers with InvalidDefinition.
type ValidationError struct {
	Diagnostics []Diagnostic
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		parts[i] = d.Code + ": " + d.Message
		if d.Location != "" {
			parts[i] += " at " + d.Location
		}
	}
	return "Invalid State Machine Definition: '" + strings.Join(parts, ", ") + "'"
}

type diagnostics []Diagnostic

func (d *diagnostics) add(code, loc, format string, args ...any) {
	*d = append(*d, Diagnostic{Code: code, Message: fmt.Sprintf(format, args...), Location: loc})
}

func (d *diagnostics) schema(loc, format string, args ...any) {
	d.add("SCHEMA_VALIDATION_FAILED", loc, format, args...)
}

// Fields each place allows. awsFields are fields AWS accepts that the
// emulator does not run; they are refused as outside the emulated subset
// rather than as unknown.
var (
	topFields    = []string{"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
	branchFields = []string{"Comment", "StartAt", "States"}
	stateFields  = map[string][]string{
		"Task":     {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds", "Retry", "Catch"},
		"Parallel": {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Branches", "Retry", "Catch"},
		"Pass":     {"Type", "Comment", "Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result"},
		"Choice":   {"Type", "Comment", "InputPath", "OutputPath", "Choices", "Default"},
		"Succeed":  {"Type", "Comment", "InputPath", "OutputPath"},
		"Fail":     {"Type", "Comment", "Error", "Cause"},
	}
	awsFields = []string{
		"HeartbeatSeconds", "HeartbeatSecondsPath", "TimeoutSecondsPath", "Credentials", "Assign", "Arguments",
		"Output", "QueryLanguage", "ErrorPath", "CausePath", "Items", "ItemsPath", "ItemProcessor", "Iterator",
		"ItemSelector", "ItemReader", "ResultWriter", "MaxConcurrency", "ToleratedFailurePercentage",
		"ToleratedFailureCount", "Label", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Parameters",
		"ResultSelector", "Retry", "Catch", "Result", "Next", "End", "InputPath", "OutputPath", "ResultPath", "TimeoutSeconds",
	}
	awsStateTypes    = []string{"Map", "Wait"}
	lambdaParameters = []string{"FunctionName", "Payload", "Qualifier"}
	awsLambdaParams  = []string{"ClientContext", "InvocationType", "LogType"}
)

// Parse reads a definition and checks it against the subset the emulator
// runs. Anything else is a *ValidationError naming the construct and its
// state.
func Parse(definition string) (*Definition, error) {
	v, err := Unmarshal([]byte(definition))
	if err != nil {
		return nil, &ValidationError{[]Diagnostic{{Code: "INVALID_JSON_DESCRIPTION", Message: err.Error()}}}
	}
	root, ok := v.(*Object)
	if !ok {
		return nil, &ValidationError{[]Diagnostic{{Code: "SCHEMA_VALIDATION_FAILED", Message: "The definition must be a JSON object", Location: "/"}}}
	}
	p := &parser{names: map[string]string{}}
	def := &Definition{}
	p.unknownFields(root, topFields, "/", "")
	if c, ok := root.Get("Comment"); ok {
		def.Comment, _ = c.(string)
	}
	if v, ok := root.Get("Version"); ok && v != "1.0" {
		p.d.schema("/Version", "The value for the field 'Version' must be \"1.0\"")
	}
	if v, ok := root.Get("QueryLanguage"); ok && v != "JSONPath" {
		p.d.schema("/QueryLanguage", "QueryLanguage %s is outside the emulated subset: only JSONPath states are emulated", Marshal(v))
	}
	if v, ok := root.Get("TimeoutSeconds"); ok {
		def.TimeoutSeconds = p.positiveInt(v, "/TimeoutSeconds", "TimeoutSeconds", 99999999)
	}
	def.top = p.container(root, "")
	if len(p.d) > 0 {
		return nil, &ValidationError{p.d}
	}
	return def, nil
}

type parser struct {
	d     diagnostics
	names map[string]string // state name -> location, across the machine
}

func (p *parser) unknownFields(o *Object, allowed []string, loc, stateType string) {
	for _, k := range o.keys {
		if slices.Contains(allowed, k) {
			continue
		}
		if slices.Contains(awsFields, k) {
			what := "this state"
			if stateType != "" {
				what = "a " + stateType + " state"
			}
			p.d.schema(loc, "Field '%s' is not supported on %s by the emulated Step Functions (outside the emulated subset)", k, what)
			continue
		}
		p.d.schema(loc, "Field '%s' is not supported", k)
	}
}

// container reads StartAt and States at prefix ("" for the machine,
// "/States/P/Branches[0]" for a branch), then checks its transitions.
func (p *parser) container(o *Object, prefix string) *container {
	c := &container{states: map[string]*State{}, declared: map[string]bool{}}
	loc := prefix
	if loc == "" {
		loc = "/"
	}
	var missing []string
	sa, ok := o.Get("StartAt")
	if !ok {
		missing = append(missing, "StartAt")
	}
	sv, ok := o.Get("States")
	if !ok {
		missing = append(missing, "States")
	}
	if len(missing) > 0 {
		p.d.schema(loc, "These fields are required: [%s]", strings.Join(missing, ", "))
		return c
	}
	if s, ok := sa.(string); ok {
		c.startAt = s
	} else {
		p.d.schema(prefix+"/StartAt", "The value for the field 'StartAt' must be a STRING")
	}
	states, ok := sv.(*Object)
	if !ok || states.Len() == 0 {
		p.d.schema(prefix+"/States", "The field 'States' must be a non-empty object of states")
		return c
	}
	for _, name := range states.keys {
		c.declared[name] = true
		sloc := prefix + "/States/" + name
		if first, dup := p.names[name]; dup {
			p.d.add("DUPLICATE_STATE_NAME", sloc, "Duplicate State name: %s (also at %s)", name, first)
			continue
		}
		p.names[name] = sloc
		if len(name) > 80 || name == "" {
			p.d.schema(sloc, "State names must be 1 to 80 characters long")
		}
		so, ok := states.vals[name].(*Object)
		if !ok {
			p.d.schema(sloc, "A state must be a JSON object")
			continue
		}
		if st := p.state(name, so, sloc); st != nil {
			c.states[name] = st
			c.order = append(c.order, name)
		}
	}
	p.transitions(c, prefix)
	return c
}

func (p *parser) state(name string, o *Object, loc string) *State {
	st := &State{Name: name}
	tv, ok := o.Get("Type")
	if !ok {
		p.d.schema(loc, "These fields are required: [Type]")
		return nil
	}
	st.Type, _ = tv.(string)
	allowed, known := stateFields[st.Type]
	switch {
	case slices.Contains(awsStateTypes, st.Type):
		p.d.schema(loc+"/Type", "State type '%s' is outside the emulated subset (Task, Parallel, Pass, Choice, Succeed, Fail)", st.Type)
		return nil
	case !known:
		p.d.schema(loc+"/Type", "The value for the field 'Type' must be one of [Task, Parallel, Map, Pass, Wait, Choice, Succeed, Fail], not %s", Marshal(tv))
		return nil
	}
	p.unknownFields(o, allowed, loc, st.Type)
	if c, ok := o.Get("Comment"); ok {
		if _, ok := c.(string); !ok {
			p.d.schema(loc+"/Comment", "The value for the field 'Comment' must be a STRING")
		}
	}

	// Transitions.
	if slices.Contains(allowed, "Next") {
		next, hasNext := o.Get("Next")
		end, hasEnd := o.Get("End")
		if hasNext {
			if s, ok := next.(string); ok {
				st.Next = s
			} else {
				p.d.schema(loc+"/Next", "The value for the field 'Next' must be a STRING")
			}
		}
		if hasEnd {
			b, ok := end.(bool)
			if !ok {
				p.d.schema(loc+"/End", "The value for the field 'End' must be a BOOLEAN")
			}
			st.End = b
		}
		switch {
		case hasNext && st.End:
			p.d.schema(loc, "A state cannot have both 'Next' and 'End': true")
		case !hasNext && !st.End:
			p.d.schema(loc, "A %s state must have either 'Next' or 'End': true", st.Type)
		}
	}

	// Paths.
	if slices.Contains(allowed, "InputPath") {
		st.InputPath = p.pathField(o, "InputPath", loc, false)
		st.OutputPath = p.pathField(o, "OutputPath", loc, false)
	}
	if slices.Contains(allowed, "ResultPath") {
		st.ResultPath = p.pathField(o, "ResultPath", loc, true)
	}
	if v, ok := o.Get("Parameters"); ok && slices.Contains(allowed, "Parameters") {
		st.Parameters = compileTemplate(v, &p.d, loc+"/Parameters")
	}
	if v, ok := o.Get("ResultSelector"); ok && slices.Contains(allowed, "ResultSelector") {
		if _, isObj := v.(*Object); !isObj {
			p.d.schema(loc+"/ResultSelector", "The value for the field 'ResultSelector' must be an OBJECT")
		}
		st.ResultSelector = compileTemplate(v, &p.d, loc+"/ResultSelector")
	}

	switch st.Type {
	case "Pass":
		st.Result, st.HasResult = o.Get("Result")
	case "Task":
		p.task(st, o, loc)
	case "Parallel":
		p.parallel(st, o, loc)
	case "Choice":
		p.choice(st, o, loc)
	case "Fail":
		for _, f := range []string{"Error", "Cause"} {
			v, ok := o.Get(f)
			if !ok {
				continue
			}
			s, isStr := v.(string)
			if !isStr {
				p.d.schema(loc+"/"+f, "The value for the field '%s' must be a STRING", f)
			}
			if f == "Error" {
				st.Error = s
			} else {
				st.Cause = s
			}
		}
	}
	if st.Type == "Task" || st.Type == "Parallel" {
		st.Retry = p.retry(o, loc)
		st.Catch = p.catch(o, loc)
	}
	return st
}

func (p *parser) pathField(o *Object, name, loc string, reference bool) optPath {
	v, ok := o.Get(name)
	if !ok {
		return optPath{}
	}
	if v == nil {
		return optPath{set: true, null: true}
	}
	s, isStr := v.(string)
	if !isStr {
		p.d.schema(loc+"/"+name, "The value for the field '%s' must be a STRING or null", name)
		return optPath{}
	}
	path, err := parsePath(s, reference)
	if err != nil {
		kind := "JSONPath"
		if reference {
			kind = "Reference Path"
		}
		p.d.schema(loc+"/"+name, "The value for the field '%s' must be a valid %s: %v", name, kind, err)
		return optPath{}
	}
	return optPath{set: true, path: path}
}

func (p *parser) positiveInt(v any, loc, name string, maxV int64) int64 {
	n, ok := asInteger(v)
	if !ok || n < 1 || n > maxV {
		p.d.schema(loc, "The value for the field '%s' must be an INTEGER from 1 to %d", name, maxV)
		return 0
	}
	return n
}

// task checks a Task: its Resource must be the Lambda integration, with
// FunctionName and at most Payload and Qualifier.
func (p *parser) task(st *State, o *Object, loc string) {
	rv, ok := o.Get("Resource")
	if !ok {
		p.d.schema(loc, "These fields are required: [Resource]")
		return
	}
	st.Resource, _ = rv.(string)
	switch {
	case st.Resource == LambdaInvoke:
	case strings.HasPrefix(st.Resource, "arn:aws:states:") || strings.HasPrefix(st.Resource, "arn:aws:lambda:"):
		p.d.schema(loc+"/Resource", "Resource '%s' is outside the emulated subset: only %s runs", st.Resource, LambdaInvoke)
		return
	default:
		p.d.schema(loc+"/Resource", "Value is not a valid resource ARN")
		return
	}
	if v, ok := o.Get("TimeoutSeconds"); ok {
		st.TimeoutSeconds = p.positiveInt(v, loc+"/TimeoutSeconds", "TimeoutSeconds", 99999999)
	}
	ploc := loc + "/Parameters"
	if st.Parameters == nil || !st.Parameters.root.isObj {
		p.d.schema(ploc, "The field 'FunctionName' is required but was missing")
		return
	}
	if _, ok := st.Parameters.lookup("FunctionName"); !ok {
		p.d.schema(ploc, "The field 'FunctionName' is required but was missing")
	}
	for _, f := range st.Parameters.root.object {
		switch {
		case slices.Contains(lambdaParameters, f.name):
		case slices.Contains(awsLambdaParams, f.name):
			p.d.schema(ploc, "The field '%s' is outside the emulated subset of lambda:invoke (FunctionName, Payload, Qualifier)", f.name)
		default:
			p.d.schema(ploc, "The field '%s' is not supported by Step Functions", f.name)
		}
		if f.name == "FunctionName" && !f.dynamic {
			if s, ok := f.value.literal.(string); !ok || s == "" {
				p.d.schema(ploc, "The value for the field 'FunctionName' must be a non-empty STRING")
			}
		}
	}
}

func (p *parser) parallel(st *State, o *Object, loc string) {
	bv, ok := o.Get("Branches")
	if !ok {
		p.d.schema(loc, "These fields are required: [Branches]")
		return
	}
	branches, ok := bv.([]any)
	if !ok || len(branches) == 0 {
		p.d.schema(loc+"/Branches", "The field 'Branches' must be a non-empty array")
		return
	}
	for i, b := range branches {
		bloc := fmt.Sprintf("%s/Branches[%d]", loc, i)
		bo, ok := b.(*Object)
		if !ok {
			p.d.schema(bloc, "A branch must be a JSON object")
			continue
		}
		p.unknownFields(bo, branchFields, bloc, "")
		st.branches = append(st.branches, p.container(bo, bloc))
	}
}

// errorNames checks an ErrorEquals: a non-empty array of strings, with
// States.ALL alone.
func (p *parser) errorNames(o *Object, loc string) []string {
	v, ok := o.Get("ErrorEquals")
	if !ok {
		p.d.schema(loc, "These fields are required: [ErrorEquals]")
		return nil
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		p.d.schema(loc+"/ErrorEquals", "The field 'ErrorEquals' must be a non-empty array of STRINGs")
		return nil
	}
	var names []string
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			p.d.schema(loc+"/ErrorEquals", "The field 'ErrorEquals' must be a non-empty array of STRINGs")
			return nil
		}
		names = append(names, s)
	}
	if slices.Contains(names, "States.ALL") && len(names) > 1 {
		p.d.schema(loc+"/ErrorEquals", "States.ALL must appear alone in ErrorEquals")
	}
	return names
}

var retrierFields = []string{"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}

func (p *parser) retry(o *Object, loc string) []Retrier {
	v, ok := o.Get("Retry")
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.d.schema(loc+"/Retry", "The field 'Retry' must be an array of retriers")
		return nil
	}
	var out []Retrier
	for i, x := range arr {
		rloc := fmt.Sprintf("%s/Retry[%d]", loc, i)
		ro, ok := x.(*Object)
		if !ok {
			p.d.schema(rloc, "A retrier must be a JSON object")
			continue
		}
		p.unknownFields(ro, retrierFields, rloc, "")
		r := Retrier{ErrorEquals: p.errorNames(ro, rloc), IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2}
		if slices.Contains(r.ErrorEquals, "States.ALL") && i != len(arr)-1 {
			p.d.schema(rloc+"/ErrorEquals", "States.ALL must appear in the last retrier")
		}
		if v, ok := ro.Get("IntervalSeconds"); ok {
			r.IntervalSeconds = p.positiveInt(v, rloc+"/IntervalSeconds", "IntervalSeconds", 99999999)
		}
		if v, ok := ro.Get("MaxAttempts"); ok {
			n, isInt := asInteger(v)
			if !isInt || n < 0 || n > 99999999 {
				p.d.schema(rloc+"/MaxAttempts", "The value for the field 'MaxAttempts' must be an INTEGER from 0 to 99999999")
			}
			r.MaxAttempts = n
		}
		if v, ok := ro.Get("BackoffRate"); ok {
			n, isNum := v.(json.Number)
			f, err := n.Float64()
			if !isNum || err != nil || f < 1 {
				p.d.schema(rloc+"/BackoffRate", "The value for the field 'BackoffRate' must be a NUMBER of at least 1.0")
			}
			r.BackoffRate = f
		}
		if v, ok := ro.Get("MaxDelaySeconds"); ok {
			r.MaxDelaySeconds = p.positiveInt(v, rloc+"/MaxDelaySeconds", "MaxDelaySeconds", 31622400)
		}
		if v, ok := ro.Get("JitterStrategy"); ok {
			switch v {
			case "FULL":
				r.FullJitter = true
			case "NONE":
			default:
				p.d.schema(rloc+"/JitterStrategy", "The value for the field 'JitterStrategy' must be one of [FULL, NONE]")
			}
		}
		out = append(out, r)
	}
	return out
}

var catcherFields = []string{"ErrorEquals", "ResultPath", "Next", "Comment"}

func (p *parser) catch(o *Object, loc string) []Catcher {
	v, ok := o.Get("Catch")
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.d.schema(loc+"/Catch", "The field 'Catch' must be an array of catchers")
		return nil
	}
	var out []Catcher
	for i, x := range arr {
		cloc := fmt.Sprintf("%s/Catch[%d]", loc, i)
		co, ok := x.(*Object)
		if !ok {
			p.d.schema(cloc, "A catcher must be a JSON object")
			continue
		}
		p.unknownFields(co, catcherFields, cloc, "")
		c := Catcher{ErrorEquals: p.errorNames(co, cloc), ResultPath: p.pathField(co, "ResultPath", cloc, true)}
		if slices.Contains(c.ErrorEquals, "States.ALL") && i != len(arr)-1 {
			p.d.schema(cloc+"/ErrorEquals", "States.ALL must appear in the last catcher")
		}
		if nv, ok := co.Get("Next"); !ok {
			p.d.schema(cloc, "These fields are required: [Next]")
		} else if s, ok := nv.(string); ok {
			c.Next = s
		} else {
			p.d.schema(cloc+"/Next", "The value for the field 'Next' must be a STRING")
		}
		out = append(out, c)
	}
	return out
}

// transitions checks, as AWS does, that every target exists in the
// container, that some state ends it, and that every state is reached.
func (p *parser) transitions(c *container, prefix string) {
	type edge struct{ target, loc string }
	edges := func(st *State) []edge {
		sloc := prefix + "/States/" + st.Name
		var out []edge
		if st.Next != "" {
			out = append(out, edge{st.Next, sloc + "/Next"})
		}
		for i, r := range st.Choices {
			out = append(out, edge{r.Next, fmt.Sprintf("%s/Choices[%d]/Next", sloc, i)})
		}
		if st.Default != "" {
			out = append(out, edge{st.Default, sloc + "/Default"})
		}
		for i, k := range st.Catch {
			out = append(out, edge{k.Next, fmt.Sprintf("%s/Catch[%d]/Next", sloc, i)})
		}
		return out
	}
	if c.startAt != "" && !c.declared[c.startAt] {
		p.d.add("MISSING_TRANSITION_TARGET", prefix+"/StartAt", "Missing 'StartAt' target: %s", c.startAt)
	}
	terminal := false
	for _, name := range c.order {
		st := c.states[name]
		if st.End || st.Type == "Succeed" || st.Type == "Fail" {
			terminal = true
		}
		for _, e := range edges(st) {
			if e.target != "" && !c.declared[e.target] {
				p.d.add("MISSING_TRANSITION_TARGET", e.loc, "Missing 'Next' target: %s", e.target)
			}
		}
	}
	if !terminal && len(c.order) > 0 {
		p.d.add("MISSING_END_STATE", "", "Workflow has no terminal state")
		return
	}
	seen := map[string]bool{}
	queue := []string{c.startAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		st := c.states[name]
		if st == nil || seen[name] {
			continue
		}
		seen[name] = true
		for _, e := range edges(st) {
			queue = append(queue, e.target)
		}
	}
	for _, name := range c.order {
		if !seen[name] {
			p.d.add("MISSING_TRANSITION_TARGET", prefix+"/States/"+name, "State \"%s\" is not reachable.", name)
		}
	}
}
