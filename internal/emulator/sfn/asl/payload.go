package asl

import (
	"fmt"
	"strings"
)

// template is a compiled Payload Template (Parameters, ResultSelector): a
// JSON value whose object fields named "x.$" take their value, under the
// name "x", from a path into the effective input, a $$ path into the
// context object, or an intrinsic function call. Objects inside arrays are
// templates too.
type template struct {
	root node
}

type node struct {
	literal any // a leaf that is taken as it is
	object  []field
	isObj   bool
	array   []node
	isArr   bool
}

type field struct {
	name    string // without ".$"
	key     string // as written
	value   node   // static
	path    *Path  // dynamic: a path
	call    *intrinsic
	dynamic bool
	text    string // the ".$" value as written
}

// compileTemplate compiles a Payload Template; problems go to d at loc.
func compileTemplate(v any, d *diagnostics, loc string) *template {
	return &template{root: compileNode(v, d, loc)}
}

func compileNode(v any, d *diagnostics, loc string) node {
	switch t := v.(type) {
	case *Object:
		n := node{isObj: true}
		for _, k := range t.keys {
			val := t.vals[k]
			name, dyn := strings.CutSuffix(k, ".$")
			if !dyn {
				n.object = append(n.object, field{name: k, key: k, value: compileNode(val, d, loc)})
				continue
			}
			f := field{name: name, key: k, dynamic: true}
			s, ok := val.(string)
			switch {
			case !ok:
				d.schema(loc, "The value for the field '%s' must be a STRING that contains a JSONPath but was an %s", k, strings.ToUpper(typeName(val)))
			case isIntrinsic(s):
				call, err := parseIntrinsic(s)
				if err != nil {
					d.schema(loc, "The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call: %v", k, err)
				}
				f.call, f.text = call, s
			default:
				p, err := parsePath(s, false)
				if err != nil {
					d.schema(loc, "The value for the field '%s' must be a valid JSONPath: %v", k, err)
				}
				f.path, f.text = p, s
			}
			n.object = append(n.object, f)
		}
		return n
	case []any:
		n := node{isArr: true}
		for _, x := range t {
			n.array = append(n.array, compileNode(x, d, loc))
		}
		return n
	}
	return node{literal: v}
}

// templateError is a ".$" field that could not be evaluated; the
// interpreter reports it as States.Runtime.
type templateError struct{ msg string }

func (e *templateError) Error() string { return e.msg }

// eval builds the payload from the effective input and the context object.
func (t *template) eval(input, ctx any) (any, error) { return t.root.eval(input, ctx) }

func (n node) eval(input, ctx any) (any, error) {
	switch {
	case n.isObj:
		o := NewObject()
		for _, f := range n.object {
			if !f.dynamic {
				v, err := f.value.eval(input, ctx)
				if err != nil {
					return nil, err
				}
				o.Set(f.name, v)
				continue
			}
			if f.call != nil {
				v, err := f.call.eval(input, ctx)
				if err != nil {
					return nil, &templateError{fmt.Sprintf("The function '%s' specified for the field '%s' failed: %v", f.text, f.key, err)}
				}
				o.Set(f.name, v)
				continue
			}
			src, what := input, "input"
			if f.path.context {
				src, what = ctx, "context object"
			}
			v, ok := f.path.get(src)
			if !ok {
				return nil, &templateError{fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the %s '%s'", f.text, f.key, what, Marshal(src))}
			}
			o.Set(f.name, clone(v))
		}
		return o, nil
	case n.isArr:
		a := make([]any, 0, len(n.array))
		for _, x := range n.array {
			v, err := x.eval(input, ctx)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	}
	return clone(n.literal), nil
}

// lookup finds a top-level field of an object template: its static value,
// or whether it is dynamic. Validation of integration parameters uses it.
func (t *template) lookup(name string) (f field, ok bool) {
	for _, f := range t.root.object {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}
