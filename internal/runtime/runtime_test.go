package runtime_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to test the runtime (it is on every dev machine and in CI): %v", err)
	}
	return p
}

func TestPythonUnitTests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the runtime in subprocesses")
	}
	cmd := exec.Command(python(t), "-m", "unittest", "discover", "-s", ".", "-p", "test_*.py")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python unittest failed: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("\nOK")) {
		t.Fatalf("python unittest did not report OK:\n%s", out)
	}
	t.Logf("%s", lastLines(out, 3))
}

func TestScriptIsTheEmbeddedFile(t *testing.T) {
	onDisk, err := os.ReadFile(runtime.ScriptName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(runtime.Script, onDisk) {
		t.Fatal("embedded Script differs from aqueduct_runtime.py")
	}
	if len(runtime.Script) < 4096 {
		t.Fatalf("Script is %d bytes; the runtime is not embedded", len(runtime.Script))
	}
	for _, want := range []string{
		"/2018-06-01/runtime", "invocation/next", "init/error", "Lambda-Runtime-Function-Error-Type",
		runtime.ContentTypeJSON, runtime.ContentTypePickle, runtime.ContentTypeBytes,
		`__version__ = "` + runtime.Version + `"`,
		`DEFAULT_TASK_ROOT = "` + runtime.TaskRoot + `"`,
	} {
		if !bytes.Contains(runtime.Script, []byte(want)) {
			t.Errorf("Script lacks %q", want)
		}
	}
}

func TestEmbeddedScriptPrintsVersion(t *testing.T) {
	// Run the embedded bytes, as an image would, not the file beside the test.
	path := filepath.Join(t.TempDir(), runtime.ScriptName)
	if err := os.WriteFile(path, runtime.Script, 0o644); err != nil {
		t.Fatal(err)
	}
	args := runtime.Command(python(t), path)
	out, err := exec.Command(args[0], append(args[1:], "--version")...).CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := fmt.Sprintf("aqueduct-runtime %s (event versions %d and %d,", runtime.Version, runtime.EventVersion, runtime.EventVersionServer)
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("--version printed %q, want prefix %q", out, want)
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestNullHash(t *testing.T) {
	sum := sha256.Sum256([]byte("null"))
	if hex.EncodeToString(sum[:]) != runtime.NullHash {
		t.Fatal("runtime.NullHash is not the hash of null")
	}
}

// The cache key follows its documented text form, so that the Python
// runtime can compute it too.
func TestCacheKey(t *testing.T) {
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	params := map[string]string{"seed": h("1"), "unused": h(`"x"`)}
	got := runtime.CacheKey("sha256:aa", &runtime.Accepts{Names: []string{"test_size", "seed"}}, params, "", []string{"sha256:k1", "sha256:k2"})
	doc := "aqueduct-cache-key/v1\nlineage sha256:aa\nparameters named\nparameter seed " + h("1") + "\nparameter test_size " + runtime.NullHash +
		"\ninput -\nupstream sha256:k1\nupstream sha256:k2\n"
	if want := "sha256:" + h(doc); got != want {
		t.Fatalf("CacheKey = %s, want %s", got, want)
	}
	all := runtime.CacheKey("sha256:aa", &runtime.Accepts{All: true}, params, h("3"), nil)
	doc = "aqueduct-cache-key/v1\nlineage sha256:aa\nparameters all\nparameter seed " + h("1") + "\nparameter unused " + h(`"x"`) + "\ninput " + h("3") + "\n"
	if want := "sha256:" + h(doc); all != want {
		t.Fatalf("CacheKey(all) = %s, want %s", all, want)
	}
}
