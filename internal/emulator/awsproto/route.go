package awsproto

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// binding is a compiled REST binding, written as the service's Smithy model
// writes its @http trait: "GET /2015-03-31/functions/{FunctionName}", with
// {Label+} for a greedy label (at most one, anywhere) and ?key or ?key=value
// for query literals the request must carry.
type binding struct {
	method string
	segs   []segment
	greedy int // index of the greedy label in segs, -1 for none
	query  [][2]string
}

type segment struct {
	literal string // "" for a label
	label   string
}

func parseBinding(s string) (binding, error) {
	b := binding{greedy: -1}
	method, uri, ok := strings.Cut(s, " ")
	if !ok || method == "" || !strings.HasPrefix(uri, "/") {
		return b, fmt.Errorf("binding %q is not \"METHOD /path\"", s)
	}
	b.method = method
	path, query, _ := strings.Cut(uri, "?")
	for _, part := range splitPath(path) {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			name := part[1 : len(part)-1]
			if n, greedy := strings.CutSuffix(name, "+"); greedy {
				if b.greedy >= 0 {
					return b, fmt.Errorf("binding %q has two greedy labels", s)
				}
				b.greedy, name = len(b.segs), n
			}
			if name == "" {
				return b, fmt.Errorf("binding %q has an empty label", s)
			}
			b.segs = append(b.segs, segment{label: name})
			continue
		}
		if strings.ContainsAny(part, "{}") {
			return b, fmt.Errorf("binding %q: segment %q mixes a label and text", s, part)
		}
		b.segs = append(b.segs, segment{literal: part})
	}
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			b.query = append(b.query, [2]string{k, v})
		}
	}
	return b, nil
}

// splitPath splits a path into segments, ignoring the leading slash and one
// trailing slash: /2015-03-31/functions/ is /2015-03-31/functions.
func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether r is this binding's request and returns its labels,
// unescaped: an ARN's encoded colons and slashes stay inside its label.
func (b *binding) match(r *http.Request) (map[string]string, bool) {
	if r.Method != b.method {
		return nil, false
	}
	if len(b.query) > 0 {
		q := r.URL.Query()
		for _, kv := range b.query {
			vs, ok := q[kv[0]]
			if !ok || (kv[1] != "" && (len(vs) == 0 || vs[0] != kv[1])) {
				return nil, false
			}
		}
	}
	parts := splitPath(r.URL.EscapedPath())
	n := len(b.segs)
	switch {
	case b.greedy < 0 && len(parts) != n:
		return nil, false
	case b.greedy >= 0 && len(parts) < n:
		return nil, false
	}
	labels := map[string]string{}
	extra := len(parts) - n // segments the greedy label takes beyond its own
	for i, seg := range b.segs {
		j := i // index in parts
		if b.greedy >= 0 && i > b.greedy {
			j = i + extra
		}
		raw := parts[j]
		if i == b.greedy {
			raw = strings.Join(parts[j:j+extra+1], "/")
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, false
		}
		if seg.label == "" {
			if v != seg.literal {
				return nil, false
			}
			continue
		}
		if v == "" {
			return nil, false
		}
		labels[seg.label] = v
	}
	return labels, true
}

// firstLiteral is the binding's first path segment when it is a literal,
// such as Lambda's API date; "" when it is a label.
func (b *binding) firstLiteral() string {
	if len(b.segs) == 0 {
		return ""
	}
	return b.segs[0].literal
}

// example is a path and query this binding matches, each label filled in
// with its own name.
func (b *binding) example() string {
	var p strings.Builder
	for _, seg := range b.segs {
		p.WriteByte('/')
		if seg.label != "" {
			p.WriteString(url.PathEscape(seg.label))
		} else {
			p.WriteString(seg.literal)
		}
	}
	if p.Len() == 0 {
		p.WriteByte('/')
	}
	for i, kv := range b.query {
		if i == 0 {
			p.WriteByte('?')
		} else {
			p.WriteByte('&')
		}
		p.WriteString(url.QueryEscape(kv[0]))
		if kv[1] != "" {
			p.WriteString("=" + url.QueryEscape(kv[1]))
		}
	}
	return p.String()
}
