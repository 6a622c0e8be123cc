package asl

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a compiled JsonPath in the subset the emulator reads: $, .name,
// ['name'], [index] (negative counts from the end), .* and [*]. A path that
// starts with $$ reads the context object instead of the input. Reference
// Paths (ResultPath) take names and indexes only.
type Path struct {
	text    string
	context bool // $$
	steps   []step
}

type step struct {
	name     string
	index    int
	isIndex  bool
	wildcard bool
}

// String is the path as written.
func (p *Path) String() string { return p.text }

// definite reports whether the path selects at most one value.
func (p *Path) definite() bool {
	for _, s := range p.steps {
		if s.wildcard {
			return false
		}
	}
	return true
}

// normalized is the path as Step Functions prints it in errors: $['a'][0].
func (p *Path) normalized() string {
	var b strings.Builder
	if p.context {
		b.WriteString("$$")
	} else {
		b.WriteString("$")
	}
	for _, s := range p.steps {
		switch {
		case s.wildcard:
			b.WriteString("[*]")
		case s.isIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		default:
			fmt.Fprintf(&b, "['%s']", s.name)
		}
	}
	return b.String()
}

// parsePath compiles a Path. reference limits it to a Reference Path.
func parsePath(text string, reference bool) (*Path, error) {
	p := &Path{text: text}
	rest, ok := strings.CutPrefix(text, "$")
	if !ok {
		return nil, fmt.Errorf("a path starts with $")
	}
	if r, ok := strings.CutPrefix(rest, "$"); ok {
		if reference {
			return nil, fmt.Errorf("a Reference Path cannot read the context object")
		}
		p.context, rest = true, r
	}
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".."):
			return nil, fmt.Errorf("deep scan (..) is outside the emulated JsonPath subset")
		case rest[0] == '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			rest = rest[end:]
			switch {
			case name == "":
				return nil, fmt.Errorf("an empty member name")
			case name == "*":
				if reference {
					return nil, fmt.Errorf("a Reference Path cannot hold a wildcard")
				}
				p.steps = append(p.steps, step{wildcard: true})
			case strings.ContainsAny(name, " \t\n()?@'\"]*"):
				return nil, fmt.Errorf("the member name %q holds characters a path cannot", name)
			default:
				p.steps = append(p.steps, step{name: name})
			}
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if q := rest[1:]; len(q) > 0 && (q[0] == '\'' || q[0] == '"') {
				// A quoted name may hold ']'; find the closing quote first.
				close := strings.IndexByte(q[1:], q[0])
				if close < 0 {
					return nil, fmt.Errorf("an unterminated quoted name")
				}
				end = 1 + 1 + close + 1
				if end >= len(rest) || rest[end] != ']' {
					return nil, fmt.Errorf("a quoted name must be followed by ]")
				}
				p.steps = append(p.steps, step{name: q[1 : 1+close]})
				rest = rest[end+1:]
				continue
			}
			if end < 0 {
				return nil, fmt.Errorf("an unterminated [")
			}
			inner := strings.TrimSpace(rest[1:end])
			rest = rest[end+1:]
			switch {
			case inner == "*":
				if reference {
					return nil, fmt.Errorf("a Reference Path cannot hold a wildcard")
				}
				p.steps = append(p.steps, step{wildcard: true})
			case strings.HasPrefix(inner, "?") || strings.HasPrefix(inner, "("):
				return nil, fmt.Errorf("filter and script expressions are outside the emulated JsonPath subset")
			case strings.ContainsAny(inner, ":,"):
				return nil, fmt.Errorf("slices and unions are outside the emulated JsonPath subset")
			default:
				n, err := strconv.Atoi(inner)
				if err != nil {
					return nil, fmt.Errorf("%q is not an array index", inner)
				}
				if reference && n < 0 {
					return nil, fmt.Errorf("a Reference Path cannot hold a negative index")
				}
				p.steps = append(p.steps, step{index: n, isIndex: true})
			}
		default:
			return nil, fmt.Errorf("unexpected %q", rest)
		}
	}
	return p, nil
}

// get reads the path from v (the input, or the context object for $$
// paths, chosen by the caller). A definite path that selects nothing is not
// found; an indefinite one answers the array of what it selects.
func (p *Path) get(v any) (any, bool) {
	if p.definite() {
		for _, s := range p.steps {
			var ok bool
			if v, ok = s.apply(v); !ok {
				return nil, false
			}
		}
		return v, true
	}
	cur := []any{v}
	for _, s := range p.steps {
		var next []any
		for _, x := range cur {
			if s.wildcard {
				switch t := x.(type) {
				case []any:
					next = append(next, t...)
				case *Object:
					for _, k := range t.keys {
						next = append(next, t.vals[k])
					}
				}
				continue
			}
			if y, ok := s.apply(x); ok {
				next = append(next, y)
			}
		}
		cur = next
	}
	if cur == nil {
		cur = []any{}
	}
	return cur, true
}

func (s step) apply(v any) (any, bool) {
	if s.isIndex {
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	o, ok := v.(*Object)
	if !ok {
		return nil, false
	}
	return o.Get(s.name)
}

// set places value at the Reference Path p inside root, creating the
// objects on the way, and returns the new root. It fails where the path
// crosses a value of the wrong type or an index out of range.
func (p *Path) set(root, value any) (any, error) {
	if len(p.steps) == 0 {
		return value, nil
	}
	return setStep(root, p.steps, value)
}

func setStep(cur any, steps []step, value any) (any, error) {
	s := steps[0]
	if s.isIndex {
		a, ok := cur.([]any)
		if !ok || s.index >= len(a) {
			return nil, fmt.Errorf("cannot set index %d of a %s", s.index, typeName(cur))
		}
		if len(steps) == 1 {
			a[s.index] = value
			return a, nil
		}
		v, err := setStep(a[s.index], steps[1:], value)
		if err != nil {
			return nil, err
		}
		a[s.index] = v
		return a, nil
	}
	o, ok := cur.(*Object)
	if !ok {
		if cur != nil {
			return nil, fmt.Errorf("cannot add the field %q to a %s", s.name, typeName(cur))
		}
		o = NewObject()
	}
	if len(steps) == 1 {
		o.Set(s.name, value)
		return o, nil
	}
	child, _ := o.Get(s.name)
	v, err := setStep(child, steps[1:], value)
	if err != nil {
		return nil, err
	}
	o.Set(s.name, v)
	return o, nil
}
