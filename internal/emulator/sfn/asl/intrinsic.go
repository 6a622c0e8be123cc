package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"strings"
)

// An intrinsic function call, as a Payload Template's ".$" field may hold
// one: States.Format('{} of {}', $.a, States.ArrayLength($.b)). Arguments
// are string literals in single quotes (\' \{ \} \\ escape), numbers, true,
// false, null, paths and nested calls.
type intrinsic struct {
	name string
	args []intrinsicArg
}

type intrinsicArg struct {
	literal any    // a literal's value; a string literal unescaped
	raw     string // a string literal as written between the quotes, escapes kept
	isStr   bool
	path    *Path
	call    *intrinsic
}

// maxIntrinsicDepth is how deep calls may nest in one field, as on AWS.
const maxIntrinsicDepth = 10

// intrinsicArity is each emulated function's argument count: exact, or at
// least min when variadic.
var intrinsicArity = map[string]struct {
	min      int
	variadic bool
}{
	"States.Format":        {1, true},
	"States.StringToJson":  {1, false},
	"States.JsonToString":  {1, false},
	"States.Array":         {0, true},
	"States.ArrayGetItem":  {2, false},
	"States.ArrayLength":   {1, false},
	"States.ArrayContains": {2, false},
	"States.JsonMerge":     {3, false},
	"States.Hash":          {2, false},
	"States.MathAdd":       {2, false},
	"States.UUID":          {0, false},
}

// awsOnlyIntrinsics are AWS's other intrinsics, which the emulator refuses
// by name rather than as unknown.
var awsOnlyIntrinsics = map[string]bool{
	"States.ArrayPartition": true, "States.ArrayRange": true, "States.ArrayUnique": true,
	"States.Base64Encode": true, "States.Base64Decode": true, "States.MathRandom": true, "States.StringSplit": true,
}

// isIntrinsic reports whether a ".$" value is a function call rather than a
// path.
func isIntrinsic(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }

// parseIntrinsic compiles a call and checks its functions and arities.
func parseIntrinsic(text string) (*intrinsic, error) {
	p := &intrinsicParser{s: text}
	call, err := p.call(1)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the call", p.s[p.i:])
	}
	return call, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *intrinsicParser) call(depth int) (*intrinsic, error) {
	if depth > maxIntrinsicDepth {
		return nil, fmt.Errorf("intrinsic functions nest at most %d deep", maxIntrinsicDepth)
	}
	p.space()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	if p.i == len(p.s) {
		return nil, fmt.Errorf("%q is not a function call", p.s[start:])
	}
	arity, ok := intrinsicArity[name]
	switch {
	case awsOnlyIntrinsics[name]:
		return nil, fmt.Errorf("the intrinsic function %s is outside the emulated subset (Format, StringToJson, JsonToString, Array, ArrayGetItem, ArrayLength, ArrayContains, JsonMerge, Hash, MathAdd, UUID)", name)
	case !ok:
		return nil, fmt.Errorf("%s is not an intrinsic function", name)
	}
	p.i++ // (
	c := &intrinsic{name: name}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			arg, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("%s( is not closed", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("unexpected %q in the arguments of %s", p.s[p.i:], name)
			}
			p.i++
		}
	}
	n := len(c.args)
	if (arity.variadic && n < arity.min) || (!arity.variadic && n != arity.min) {
		want := fmt.Sprint(arity.min)
		if arity.variadic {
			want = "at least " + want
		}
		return nil, fmt.Errorf("%s takes %s arguments, not %d", name, want, n)
	}
	if name == "States.Format" {
		if !c.args[0].isStr && c.args[0].path == nil {
			return nil, fmt.Errorf("the first argument of States.Format must be a string or a path")
		}
		if c.args[0].isStr {
			holes, err := formatHoles(c.args[0].raw)
			if err != nil {
				return nil, err
			}
			if holes != n-1 {
				return nil, fmt.Errorf("States.Format's template has %d {} for %d arguments", holes, n-1)
			}
		}
	}
	return c, nil
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	p.space()
	if p.i >= len(p.s) {
		return intrinsicArg{}, fmt.Errorf("a missing argument")
	}
	switch c := p.s[p.i]; {
	case c == '\'':
		p.i++
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '\'' {
			if p.s[p.i] == '\\' {
				p.i++
			}
			p.i++
		}
		if p.i >= len(p.s) {
			return intrinsicArg{}, fmt.Errorf("an unterminated string literal")
		}
		raw := p.s[start:p.i]
		p.i++
		text, err := unescapeLiteral(raw)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{literal: text, raw: raw, isStr: true}, nil
	case c == '$':
		start := p.i
		depthB, quote := 0, byte(0)
		for p.i < len(p.s) {
			ch := p.s[p.i]
			if quote != 0 {
				if ch == quote {
					quote = 0
				}
			} else if ch == '\'' || ch == '"' {
				quote = ch
			} else if ch == '[' {
				depthB++
			} else if ch == ']' {
				depthB--
			} else if depthB == 0 && (ch == ',' || ch == ')' || ch == ' ') {
				break
			}
			p.i++
		}
		path, err := parsePath(p.s[start:p.i], false)
		if err != nil {
			return intrinsicArg{}, fmt.Errorf("the path %q: %v", p.s[start:p.i], err)
		}
		return intrinsicArg{path: path}, nil
	case strings.HasPrefix(p.s[p.i:], "States."):
		call, err := p.call(depth + 1)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{call: call}, nil
	default:
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ')' {
			p.i++
		}
		word := strings.TrimSpace(p.s[start:p.i])
		switch {
		case word == "true":
			return intrinsicArg{literal: true}, nil
		case word == "false":
			return intrinsicArg{literal: false}, nil
		case word == "null":
			return intrinsicArg{literal: nil}, nil
		case isJSONNumberText(word):
			return intrinsicArg{literal: json.Number(word)}, nil
		}
		return intrinsicArg{}, fmt.Errorf("%q is not a literal, a path or a call", word)
	}
}

// unescapeLiteral resolves \' \{ \} \\ in a string literal; any other
// backslash is an error, as on AWS.
func unescapeLiteral(raw string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			b.WriteByte(raw[i])
			continue
		}
		if i+1 >= len(raw) || !strings.ContainsRune(`'{}\`, rune(raw[i+1])) {
			return "", fmt.Errorf("an open escape \\ in the string literal '%s'", raw)
		}
		i++
		b.WriteByte(raw[i])
	}
	return b.String(), nil
}

// formatHoles counts the {} placeholders of a template, escapes kept.
func formatHoles(raw string) (int, error) {
	n := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '{':
			if i+1 >= len(raw) || raw[i+1] != '}' {
				return 0, fmt.Errorf("States.Format's template holds a { that is not {} nor escaped")
			}
			n++
			i++
		case '}':
			return 0, fmt.Errorf("States.Format's template holds a } that is not escaped")
		}
	}
	return n, nil
}

// intrinsicFailure is a call that failed at run time; the interpreter
// reports it as States.Runtime.
type intrinsicFailure struct{ msg string }

func (e *intrinsicFailure) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &intrinsicFailure{msg: fmt.Sprintf(format, args...)}
}

// eval runs the call against the effective input and the context object.
func (c *intrinsic) eval(input, ctx any) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.call != nil:
			v, err := a.call.eval(input, ctx)
			if err != nil {
				return nil, err
			}
			args[i] = v
		case a.path != nil:
			src := input
			if a.path.context {
				src = ctx
			}
			v, ok := a.path.get(src)
			if !ok {
				return nil, failf("the path '%s' in %s could not be found", a.path, c.name)
			}
			args[i] = v
		default:
			args[i] = a.literal
		}
	}
	switch c.name {
	case "States.Format":
		return c.format(args)
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, failf("States.StringToJson takes a string, not a %s", typeName(args[0]))
		}
		v, err := Unmarshal([]byte(s))
		if err != nil {
			return nil, failf("States.StringToJson: %q is not JSON: %v", s, err)
		}
		return v, nil
	case "States.JsonToString":
		return Marshal(args[0]), nil
	case "States.Array":
		return args, nil
	case "States.ArrayGetItem":
		a, ok := args[0].([]any)
		if !ok {
			return nil, failf("States.ArrayGetItem takes an array first, not a %s", typeName(args[0]))
		}
		i, ok := asInteger(args[1])
		if !ok {
			return nil, failf("States.ArrayGetItem takes an integer index, not %s", Marshal(args[1]))
		}
		if i < 0 || i >= int64(len(a)) {
			return nil, failf("States.ArrayGetItem: index %d is out of bounds of an array of %d", i, len(a))
		}
		return a[i], nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, failf("States.ArrayLength takes an array, not a %s", typeName(args[0]))
		}
		return number(int64(len(a))), nil
	case "States.ArrayContains":
		a, ok := args[0].([]any)
		if !ok {
			return nil, failf("States.ArrayContains takes an array first, not a %s", typeName(args[0]))
		}
		for _, x := range a {
			if equal(x, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.JsonMerge":
		a, ok1 := args[0].(*Object)
		b, ok2 := args[1].(*Object)
		deep, ok3 := args[2].(bool)
		if !ok1 || !ok2 || !ok3 {
			return nil, failf("States.JsonMerge takes two objects and a boolean")
		}
		if deep {
			return nil, failf("States.JsonMerge: deep merging is not supported; the third argument must be false")
		}
		out := clone(a).(*Object)
		for _, k := range b.keys {
			out.Set(k, clone(b.vals[k]))
		}
		return out, nil
	case "States.Hash":
		return hashOf(args[0], args[1])
	case "States.MathAdd":
		x, ok1 := asInteger(args[0])
		y, ok2 := asInteger(args[1])
		if !ok1 || !ok2 {
			return nil, failf("States.MathAdd takes two integers, not %s and %s", Marshal(args[0]), Marshal(args[1]))
		}
		for _, v := range []int64{x, y} {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, failf("States.MathAdd: %d is outside the 32-bit integer range", v)
			}
		}
		return number(x + y), nil
	case "States.UUID":
		return newUUID(), nil
	}
	return nil, failf("%s is not emulated", c.name)
}

// format fills the template's {} with the arguments: strings as they are,
// numbers, booleans and null as JSON.
func (c *intrinsic) format(args []any) (any, error) {
	var raw string
	if c.args[0].isStr {
		raw = c.args[0].raw
	} else {
		s, ok := args[0].(string)
		if !ok {
			return nil, failf("States.Format's template must be a string, not a %s", typeName(args[0]))
		}
		raw = s
	}
	holes, err := formatHoles(raw)
	if err != nil {
		return nil, failf("%v", err)
	}
	if holes != len(args)-1 {
		return nil, failf("States.Format's template has %d {} for %d arguments", holes, len(args)-1)
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
			if i < len(raw) {
				b.WriteByte(raw[i])
			}
		case '{':
			v := args[next]
			next++
			i++
			switch t := v.(type) {
			case string:
				b.WriteString(t)
			case *Object, []any:
				return nil, failf("States.Format takes strings, numbers, booleans and null to format, not a %s", typeName(v))
			default:
				b.WriteString(Marshal(t))
			}
		default:
			b.WriteByte(raw[i])
		}
	}
	return b.String(), nil
}

func hashOf(data, algorithm any) (any, error) {
	alg, ok := algorithm.(string)
	if !ok {
		return nil, failf("States.Hash takes the algorithm as a string")
	}
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, failf("States.Hash: %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", alg)
	}
	s, ok := data.(string)
	if !ok {
		s = Marshal(data)
	}
	if len(s) > 10000 {
		return nil, failf("States.Hash takes at most 10000 characters of data")
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// NewUUID is a random (version 4) UUID, as execution names are made.
func NewUUID() string { return newUUID() }
