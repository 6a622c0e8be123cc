package testenv

import (
	"testing"
)

func TestComplete(t *testing.T) {
	for _, c := range []struct {
		tfacc, ci string
		want      bool
	}{{"", "", false}, {"1", "", true}, {"", "true", true}, {"1", "1", true}} {
		t.Setenv("TF_ACC", c.tfacc)
		t.Setenv("CI", c.ci)
		if got := Complete(); got != c.want {
			t.Errorf("TF_ACC=%q CI=%q: Complete() = %v", c.tfacc, c.ci, got)
		}
	}
}

// A missing prerequisite skips a developer's run and fails a complete one.
func TestMissing(t *testing.T) {
	for _, complete := range []bool{false, true} {
		ft := &fakeT{}
		if complete {
			t.Setenv("TF_ACC", "1")
		} else {
			t.Setenv("TF_ACC", "")
			t.Setenv("CI", "")
		}
		func() {
			defer func() { _ = recover() }()
			missing(ft, "a thing")
		}()
		if ft.failed != complete || ft.skipped == complete {
			t.Errorf("complete=%v: failed=%v skipped=%v", complete, ft.failed, ft.skipped)
		}
	}
}

// fakeT records what missing did; Fatal and Skip end the goroutine in a
// real test, so they panic here.
type fakeT struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeT) Skipf(string, ...any)  { f.skipped = true; panic("skip") }
