package asl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ChoiceRule is one rule of a Choice state: a comparison of Variable, or
// And, Or, Not over nested rules. Top-level rules carry Next.
type ChoiceRule struct {
	Next     string
	Variable *Path
	Op       string // StringEquals, StringMatches, IsPresent, BooleanEquals, NumericEquals, And, Or, Not
	Value    any
	Rules    []*ChoiceRule // And, Or; Not has one
}

var (
	comparisons    = []string{"StringEquals", "StringMatches", "IsPresent", "BooleanEquals", "NumericEquals"}
	awsComparisons = []string{
		"BooleanEqualsPath", "IsBoolean", "IsNull", "IsNumeric", "IsString", "IsTimestamp",
		"NumericEqualsPath", "NumericGreaterThan", "NumericGreaterThanPath", "NumericGreaterThanEquals",
		"NumericGreaterThanEqualsPath", "NumericLessThan", "NumericLessThanPath", "NumericLessThanEquals",
		"NumericLessThanEqualsPath", "StringEqualsPath", "StringGreaterThan", "StringGreaterThanPath",
		"StringGreaterThanEquals", "StringGreaterThanEqualsPath", "StringLessThan", "StringLessThanPath",
		"StringLessThanEquals", "StringLessThanEqualsPath", "TimestampEquals", "TimestampEqualsPath",
		"TimestampGreaterThan", "TimestampGreaterThanPath", "TimestampGreaterThanEquals",
		"TimestampGreaterThanEqualsPath", "TimestampLessThan", "TimestampLessThanPath",
		"TimestampLessThanEquals", "TimestampLessThanEqualsPath", "Condition",
	}
)

func (p *parser) choice(st *State, o *Object, loc string) {
	cv, ok := o.Get("Choices")
	if !ok {
		p.d.schema(loc, "These fields are required: [Choices]")
		return
	}
	arr, ok := cv.([]any)
	if !ok || len(arr) == 0 {
		p.d.schema(loc+"/Choices", "The field 'Choices' must be a non-empty array of Choice Rules")
		return
	}
	for i, x := range arr {
		st.Choices = append(st.Choices, p.rule(x, fmt.Sprintf("%s/Choices[%d]", loc, i), true))
	}
	if dv, ok := o.Get("Default"); ok {
		if s, ok := dv.(string); ok {
			st.Default = s
		} else {
			p.d.schema(loc+"/Default", "The value for the field 'Default' must be a STRING")
		}
	}
}

func (p *parser) rule(x any, loc string, top bool) *ChoiceRule {
	r := &ChoiceRule{}
	o, ok := x.(*Object)
	if !ok {
		p.d.schema(loc, "A Choice Rule must be a JSON object")
		return r
	}
	for _, k := range o.keys {
		switch {
		case k == "Next" || k == "Variable" || k == "Comment" || k == "And" || k == "Or" || k == "Not" || slices.Contains(comparisons, k):
		case slices.Contains(awsComparisons, k):
			p.d.schema(loc, "The comparison '%s' is outside the emulated subset (StringEquals, StringMatches, IsPresent, BooleanEquals, NumericEquals, And, Or, Not)", k)
		default:
			p.d.schema(loc, "Field '%s' is not supported", k)
		}
	}
	if nv, ok := o.Get("Next"); ok {
		if !top {
			p.d.schema(loc, "Field 'Next' is not supported in a nested Choice Rule")
		}
		r.Next, _ = nv.(string)
	} else if top {
		p.d.schema(loc, "These fields are required: [Next]")
	}
	var ops []string
	for _, k := range o.keys {
		if k == "And" || k == "Or" || k == "Not" || slices.Contains(comparisons, k) {
			ops = append(ops, k)
		}
	}
	if len(ops) != 1 {
		if len(ops) == 0 && !slices.ContainsFunc(o.keys, func(k string) bool { return slices.Contains(awsComparisons, k) }) {
			p.d.schema(loc, "A Choice Rule must have exactly one comparison, or And, Or, Not")
		} else if len(ops) > 1 {
			p.d.schema(loc, "A Choice Rule must have exactly one comparison, or And, Or, Not, not %s", strings.Join(ops, " and "))
		}
		return r
	}
	r.Op = ops[0]
	v, _ := o.Get(r.Op)
	switch r.Op {
	case "And", "Or":
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 {
			p.d.schema(loc+"/"+r.Op, "The field '%s' must be a non-empty array of Choice Rules", r.Op)
			return r
		}
		for i, x := range arr {
			r.Rules = append(r.Rules, p.rule(x, fmt.Sprintf("%s/%s[%d]", loc, r.Op, i), false))
		}
		if _, ok := o.Get("Variable"); ok {
			p.d.schema(loc, "Field 'Variable' is not supported with %s", r.Op)
		}
		return r
	case "Not":
		r.Rules = []*ChoiceRule{p.rule(v, loc+"/Not", false)}
		if _, ok := o.Get("Variable"); ok {
			p.d.schema(loc, "Field 'Variable' is not supported with Not")
		}
		return r
	}
	vv, ok := o.Get("Variable")
	if !ok {
		p.d.schema(loc, "These fields are required: [Variable]")
		return r
	}
	s, ok := vv.(string)
	if !ok {
		p.d.schema(loc+"/Variable", "The value for the field 'Variable' must be a STRING")
		return r
	}
	path, err := parsePath(s, false)
	if err != nil {
		p.d.schema(loc+"/Variable", "The value for the field 'Variable' must be a valid JSONPath: %v", err)
		return r
	}
	r.Variable, r.Value = path, v
	want := map[string]string{"StringEquals": "string", "StringMatches": "string", "IsPresent": "boolean", "BooleanEquals": "boolean", "NumericEquals": "number"}[r.Op]
	if typeName(v) != want {
		p.d.schema(loc+"/"+r.Op, "The value for the field '%s' must be a %s", r.Op, strings.ToUpper(want))
	}
	if r.Op == "StringMatches" {
		if s, ok := v.(string); ok && len(s) > 0 && strings.HasSuffix(s, `\`) && !strings.HasSuffix(s, `\\`) {
			p.d.schema(loc+"/StringMatches", "The pattern of 'StringMatches' ends in an open escape")
		}
	}
	return r
}

// errNoVariable is a comparison whose Variable is not in the input.
type errNoVariable struct{ path string }

func (e *errNoVariable) Error() string {
	return fmt.Sprintf("Invalid path '%s': The choice state's condition path references an invalid value.", e.path)
}

// match evaluates the rule against the effective input.
func (r *ChoiceRule) match(input, ctx any) (bool, error) {
	switch r.Op {
	case "And":
		for _, x := range r.Rules {
			if ok, err := x.match(input, ctx); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "Or":
		for _, x := range r.Rules {
			if ok, err := x.match(input, ctx); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "Not":
		ok, err := r.Rules[0].match(input, ctx)
		return !ok, err
	}
	src := input
	if r.Variable.context {
		src = ctx
	}
	v, found := r.Variable.get(src)
	if r.Op == "IsPresent" {
		return found == r.Value.(bool), nil
	}
	if !found {
		return false, &errNoVariable{r.Variable.String()}
	}
	switch r.Op {
	case "StringEquals":
		s, ok := v.(string)
		return ok && s == r.Value.(string), nil
	case "StringMatches":
		s, ok := v.(string)
		return ok && wildcardMatch(r.Value.(string), s), nil
	case "BooleanEquals":
		b, ok := v.(bool)
		return ok && b == r.Value.(bool), nil
	case "NumericEquals":
		n, ok := v.(json.Number)
		if !ok {
			return false, nil
		}
		a, err1 := n.Float64()
		b, err2 := r.Value.(json.Number).Float64()
		return err1 == nil && err2 == nil && a == b, nil
	}
	return false, nil
}

// wildcardMatch matches s against a StringMatches pattern: * matches any
// run of characters; \* is a literal star and \\ a literal backslash.
func wildcardMatch(pattern, s string) bool {
	type tok struct {
		star bool
		lit  byte
	}
	var toks []tok
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			toks = append(toks, tok{lit: pattern[i]})
		case c == '*':
			toks = append(toks, tok{star: true})
		default:
			toks = append(toks, tok{lit: c})
		}
	}
	// Greedy matching with backtracking to the last star.
	ti, si, starT, starS := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && !toks[ti].star && toks[ti].lit == s[si]:
			ti++
			si++
		case ti < len(toks) && toks[ti].star:
			starT, starS = ti, si
			ti++
		case starT >= 0:
			starS++
			si = starS
			ti = starT + 1
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].star {
		ti++
	}
	return ti == len(toks)
}
