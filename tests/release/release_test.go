// Package release checks that the provider releases as the Terraform
// Registry expects: the goreleaser configuration passes goreleaser's check
// and makes signed, correctly named artifacts whose binary reports the
// injected version and commit; the workflows pass actionlint; and LICENSE,
// CHANGELOG.md and the import examples are what users look for.
//
// The tools come from bin/ (make tools-release builds them). Without one a
// test skips locally, but fails under CI or TF_ACC, where make installs it.
package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const project = "terraform-provider-aqueduct"

// repoRoot is the module root: two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// tool finds bin/NAME, else NAME on PATH.
func tool(t *testing.T, root, name, install string) string {
	t.Helper()
	if p := filepath.Join(root, "bin", name); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") != "" || os.Getenv("TF_ACC") != "" {
		t.Fatalf("%s is missing: run '%s' (make test does)", name, install)
	}
	t.Skipf("%s is missing: run '%s' to check the release configuration", name, install)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// run runs a command in dir and returns its combined output; it fails the
// test, with that output, when the command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
