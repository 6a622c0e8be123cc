package ecrpolicy

import (
	"strings"
	"testing"
)

func TestMergeAndDays(t *testing.T) {
	text, empty, err := Merge("", 14)
	if err != nil || empty {
		t.Fatalf("Merge: %q %v %v", text, empty, err)
	}
	if d, err := Days(text); err != nil || d != 14 {
		t.Fatalf("Days(%s) = %d, %v; want 14", text, d, err)
	}
	for _, want := range []string{`"tagStatus":"untagged"`, `"countType":"sinceImagePushed"`, `"countUnit":"days"`, `"type":"expire"`} {
		if !strings.Contains(text, want) {
			t.Errorf("policy %s lacks %s", text, want)
		}
	}

	// Someone else's rule at priority 1 stays; ours moves out of its way.
	foreign := `{"rules":[{"rulePriority":1,"description":"keep 5 releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	merged, _, err := Merge(foreign, 30)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(merged, "keep 5 releases") || !strings.Contains(merged, `"rulePriority":2`) {
		t.Errorf("merge lost the foreign rule or reused its priority: %s", merged)
	}
	if d, _ := Days(merged); d != 30 {
		t.Errorf("Days = %d, want 30", d)
	}
	again, _, _ := Merge(merged, 7)
	if d, _ := Days(again); d != 7 || strings.Count(again, Description) != 1 {
		t.Errorf("re-merge: %s", again)
	}

	// 0 removes our rule: the foreign one stays, and alone ours leaves nothing.
	off, empty, _ := Merge(again, 0)
	if empty || strings.Contains(off, Description) || !strings.Contains(off, "keep 5 releases") {
		t.Errorf("Merge(0) over a foreign rule = %s, %v", off, empty)
	}
	if _, empty, _ := Merge(text, 0); !empty {
		t.Error("Merge(0) of our rule alone should leave an empty policy")
	}
	if _, _, err := Merge("", MaxDays+1); err == nil {
		t.Error("Merge over MaxDays should fail")
	}
	if _, err := Days("{not json"); err == nil {
		t.Error("Days of bad JSON should fail")
	}
}
