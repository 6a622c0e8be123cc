package build

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// file is one entry of a test tree: contents, mode, or a symlink target.
type file struct {
	data string
	mode os.FileMode
	link string
	dir  bool
}

func writeTree(t testing.TB, dir string, tree map[string]file) {
	t.Helper()
	for name, f := range tree {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case f.link != "":
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
		default:
			mode := f.mode
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, []byte(f.data), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, mode); err != nil { // umask-proof
				t.Fatal(err)
			}
		}
	}
}

func baseTree() map[string]file {
	return map[string]file{
		"main.py":           {data: "def handler(x):\n    return x\n"},
		"lib/util.py":       {data: "X = 1\n"},
		"lib/__init__.py":   {data: ""},
		"bin/run.sh":        {data: "#!/bin/sh\necho hi\n", mode: 0o755},
		"data/weights.bin":  {data: string(bytes.Repeat([]byte{0, 1, 2, 3}, 1000))},
		"empty":             {dir: true},
		"link-to-util.py":   {link: "lib/util.py"},
		"nested/deep/a.txt": {data: "a"},
	}
}

func baseSpec(dir string) Spec {
	return Spec{
		SourceDir:     dir,
		Function:      "main:handler",
		Requirements:  []string{"numpy==2.1.0", "requests>=2"},
		PythonVersion: "3.12",
		BaseImage:     "public.ecr.aws/lambda/python:3.12",
		Architecture:  "x86_64",
	}
}

func mustHash(t testing.TB, spec Spec) string {
	t.Helper()
	h, err := Hash(spec)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

func TestHash_formatIsSha256Hex(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	h := mustHash(t, baseSpec(dir))
	hexPart, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		t.Fatalf("Hash = %q, want sha256:<64 lowercase hex>", h)
	}
}

func TestHash_sameContentInTwoDirsWithDifferentMtimesIsEqual(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, baseTree())
	writeTree(t, b, baseTree())
	// Different mtimes on every path of b.
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	err := filepath.Walk(b, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	ha, hb := mustHash(t, baseSpec(a)), mustHash(t, baseSpec(b))
	if ha != hb {
		t.Fatalf("same tree, different dirs/mtimes: %s != %s", ha, hb)
	}
	if again := mustHash(t, baseSpec(a)); again != ha {
		t.Fatalf("hash not stable across calls: %s then %s", ha, again)
	}
}

func TestHash_changesWithEveryInput(t *testing.T) {
	mutations := map[string]struct {
		tree func(map[string]file)
		spec func(*Spec)
	}{
		"one byte of a file": {tree: func(m map[string]file) { m["lib/util.py"] = file{data: "X = 2\n"} }},
		"one byte of a binary": {tree: func(m map[string]file) {
			d := []byte(m["data/weights.bin"].data)
			d[2000] ^= 1
			m["data/weights.bin"] = file{data: string(d)}
		}},
		"exec bit added":        {tree: func(m map[string]file) { m["main.py"] = file{data: m["main.py"].data, mode: 0o755} }},
		"file renamed":          {tree: func(m map[string]file) { m["bin/go.sh"] = m["bin/run.sh"]; delete(m, "bin/run.sh") }},
		"file added":            {tree: func(m map[string]file) { m["new.py"] = file{data: ""} }},
		"empty dir added":       {tree: func(m map[string]file) { m["empty2"] = file{dir: true} }},
		"symlink target":        {tree: func(m map[string]file) { m["link-to-util.py"] = file{link: "lib/__init__.py"} }},
		"symlink becomes file":  {tree: func(m map[string]file) { m["link-to-util.py"] = file{data: "lib/util.py"} }},
		"requirement changed":   {spec: func(s *Spec) { s.Requirements[0] = "numpy==2.1.1" }},
		"requirement added":     {spec: func(s *Spec) { s.Requirements = append(s.Requirements, "pandas") }},
		"requirements reversed": {spec: func(s *Spec) { s.Requirements = []string{s.Requirements[1], s.Requirements[0]} }},
		"no requirements":       {spec: func(s *Spec) { s.Requirements = nil }},
		"base image":            {spec: func(s *Spec) { s.BaseImage = "public.ecr.aws/lambda/python:3.11" }},
		"architecture":          {spec: func(s *Spec) { s.Architecture = "arm64" }},
		"python version":        {spec: func(s *Spec) { s.PythonVersion = "3.13" }},
		"function":              {spec: func(s *Spec) { s.Function = "main:other" }},
	}
	base := t.TempDir()
	writeTree(t, base, baseTree())
	want := mustHash(t, baseSpec(base))
	seen := map[string]string{want: "base"}
	for name, m := range mutations {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tree := baseTree()
			if m.tree != nil {
				m.tree(tree)
			}
			writeTree(t, dir, tree)
			spec := baseSpec(dir)
			spec.Requirements = append([]string(nil), spec.Requirements...)
			if m.spec != nil {
				m.spec(&spec)
			}
			got := mustHash(t, spec)
			if other, dup := seen[got]; dup {
				t.Fatalf("hash %s equals the hash of %q", got, other)
			}
			seen[got] = name
		})
	}
}

func TestHash_onlyTheExecBitOfAModeCounts(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ta, tb := baseTree(), baseTree()
	tb["main.py"] = file{data: tb["main.py"].data, mode: 0o600}
	tb["bin/run.sh"] = file{data: tb["bin/run.sh"].data, mode: 0o700}
	writeTree(t, a, ta)
	writeTree(t, b, tb)
	if ha, hb := mustHash(t, baseSpec(a)), mustHash(t, baseSpec(b)); ha != hb {
		t.Fatalf("0644->0600 and 0755->0700 changed the hash; the image normalizes them: %s != %s", ha, hb)
	}
}

func TestHash_defaultsHashLikeTheirExplicitValues(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	explicit := baseSpec(dir)
	implicit := explicit
	implicit.Architecture = ""
	implicit.BaseImage = ""
	implicit.Requirements = []string{" numpy==2.1.0", "requests>=2 "}
	if a, b := mustHash(t, explicit), mustHash(t, implicit); a != b {
		t.Fatalf("defaults hash differently from explicit values: %s != %s", a, b)
	}
}

func TestHash_dockerignoreIsHonoured(t *testing.T) {
	tree := baseTree()
	tree[".dockerignore"] = file{data: "# comment\n*.log\nscratch/\ndata/*.bin\n!data/keep.bin\n"}
	tree["debug.log"] = file{data: "one"}
	tree["scratch/tmp.txt"] = file{data: "one"}
	tree["data/keep.bin"] = file{data: "keep"}
	a := t.TempDir()
	writeTree(t, a, tree)
	want := mustHash(t, baseSpec(a))

	t.Run("ignored files change", func(t *testing.T) {
		b := t.TempDir()
		tr := copyTree(tree)
		tr["debug.log"] = file{data: "two"}
		tr["scratch/tmp.txt"] = file{data: "two"}
		tr["scratch/more.txt"] = file{data: "new"}
		tr["data/weights.bin"] = file{data: "different"}
		writeTree(t, b, tr)
		if got := mustHash(t, baseSpec(b)); got != want {
			t.Fatalf("a change to ignored files changed the hash: %s != %s", got, want)
		}
	})
	t.Run("re-included file changes", func(t *testing.T) {
		b := t.TempDir()
		tr := copyTree(tree)
		tr["data/keep.bin"] = file{data: "kept"}
		writeTree(t, b, tr)
		if got := mustHash(t, baseSpec(b)); got == want {
			t.Fatal("a change to a !-excepted file left the hash unchanged")
		}
	})
	t.Run("dockerignore itself changes", func(t *testing.T) {
		b := t.TempDir()
		tr := copyTree(tree)
		tr[".dockerignore"] = file{data: "*.log\nscratch/\ndata/*.bin\n!data/keep.bin\n"}
		writeTree(t, b, tr)
		if got := mustHash(t, baseSpec(b)); got == want {
			t.Fatal(".dockerignore is shipped like docker ships it, so its change must count")
		}
	})
}

func copyTree(m map[string]file) map[string]file {
	out := make(map[string]file, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Links out of the source are followed (absolute targets here; relative
// ones and the other rules are in symlink_test.go).
func TestHash_symlinksOutOfTheSourceAreFollowed(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tree := baseTree()
	tree["escape"] = file{link: secret}
	tree["escape-dir"] = file{link: outside}
	writeTree(t, dir, tree)
	before := mustHash(t, baseSpec(dir))
	if err := os.WriteFile(secret, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := mustHash(t, baseSpec(dir))
	if edited == before {
		t.Fatal("editing a file reached through symlinks out of the source left the hash unchanged")
	}
	if err := os.WriteFile(filepath.Join(outside, "more.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if added := mustHash(t, baseSpec(dir)); added == edited {
		t.Fatal("adding a file to a symlinked directory out of the source left the hash unchanged")
	}
	tarball, err := contextTar(mustNormalize(t, baseSpec(dir)), sha256.New())
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]byte{}
	for _, h := range tarHeaders(t, tarball) {
		types[h.Name] = h.Typeflag
	}
	for name, want := range map[string]byte{
		"src/escape":                tar.TypeReg,
		"src/escape-dir/":           tar.TypeDir,
		"src/escape-dir/secret.txt": tar.TypeReg,
		"src/escape-dir/more.txt":   tar.TypeReg,
	} {
		if got, ok := types[name]; !ok || got != want {
			t.Errorf("%s: in tar %v, type %c; want type %c", name, ok, got, want)
		}
	}
	for _, name := range []string{"src/escape", "src/escape-dir/secret.txt"} {
		if got := string(tarFile(t, tarball, name)); got != "v2" {
			t.Errorf("%s = %q, want the target's contents %q", name, got, "v2")
		}
	}
}

func TestHash_sourceDirThroughASymlinkIsWalked(t *testing.T) {
	real := t.TempDir()
	writeTree(t, real, baseTree())
	link := filepath.Join(t.TempDir(), "src")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if a, b := mustHash(t, baseSpec(real)), mustHash(t, baseSpec(link)); a != b {
		t.Fatalf("a symlinked source dir hashes differently: %s != %s", b, a)
	}
}

func TestHash_missingSourceDirNamesThePath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-operator")
	_, err := Hash(baseSpec(missing))
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Hash(missing dir) error = %v, want one naming %q and saying it does not exist", err, missing)
	}
}

func TestHash_sourceThatIsAFileIsAnError(t *testing.T) {
	f := filepath.Join(t.TempDir(), "main.py")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Hash(baseSpec(f)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("error = %v, want not a directory", err)
	}
}

func TestHash_fifoInSourceIsAClearError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	if err := mkfifo(filepath.Join(dir, "pipe")); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := Hash(baseSpec(dir)); err == nil || !strings.Contains(err.Error(), "pipe") {
		t.Fatalf("error = %v, want one naming the fifo", err)
	}
}

func TestValidate_rejectsBadSpecsWithActionableErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		mut  func(*Spec)
		want string
	}{
		"function without callable":  {func(s *Spec) { s.Function = "main" }, `function "main" must be "module:callable"`},
		"function with space":        {func(s *Spec) { s.Function = "main:handler x" }, "module:callable"},
		"architecture":               {func(s *Spec) { s.Architecture = "amd64" }, `architecture "amd64" is not supported`},
		"requirement with newline":   {func(s *Spec) { s.Requirements = []string{"a\nRUN rm -rf /"} }, "spans several lines"},
		"empty requirement":          {func(s *Spec) { s.Requirements = []string{"a", " "} }, "requirement 2 is empty"},
		"base image with newline":    {func(s *Spec) { s.BaseImage = "scratch\nRUN x" }, "not a valid image reference"},
		"no base and no python":      {func(s *Spec) { s.BaseImage, s.PythonVersion = "", "" }, "base_image or python_version"},
		"python version":             {func(s *Spec) { s.PythonVersion = "three" }, `python_version "three"`},
		"empty source":               {func(s *Spec) { s.SourceDir = "" }, "source directory is empty"},
		"dotted function is allowed": {func(s *Spec) { s.Function = "pkg.mod:Cls.run" }, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := baseSpec(dir)
			c.mut(&s)
			err := s.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestImageTag(t *testing.T) {
	h := "sha256:" + strings.Repeat("ab", 32)
	tag, err := ImageTag(h)
	if err != nil || tag != "src-"+strings.Repeat("ab", 32) {
		t.Fatalf("ImageTag(%q) = %q, %v", h, tag, err)
	}
	for _, bad := range []string{"", "ab", "sha256:xyz", "sha256:" + strings.Repeat("zz", 32), "md5:" + strings.Repeat("ab", 32)} {
		if _, err := ImageTag(bad); err == nil {
			t.Errorf("ImageTag(%q) accepted a malformed hash", bad)
		}
	}
}

func TestDockerfile_withoutRequirementsHasNoRun(t *testing.T) {
	s := baseSpec(t.TempDir())
	s.Requirements = nil
	s.BaseImage = "scratch"
	want := `# Generated by terraform-provider-aqueduct. Do not edit.
FROM scratch
WORKDIR /var/task
COPY src/ /var/task/
COPY aqueduct_runtime.py /opt/aqueduct/aqueduct_runtime.py
ENV AQUEDUCT_HANDLER=main:handler PYTHONPATH=/var/task PYTHONUNBUFFERED=1
ENTRYPOINT ["python3","-I","/opt/aqueduct/aqueduct_runtime.py"]
CMD []
`
	if got := string(Dockerfile(s)); got != want {
		t.Fatalf("Dockerfile:\n%s\nwant:\n%s", got, want)
	}
}

func TestDockerfile_requirementsInstallIntoTaskRootBeforeSource(t *testing.T) {
	s := baseSpec(t.TempDir())
	s.BaseImage = ""
	got := string(Dockerfile(s))
	for _, want := range []string{
		"FROM public.ecr.aws/lambda/python:3.12\n",
		"COPY requirements.txt /opt/aqueduct/requirements.txt\n",
		"python3 -m pip install --no-cache-dir -r /opt/aqueduct/requirements.txt --target /var/task\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "RUN ") > strings.Index(got, "COPY src/") {
		t.Errorf("pip install must come before the source COPY, for layer caching:\n%s", got)
	}
	if !bytes.Equal(Dockerfile(s), Dockerfile(s)) {
		t.Error("Dockerfile is not deterministic")
	}
}

func TestContextTar_isNormalizedAndReproducible(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	tree := baseTree()
	tree[".dockerignore"] = file{data: "*.log\n"}
	tree["x.log"] = file{data: "ignored"}
	tree["private.py"] = file{data: "p", mode: 0o600}
	writeTree(t, a, tree)
	writeTree(t, b, tree)
	if err := os.Chtimes(filepath.Join(b, "main.py"), time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ha, hb := sha256.New(), sha256.New()
	ta, err := contextTar(mustNormalize(t, baseSpec(a)), ha)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := contextTar(mustNormalize(t, baseSpec(b)), hb)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ta, tb) {
		t.Fatal("same tree gave different tar contexts")
	}
	if want := mustHash(t, baseSpec(a)); fmt.Sprintf("sha256:%x", ha.Sum(nil)) != want {
		t.Fatal("the hash computed while writing the tar differs from Hash()")
	}

	byName := map[string]*tar.Header{}
	for _, h := range tarHeaders(t, ta) {
		byName[h.Name] = h
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: uid=%d gid=%d uname=%q gname=%q mtime=%v, want root-owned at %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, epoch)
		}
	}
	wantModes := map[string]int64{
		"Dockerfile":            0o644,
		"aqueduct_runtime.py":   0o644,
		"requirements.txt":      0o644,
		"src/":                  0o755,
		"src/main.py":           0o644,
		"src/private.py":        0o644,
		"src/bin/run.sh":        0o755,
		"src/empty/":            0o755,
		"src/.dockerignore":     0o644,
		"src/link-to-util.py":   0o777,
		"src/nested/deep/a.txt": 0o644,
		"src/lib/util.py":       0o644,
		"src/data/weights.bin":  0o644,
		"src/nested/":           0o755,
		"src/nested/deep/":      0o755,
		"src/lib/__init__.py":   0o644,
		"src/lib/":              0o755,
		"src/data/":             0o755,
		"src/bin/":              0o755,
	}
	for name, mode := range wantModes {
		h, ok := byName[name]
		if !ok {
			t.Errorf("context lacks %s", name)
			continue
		}
		if h.Mode != mode {
			t.Errorf("%s mode %o, want %o", name, h.Mode, mode)
		}
	}
	if len(byName) != len(wantModes) {
		for n := range byName {
			if _, ok := wantModes[n]; !ok {
				t.Errorf("unexpected context entry %s", n)
			}
		}
	}
	if got := tarFile(t, ta, "aqueduct_runtime.py"); !bytes.Equal(got, runtime.Script) {
		t.Error("aqueduct_runtime.py in the context is not runtime.Script")
	}
	if got := string(tarFile(t, ta, "requirements.txt")); got != "numpy==2.1.0\nrequests>=2\n" {
		t.Errorf("requirements.txt = %q", got)
	}
}

func TestHash_fileShrinkingWhileReadIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	spec := mustNormalize(t, baseSpec(dir))
	entries, err := contextEntries(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "weights.bin"), []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = writeContext(spec, entries, sha256.New(), tar.NewWriter(&b))
	if err == nil || !strings.Contains(err.Error(), "weights.bin") {
		t.Fatalf("writeContext after a file shrank = %v, want an error naming it", err)
	}
}

func mustNormalize(t testing.TB, s Spec) Spec {
	t.Helper()
	n, err := s.normalized()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tarHeaders(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func tarFile(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in tar: %v", name, err)
		}
		if h.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// BenchmarkHash hashes 1000 files totalling 50 MB; -bench prints MB/s.
func BenchmarkHash(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	const files, total = 1000, 50 << 20
	var size int64
	for i := 0; i < files; i++ {
		data := make([]byte, total/files)
		rng.Read(data)
		p := filepath.Join(dir, fmt.Sprintf("pkg%02d", i%20), fmt.Sprintf("f%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		size += int64(len(data))
	}
	spec := Spec{SourceDir: dir, Function: "main:handler", PythonVersion: "3.12"}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Hash(spec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestContext_exceptionInsideAnIgnoredDirIsKept(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		".dockerignore":        {data: "models\n!models/final.bin\n.git\n"},
		"main.py":              {data: "x"},
		"models/final.bin":     {data: "keep"},
		"models/ckpt-1.bin":    {data: "drop"},
		"models/old/ckpt.bin":  {data: "drop"},
		".git/HEAD":            {data: "ref"},
		".git/objects/ab/cdef": {data: "obj"},
	})
	tarball, err := contextTar(mustNormalize(t, baseSpec(dir)), sha256.New())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range tarHeaders(t, tarball) {
		if strings.HasPrefix(h.Name, "src/") {
			names = append(names, h.Name)
		}
	}
	want := []string{"src/", "src/.dockerignore", "src/main.py", "src/models/final.bin"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("source entries %q, want %q", names, want)
	}
}
