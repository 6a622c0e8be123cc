package lambda

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

func TestExistingRIE(t *testing.T) {
	root := t.TempDir()
	if p, err := existingRIE("", root); p != "" || err != nil {
		t.Errorf("empty root: %q, %v", p, err)
	}
	bin := filepath.Join(root, "bin", "aws-lambda-rie")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, _ := existingRIE("", root); p != bin {
		t.Errorf("repo bin: %q", p)
	}
	other := filepath.Join(t.TempDir(), "rie")
	if _, err := existingRIE(other, root); err == nil {
		t.Errorf("a missing AQUEDUCT_RIE_PATH was accepted")
	}
	if err := os.WriteFile(other, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, _ := existingRIE(other, root); p != other {
		t.Errorf("AQUEDUCT_RIE_PATH is not preferred: %q", p)
	}
}

// The build from the pinned module yields a static binary, which a FROM
// scratch image can run.
func TestBuildRIEIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "aws-lambda-rie")
	if err := buildRIE(context.Background(), root, out); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", out)
		}
	}
	if st, err := os.Stat(out); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("not an executable: %v %v", st, err)
	}
}
