package tags

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	c := &Config{Default: map[string]string{"env": "dev", "cost": "ml", "team-a": "x"}, IgnoreKeyPrefixes: []string{"team-"}}
	got := c.Merge(map[string]string{"env": "prod", "app": "iris"})
	want := map[string]string{"env": "prod", "cost": "ml", "app": "iris"}
	if !maps.Equal(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	var none *Config
	if got := none.Merge(nil); got == nil || len(got) != 0 {
		t.Errorf("nil config, nil tags: %v, want an empty map", got)
	}
}

func TestVisibleHidesInternalAWSAndIgnored(t *testing.T) {
	c := &Config{IgnoreKeys: []string{"owner"}}
	got := c.Visible(map[string]string{"aqueduct:owner": "h", "aws:cloudformation:stack": "s", "owner": "bob", "env": "dev"})
	if !maps.Equal(got, map[string]string{"env": "dev"}) {
		t.Errorf("Visible = %v", got)
	}
}

func TestOwn(t *testing.T) {
	c := &Config{Default: map[string]string{"env": "dev", "cost": "ml"}}
	all := map[string]string{"env": "dev", "cost": "other", "app": "iris", "added": "outside"}
	got := c.Own(all, map[string]string{"app": "iris"})
	// env repeats its default: the default's. cost differs from its default
	// and added is new: both changed outside Terraform, so they show.
	want := map[string]string{"app": "iris", "cost": "other", "added": "outside"}
	if !maps.Equal(got, want) {
		t.Errorf("Own = %v, want %v", got, want)
	}
	// A key the resource sets itself stays its own even at the default's value.
	if got := c.Own(map[string]string{"env": "dev"}, map[string]string{"env": "dev"}); !maps.Equal(got, map[string]string{"env": "dev"}) {
		t.Errorf("Own = %v", got)
	}
}

func TestDiffLeavesUnmanagedKeys(t *testing.T) {
	c := &Config{IgnoreKeys: []string{"owner"}}
	set, remove := c.Diff(
		map[string]string{"aqueduct:owner": "h", "aws:x": "y", "owner": "bob", "env": "dev", "old": "1"},
		map[string]string{"aqueduct:owner": "h", "env": "prod"})
	if !maps.Equal(set, map[string]string{"env": "prod"}) || !slices.Equal(remove, []string{"old"}) {
		t.Errorf("Diff: set %v remove %v", set, remove)
	}
}

func TestWithInternalWins(t *testing.T) {
	got := With(map[string]string{"aqueduct:owner": "h"}, map[string]string{"env": "dev"})
	if !maps.Equal(got, map[string]string{"aqueduct:owner": "h", "env": "dev"}) {
		t.Errorf("With = %v", got)
	}
}

func TestCheck(t *testing.T) {
	long := strings.Repeat("k", MaxKeyLength+1)
	probs := Check(map[string]string{long: "v", "aws:x": "v", "ok": strings.Repeat("v", MaxValueLength+1), "fine": ""})
	if len(probs) != 3 {
		t.Fatalf("Check = %v, want 3 problems", probs)
	}
	for _, p := range probs {
		if !strings.Contains(p.Detail, p.Key[:min(len(p.Key), 10)]) {
			t.Errorf("%q does not name the key", p.Detail)
		}
	}
	if d := CheckCount(47, 4); !strings.Contains(d, "51") || !strings.Contains(d, "at most 46") {
		t.Errorf("CheckCount(47, 4) = %q", d)
	}
	if d := CheckCount(46, 4); d != "" {
		t.Errorf("CheckCount(46, 4) = %q, want fine", d)
	}
}
