package iam

import (
	"encoding/json"
	"strings"
)

// ConditionOperators are the trust policy condition operators the emulator
// evaluates. A statement with any other operator never matches (fails
// closed), whatever its effect.
var ConditionOperators = []string{"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike"}

type trustStatement struct {
	Effect    string
	Action    json.RawMessage
	Principal json.RawMessage
	Condition map[string]map[string]json.RawMessage
}

// allows evaluates a role's trust policy for action by a caller known as
// any of awsNames (an AWS principal) or federated (a Federated principal),
// with ctx the request's condition keys. An explicit Deny wins over Allow.
func allows(doc, action string, awsNames []string, ctx map[string][]string, federated ...string) bool {
	var p struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &p) != nil {
		return false
	}
	var stmts []trustStatement
	if json.Unmarshal(p.Statement, &stmts) != nil {
		var one trustStatement
		if json.Unmarshal(p.Statement, &one) != nil {
			return false
		}
		stmts = []trustStatement{one}
	}
	allowed := false
	for _, st := range stmts {
		if !anyMatch(stringOrList(st.Action), action, "sts:*", "*") {
			continue
		}
		if !principalMatches(st.Principal, awsNames, federated) || !conditionsHold(st.Condition, ctx) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

func principalMatches(raw json.RawMessage, awsNames, federated []string) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var pr map[string]json.RawMessage
	if json.Unmarshal(raw, &pr) != nil {
		return false
	}
	if len(awsNames) > 0 && anyMatch(stringOrList(pr["AWS"]), awsNames...) {
		return true
	}
	return len(federated) > 0 && anyMatch(stringOrList(pr["Federated"]), federated...)
}

func conditionsHold(cond map[string]map[string]json.RawMessage, ctx map[string][]string) bool {
	for op, keys := range cond {
		for key, raw := range keys {
			want := stringOrList(raw)
			var have []string
			for k, v := range ctx {
				if strings.EqualFold(k, key) {
					have = v
				}
			}
			if !evaluate(op, want, have) {
				return false
			}
		}
	}
	return true
}

// evaluate applies one operator: true when any of the request's values
// matches any of the policy's (the negated forms: when none does).
func evaluate(op string, want, have []string) bool {
	match := func(eq func(w, h string) bool) bool {
		for _, h := range have {
			for _, w := range want {
				if eq(w, h) {
					return true
				}
			}
		}
		return false
	}
	equals := func(w, h string) bool { return w == h }
	like := wildcard
	switch op {
	case "StringEquals":
		return match(equals)
	case "StringNotEquals":
		return !match(equals)
	case "StringEqualsIgnoreCase":
		return match(strings.EqualFold)
	case "StringLike":
		return match(like)
	case "StringNotLike":
		return !match(like)
	}
	return false
}

// wildcard matches s against an IAM pattern: * is any run of characters
// ("/" included), ? is one character, the rest is literal.
func wildcard(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	i, j, star, mark := 0, 0, -1, 0
	for j < len(str) {
		switch {
		case i < len(p) && (p[i] == '?' || p[i] == str[j]):
			i++
			j++
		case i < len(p) && p[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(p) && p[i] == '*' {
		i++
	}
	return i == len(p)
}
