package runtime_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
)

// The runtime computes cache keys and object keys itself in server-side
// runs; they must be the Go side's byte for byte, or the two never share a
// cache. portCheck runs the embedded runtime's Python functions on the same
// inputs as the Go ones.
const portCheck = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("aqueduct_runtime", sys.argv[1])
rt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rt)
cases = json.load(sys.stdin)
json.dump({
    "cache_keys": [rt.cache_key(c["lineage"], c["names"], c["all"], c["hashes"], c["input"], c["upstream"]) for c in cases["cache_keys"]],
    "keys": [getattr(rt, c["fn"])(*c["args"]) for c in cases["keys"]],
}, sys.stdout)
`

type cacheKeyCase struct {
	Lineage  string            `json:"lineage"`
	Names    []string          `json:"names"`
	All      bool              `json:"all"`
	Hashes   map[string]string `json:"hashes"`
	Input    string            `json:"input"`
	Upstream []string          `json:"upstream"`
}

type keyCase struct {
	Fn   string   `json:"fn"`
	Args []string `json:"args"`
	want string
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func cacheKeyCases() []cacheKeyCase {
	cases := []cacheKeyCase{
		{Lineage: "sha256:aa", Names: []string{"test_size", "seed"}, Hashes: map[string]string{"seed": hashOf("1"), "unused": hashOf(`"x"`)}, Upstream: []string{"sha256:k1", "sha256:k2"}},
		{Lineage: "sha256:aa", All: true, Hashes: map[string]string{"seed": hashOf("1"), "unused": hashOf(`"x"`)}, Input: hashOf("3")},
		{Lineage: "sha256:bb", Names: []string{}, Hashes: map[string]string{}},
		{Lineage: "sha256:bb", All: true, Hashes: map[string]string{}},
		// Sorting: upper case, non-ASCII (UTF-8 byte order is code point order), duplicates, spaces.
		{Lineage: "sha256:cc", Names: []string{"zeta", "Alpha", "café", "cafe", "日本", "ß", "a b", "zeta"}, Hashes: map[string]string{"café": hashOf("1"), "日本": hashOf("2"), "a b": hashOf("3")}},
		{Lineage: "sha256:dd", All: true, Hashes: map[string]string{"ü": hashOf("1"), "u": hashOf("2"), "U": hashOf("3"), "\U0001F600": hashOf("4")}, Upstream: []string{"sha256:x", "sha256:x"}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	pool := []string{"alpha", "beta", "seed", "lr", "epochs", "Ω", "size", "x_1", "x_10", "x_2"}
	for i := 0; i < 40; i++ {
		c := cacheKeyCase{Lineage: "sha256:" + hashOf(fmt.Sprint(i)), All: r.IntN(3) == 0, Hashes: map[string]string{}, Names: []string{}}
		for _, n := range pool {
			if r.IntN(2) == 0 {
				c.Hashes[n] = hashOf(fmt.Sprint(r.IntN(100)))
			}
			if r.IntN(3) == 0 {
				c.Names = append(c.Names, n)
			}
		}
		if r.IntN(2) == 0 {
			c.Input = hashOf(fmt.Sprint(i))
		}
		for j := r.IntN(4); j > 0; j-- {
			c.Upstream = append(c.Upstream, "sha256:"+hashOf(fmt.Sprint(i, j)))
		}
		cases = append(cases, c)
	}
	return cases
}

func keyCases() []keyCase {
	var cases []keyCase
	for _, root := range []string{"", "aqueduct/engines/ml-0123456789ab", "p//q", "/abs"} {
		for _, wf := range []string{"iris", "w.f-1"} {
			cases = append(cases,
				keyCase{"operator_key", []string{root, wf, "train"}, artifacts.OperatorKey(root, wf, "train")},
				keyCase{"run_key", []string{root, wf, "r-0123456789abcdef"}, artifacts.RunKey(root, wf, "r-0123456789abcdef")},
				keyCase{"run_output_key", []string{root, wf, "sched-1", "train"}, artifacts.RunOutputKey(root, wf, "sched-1", "train")},
				keyCase{"accepts_key", []string{root, wf, "sha256:" + hashOf("l")}, artifacts.AcceptsKey(root, wf, "sha256:"+hashOf("l"))},
				keyCase{"result_key", []string{root, wf, "sha256:" + hashOf("k")}, artifacts.ResultKey(root, wf, "sha256:"+hashOf("k"))},
				keyCase{"cached_output_key", []string{root, wf, "sha256:" + hashOf("k")}, artifacts.CachedOutputKey(root, wf, "sha256:"+hashOf("k"))},
			)
		}
	}
	return cases
}

func TestPythonPort_cacheKeysAndObjectKeysAreGos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, runtime.ScriptName)
	if err := os.WriteFile(script, runtime.Script, 0o644); err != nil {
		t.Fatal(err)
	}
	ckCases, kCases := cacheKeyCases(), keyCases()
	in, err := json.Marshal(map[string]any{"cache_keys": ckCases, "keys": kCases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-I", "-c", portCheck, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.Bytes())
	}
	var got struct {
		CacheKeys []string `json:"cache_keys"`
		Keys      []string `json:"keys"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python printed %s: %v", out, err)
	}
	if len(got.CacheKeys) != len(ckCases) || len(got.Keys) != len(kCases) {
		t.Fatalf("python answered %d cache keys and %d keys for %d and %d cases", len(got.CacheKeys), len(got.Keys), len(ckCases), len(kCases))
	}
	distinct := map[string]bool{}
	for i, c := range ckCases {
		want := runtime.CacheKey(c.Lineage, &runtime.Accepts{Names: c.Names, All: c.All}, c.Hashes, c.Input, c.Upstream)
		if got.CacheKeys[i] != want {
			t.Errorf("case %d %+v: python %s, go %s", i, c, got.CacheKeys[i], want)
		}
		distinct[want] = true
	}
	if len(distinct) != len(ckCases) {
		t.Errorf("%d distinct keys for %d different cases", len(distinct), len(ckCases))
	}
	for i, c := range kCases {
		if got.Keys[i] != c.want {
			t.Errorf("%s%q: python %q, go %q", c.Fn, c.Args, got.Keys[i], c.want)
		}
	}
}
