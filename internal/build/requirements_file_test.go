package build

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequirementsFile_contentIsInstalledAndHashed(t *testing.T) {
	dir := t.TempDir()
	tree := baseTree()
	tree["deps/requirements.txt"] = file{data: "tinypkg==1.0"} // no final newline
	writeTree(t, dir, tree)
	spec := scratchSpec(dir)
	spec.RequirementsFile = "deps/requirements.txt"

	h1, err := Hash(spec)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if df := string(Dockerfile(spec)); !strings.Contains(df, "pip install --no-cache-dir -r "+requirementsPath) {
		t.Fatalf("Dockerfile has no pip step for the requirements file:\n%s", df)
	}
	tarball, err := contextTar(mustNormalize(t, spec), sha256.New())
	if err != nil {
		t.Fatal(err)
	}
	if got := tarMember(t, tarball, contextRequirements); got != "tinypkg==1.0\n" {
		t.Fatalf("context requirements.txt = %q, want the file's content", got)
	}

	// Editing the file is a new hash; restoring it is the old one.
	p := filepath.Join(dir, "deps", "requirements.txt")
	if err := os.WriteFile(p, []byte("tinypkg==2.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2, err := Hash(spec)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h1 {
		t.Fatal("editing requirements_file did not change the hash")
	}
	// Even when .dockerignore keeps the file out of the image's source.
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("deps/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h3, _ := Hash(spec)
	if err := os.WriteFile(p, []byte("tinypkg==3.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h4, err := Hash(spec)
	if err != nil {
		t.Fatal(err)
	}
	if h3 == h4 {
		t.Fatal("an edit of a .dockerignored requirements_file did not change the hash")
	}
}

func TestRequirementsFile_sameAsInlineLines(t *testing.T) {
	dir := t.TempDir()
	tree := baseTree()
	tree["requirements.txt"] = file{data: "a==1\nb==2\n"}
	writeTree(t, dir, tree)
	fromFile := scratchSpec(dir)
	fromFile.RequirementsFile = "requirements.txt"
	inline := scratchSpec(dir)
	inline.Requirements = []string{"a==1", "b==2"}
	hf, err := Hash(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	hi, err := Hash(inline)
	if err != nil {
		t.Fatal(err)
	}
	if hf != hi {
		t.Fatalf("the same requirements from a file and inline hash differently (%s, %s); they build the same image", hf, hi)
	}
}

func TestCheckRequirementsFile_refusesPathsOutsideTheSource(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "req.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tree := baseTree()
	tree["requirements.txt"] = file{data: "x\n"}
	tree["escape.txt"] = file{link: filepath.Join(outside, "req.txt")}
	tree["inside-link.txt"] = file{link: "requirements.txt"}
	tree["sub/dir"] = file{dir: true}
	writeTree(t, dir, tree)

	for rel, want := range map[string]string{
		"missing.txt":               "does not exist",
		"../req.txt":                "leads out of",
		"sub/../../req.txt":         "leads out of",
		filepath.Join(outside, "r"): "is absolute",
		"escape.txt":                "outside the operator's source",
		"sub/dir":                   "not a regular file",
		"":                          "empty",
	} {
		_, err := CheckRequirementsFile(dir, rel)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckRequirementsFile(%q) = %v, want an error with %q", rel, err, want)
		}
		if err != nil && rel != "" && !strings.Contains(err.Error(), rel) {
			t.Errorf("CheckRequirementsFile(%q): error %q does not name the value", rel, err)
		}
	}
	for _, ok := range []string{"requirements.txt", "./requirements.txt", "inside-link.txt", "sub/../requirements.txt"} {
		if _, err := CheckRequirementsFile(dir, ok); err != nil {
			t.Errorf("CheckRequirementsFile(%q): %v", ok, err)
		}
	}
	spec := scratchSpec(dir)
	spec.RequirementsFile, spec.Requirements = "requirements.txt", []string{"y"}
	if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("Validate with requirements and requirements_file = %v, want a conflict", err)
	}
}

func tarMember(t *testing.T, b []byte, name string) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s is not in the context", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			data, _ := io.ReadAll(tr)
			return string(data)
		}
	}
}
