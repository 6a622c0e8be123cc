package lambdafn

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var validFunctionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func TestFunctionName_plainWhenUnambiguous(t *testing.T) {
	for _, tc := range []struct{ wf, op, want string }{
		{"churn", "train", "churn-train"},
		{"churn_v2", "feature-eng", "churn_v2-feature-eng"},
		{"A1", "b_2", "A1-b_2"},
	} {
		if got := FunctionName(tc.wf, tc.op); got != tc.want {
			t.Errorf("FunctionName(%q, %q) = %q, want %q", tc.wf, tc.op, got, tc.want)
		}
	}
}

func TestFunctionName_hashedWhenNeeded(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, tc := range []struct{ wf, op, prefix string }{
		{"my-pipeline", "train", "my-pipeline-train-"}, // '-' in the workflow is ambiguous
		{"sales.daily", "load data", "sales-daily-load-data-"},
		{long, "op", strings.Repeat("x", 53)},        // too long: cut to fit the hash
		{"wf", "op-0123456789", "wf-op-0123456789-"}, // plain would look hashed
		{"", "", "aqueduct-"},                        // nothing readable left
		{"ünïcode", "βeta", "n-code--eta-"},          // invalid runes replaced
	} {
		got := FunctionName(tc.wf, tc.op)
		if !strings.HasPrefix(got, tc.prefix) || !hashSuffix.MatchString(got) {
			t.Errorf("FunctionName(%q, %q) = %q, want prefix %q and a 10-hex hash suffix", tc.wf, tc.op, got, tc.prefix)
		}
	}
}

func TestFunctionName_deterministicValidAndShort(t *testing.T) {
	inputs := [][2]string{
		{"churn", "train"}, {"my-pipeline", "x"}, {strings.Repeat("w", 200), strings.Repeat("o", 200)},
		{"a/b", "c:d"}, {"--", "--"}, {"wf", strings.Repeat("-", 70)}, {"日本", "語"},
	}
	for _, in := range inputs {
		a, b := FunctionName(in[0], in[1]), FunctionName(in[0], in[1])
		if a != b {
			t.Errorf("FunctionName(%q, %q) not deterministic: %q then %q", in[0], in[1], a, b)
		}
		if !validFunctionName.MatchString(a) {
			t.Errorf("FunctionName(%q, %q) = %q (%d chars): not a valid Lambda name", in[0], in[1], a, len(a))
		}
	}
}

func TestFunctionName_distinctForDistinctInputs(t *testing.T) {
	// Pairs that collide under naive joining, sanitising or truncating.
	long := strings.Repeat("p", 60)
	pairs := [][2][2]string{
		{{"a-b", "c"}, {"a", "b-c"}},
		{{"a.b", "c"}, {"a_b", "c"}},
		{{"a.b", "c"}, {"a-b", "c"}},
		{{"a b", "c"}, {"a-b", "c"}},
		{{long, "op1"}, {long, "op2"}},
		{{"wf", "op-0123456789"}, {"wf-op", "0123456789"}},
		{{"", "ab"}, {"a", "b"}},
	}
	for _, p := range pairs {
		x, y := FunctionName(p[0][0], p[0][1]), FunctionName(p[1][0], p[1][1])
		if x == y {
			t.Errorf("%q and %q both map to %q", p[0], p[1], x)
		}
	}

	// And no collisions across a larger generated set.
	seen := map[string][2]string{}
	parts := []string{"", "a", "a-", "-a", "a_b", "a-b", "a.b", "train", "x" + strings.Repeat("y", 60)}
	for _, wf := range parts {
		for _, op := range parts {
			for i := range 3 {
				o := op + fmt.Sprint(i)
				n := FunctionName(wf, o)
				if prev, ok := seen[n]; ok {
					t.Fatalf("%q and %q both map to %q", prev, [2]string{wf, o}, n)
				}
				seen[n] = [2]string{wf, o}
			}
		}
	}
}
