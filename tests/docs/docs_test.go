// Package docs checks the generated documentation in docs/: that it matches
// what `make generate` makes from the schemas, templates/ and examples/, and
// that every page is complete.
package docs

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

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

// tfplugindocs finds bin/tfplugindocs, else one on PATH. Without one it
// skips locally, but fails under CI or TF_ACC, where make installs it.
func tfplugindocs(t *testing.T, root string) string {
	t.Helper()
	if p := filepath.Join(root, "bin", "tfplugindocs"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("tfplugindocs"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" || os.Getenv("TF_ACC") != "" {
		t.Fatal("tfplugindocs is missing: run 'make tools' (make test does)")
	}
	t.Skip("tfplugindocs is missing: run 'make tools' to check the docs")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// run runs tfplugindocs in root with bin/ first on PATH, as make generate
// does, so that it finds the repository's terraform.
func run(t *testing.T, root, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tfplugindocs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// readTree maps the relative path of every file under dir to its contents.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return files
}

func TestDocs_matchWhatMakeGenerateMakes(t *testing.T) {
	root := repoRoot(t)
	bin := tfplugindocs(t, root)
	// tfplugindocs writes only below the provider directory, so the fresh
	// copy goes to a git-ignored place there.
	if err := os.MkdirAll(filepath.Join(root, ".cache"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Join(root, ".cache"), "docscheck-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	rel, _ := filepath.Rel(root, filepath.Join(tmp, "docs"))
	run(t, root, bin, "generate", "--provider-name", "aqueduct", "--rendered-website-dir", rel)

	fresh := readTree(t, filepath.Join(tmp, "docs"))
	committed := readTree(t, filepath.Join(root, "docs"))
	var stale []string
	for name, b := range fresh {
		old, ok := committed[name]
		switch {
		case !ok:
			stale = append(stale, "docs/"+name+" is missing")
		case !bytes.Equal(old, b):
			stale = append(stale, "docs/"+name+" differs: "+firstDifference(old, b))
		}
	}
	for name := range committed {
		if _, ok := fresh[name]; !ok {
			stale = append(stale, "docs/"+name+" is no longer generated")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Fatalf("docs/ is stale: run 'make generate' and commit docs/.\n%s", strings.Join(stale, "\n"))
	}
}

// firstDifference names the first line where the committed file and the
// fresh one part.
func firstDifference(old, fresh []byte) string {
	a, b := strings.Split(string(old), "\n"), strings.Split(string(fresh), "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("line %d is %q, make generate gives %q", i+1, x, y)
		}
	}
	return "line endings"
}

func TestDocs_passTfplugindocsValidate(t *testing.T) {
	root := repoRoot(t)
	run(t, root, tfplugindocs(t, root), "validate", "--provider-name", "aqueduct")
}

// undescribed matches a schema line with nothing after its type, which is
// how tfplugindocs renders an attribute without a description.
var undescribed = regexp.MustCompile("(?m)^- `([^`]+)` \\([^)]*\\)\\s*$")

func TestDocs_describeEveryAttributeAndShowExamples(t *testing.T) {
	root := repoRoot(t)
	pages := readTree(t, filepath.Join(root, "docs"))
	want := []string{"index.md", "resources/lambda_resource.md", "resources/workflow.md", "resources/operator.md", "data-sources/invocation.md"}
	for _, name := range want {
		page, ok := pages[name]
		if !ok {
			t.Errorf("docs/%s is missing: run 'make generate'", name)
			continue
		}
		for _, m := range undescribed.FindAllStringSubmatch(string(page), -1) {
			t.Errorf("docs/%s: attribute %q has no description; give it a MarkdownDescription with its units and limits", name, m[1])
		}
		if !bytes.Contains(page, []byte("```terraform")) {
			t.Errorf("docs/%s has no Terraform example: add one under examples/", name)
		}
		if strings.HasPrefix(name, "resources/") && !bytes.Contains(page, []byte("## Import")) {
			t.Errorf("docs/%s has no Import section: add examples/resources/<name>/import.sh", name)
		}
	}
	index := string(pages["index.md"])
	for _, s := range []string{"## Quickstart", "## Lambda limits", "10240 MB", "900 seconds", "6 MB", "lambda.amazonaws.com", "iam:PassRole", "logs:PutLogEvents"} {
		if !strings.Contains(index, s) {
			t.Errorf("docs/index.md does not mention %q", s)
		}
	}
}
