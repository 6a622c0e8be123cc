// Package opentofu keeps the list of acceptance tests that run on OpenTofu
// (subset.txt, run by `make test-tofu`) from rotting: every name in it must
// be a test function of this repository.
package opentofu

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
)

// subset reads the test names of subset.txt: one a line, # starts a comment.
func subset(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("subset.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// testFuncs maps each top-level TestXxx(t *testing.T) function of the
// repository's _test.go files to the file that holds it.
func testFuncs(t *testing.T) map[string]string {
	t.Helper()
	root := clitest.RepoRoot()
	funcs := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "bin" || n == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && len(fn.Type.Params.List) == 1 {
				funcs[fn.Name.Name] = p
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

func TestSubset_namesExistingTests(t *testing.T) {
	names := subset(t)
	if len(names) == 0 {
		t.Fatal("subset.txt names no test")
	}
	funcs := testFuncs(t)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("subset.txt names %s twice", n)
		}
		seen[n] = true
		if _, ok := funcs[n]; !ok {
			t.Errorf("subset.txt names %s, which is no test function of the repository any more: rename or remove it there", n)
		}
	}
}

// The subset runs every kind of object the provider has: for each resource
// and data source of the generated docs, the file of some listed test
// declares it in a configuration.
func TestSubset_coversEveryResourceAndDataSource(t *testing.T) {
	funcs := testFuncs(t)
	var files []string
	for _, n := range subset(t) {
		if p, ok := funcs[n]; ok {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, string(b))
		}
	}
	docs, err := filepath.Glob(filepath.Join(clitest.RepoRoot(), "docs", "*", "*.md"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no generated docs to list the provider's types from (%v)", err)
	}
	for _, d := range docs {
		kind, name := filepath.Base(filepath.Dir(d)), strings.TrimSuffix(filepath.Base(d), ".md")
		decl := `resource "aqueduct_` + name + `"`
		if kind == "data-sources" {
			decl = `data "aqueduct_` + name + `"`
		}
		covered := false
		for _, f := range files {
			covered = covered || strings.Contains(f, decl)
		}
		if !covered {
			t.Errorf("no test of subset.txt declares %s in its file: add one that does", decl)
		}
	}
}
