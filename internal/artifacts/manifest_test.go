package artifacts

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestKeyLayout(t *testing.T) {
	for got, want := range map[string]string{
		WorkflowsPrefix("ml/aq"):                        "ml/aq/workflows/",
		WorkflowPrefix("ml/aq", "iris"):                 "ml/aq/workflows/iris/",
		WorkflowKey("ml/aq", "iris"):                    "ml/aq/workflows/iris/workflow.json",
		OperatorsPrefix("ml/aq", "iris"):                "ml/aq/workflows/iris/operators/",
		OperatorKey("ml/aq", "iris", "fit"):             "ml/aq/workflows/iris/operators/fit.json",
		RunKey("ml/aq", "iris", "r-1"):                  "ml/aq/workflows/iris/runs/r-1/run.json",
		CachePrefix("ml/aq", "iris"):                    "ml/aq/workflows/iris/cache/",
		AcceptsKey("ml/aq", "iris", "sha256:ab12"):      "ml/aq/workflows/iris/cache/accepts/ab12.json",
		ResultKey("ml/aq", "iris", "sha256:cd34"):       "ml/aq/workflows/iris/cache/results/cd34/result.json",
		CachedOutputKey("ml/aq", "iris", "sha256:cd34"): "ml/aq/workflows/iris/cache/results/cd34/output",
		EnvironmentKeyKey("ml/aq"):                      "ml/aq/keys/environment-hmac",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// Every field that can change an output changes the config hash.
func TestConfigHash_coversEverythingThatChangesAnOutput(t *testing.T) {
	base := OperatorManifest{
		Name: "fit", FunctionName: "iris-fit-0123456789ab", ImageURI: "r/x@sha256:aa", Function: "m:f",
		MemoryMB: 512, TimeoutS: 60, EphemeralMB: 512, Architecture: "x86_64", RoleARN: "arn:r",
		EnvironmentHMAC: "hmac-sha256:01", Inputs: []string{"a", "b"},
	}
	h := base.ConfigHash()
	for name, edit := range map[string]func(*OperatorManifest){
		"image digest":  func(m *OperatorManifest) { m.ImageURI = "r/x@sha256:bb" },
		"entry point":   func(m *OperatorManifest) { m.Function = "m:g" },
		"function name": func(m *OperatorManifest) { m.FunctionName = "other" },
		"memory":        func(m *OperatorManifest) { m.MemoryMB = 1024 },
		"timeout":       func(m *OperatorManifest) { m.TimeoutS = 61 },
		"ephemeral":     func(m *OperatorManifest) { m.EphemeralMB = 1024 },
		"architecture":  func(m *OperatorManifest) { m.Architecture = "arm64" },
		"role":          func(m *OperatorManifest) { m.RoleARN = "arn:s" },
		"environment":   func(m *OperatorManifest) { m.EnvironmentHMAC = "hmac-sha256:02" },
		"input order":   func(m *OperatorManifest) { m.Inputs = []string{"b", "a"} },
		"inputs":        func(m *OperatorManifest) { m.Inputs = nil },
	} {
		m := base
		edit(&m)
		if m.ConfigHash() == h {
			t.Errorf("changing the %s left the config hash as it was", name)
		}
	}
	// The repository part of the image does not matter, only its digest.
	m := base
	m.ImageURI = "elsewhere/y@sha256:aa"
	if m.ConfigHash() != h {
		t.Error("the same digest in another repository changed the config hash")
	}
	m = base
	m.Source, m.Memory, m.KeepImage = "/elsewhere", "0.5GB", true
	if m.ConfigHash() != h {
		t.Error("fields that do not change the output changed the config hash")
	}
}

func TestEnvironmentHMAC(t *testing.T) {
	k1, k2 := []byte("key-one-0123456789"), []byte("key-two-0123456789")
	a := EnvironmentHMAC(k1, map[string]string{"MODE": "a", "X": "1"})
	if a == EnvironmentHMAC(k1, map[string]string{"MODE": "b", "X": "1"}) {
		t.Fatal("a changed value kept the HMAC")
	}
	if a != EnvironmentHMAC(k1, map[string]string{"X": "1", "MODE": "a"}) {
		t.Fatal("the HMAC depends on map order")
	}
	if a == EnvironmentHMAC(k2, map[string]string{"MODE": "a", "X": "1"}) {
		t.Fatal("the HMAC does not depend on the key")
	}
	// Key/value boundaries are framed.
	if EnvironmentHMAC(k1, map[string]string{"AB": "C"}) == EnvironmentHMAC(k1, map[string]string{"A": "BC"}) {
		t.Fatal("AB=C and A=BC share an HMAC")
	}
	if EnvironmentHMAC(k1, nil) != "" || EnvironmentHMAC(k1, map[string]string{}) != "" {
		t.Fatal("an empty environment has an HMAC")
	}
	if !regexp.MustCompile(`^hmac-sha256:[0-9a-f]{64}$`).MatchString(a) {
		t.Fatalf("HMAC %q is not hmac-sha256:<64 hex>", a)
	}
}

// The lineage changes with everything that can change an output, and with
// any input's lineage, but not with the resources the operator runs with.
func TestLineageOf(t *testing.T) {
	base := OperatorManifest{ImageURI: "r/x@sha256:aa", Function: "m:f", Architecture: "x86_64", EnvironmentHMAC: "hmac-sha256:01",
		MemoryMB: 512, TimeoutS: 60, EphemeralMB: 512, RoleARN: "arn:r", FunctionName: "f"}
	in := []string{"sha256:" + strings.Repeat("1", 64), "sha256:" + strings.Repeat("2", 64)}
	l := LineageOf(&base, in)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(l) {
		t.Fatalf("lineage %q", l)
	}
	for name, edit := range map[string]func(*OperatorManifest){
		"image":        func(m *OperatorManifest) { m.ImageURI = "r/x@sha256:bb" },
		"entry point":  func(m *OperatorManifest) { m.Function = "m:g" },
		"architecture": func(m *OperatorManifest) { m.Architecture = "arm64" },
		"environment":  func(m *OperatorManifest) { m.EnvironmentHMAC = "" },
	} {
		m := base
		edit(&m)
		if LineageOf(&m, in) == l {
			t.Errorf("a changed %s kept the lineage", name)
		}
	}
	if LineageOf(&base, []string{in[1], in[0]}) == l || LineageOf(&base, in[:1]) == l {
		t.Error("a change of inputs kept the lineage")
	}
	m := base
	m.MemoryMB, m.TimeoutS, m.EphemeralMB, m.RoleARN, m.FunctionName = 4096, 900, 2048, "arn:s", "g"
	if LineageOf(&m, in) != l {
		t.Error("the resources an operator runs with changed its lineage")
	}
}

// The waits are Step Functions': IntervalSeconds, then times BackoffRate,
// capped by MaxDelaySeconds.
func TestRetryPolicyDelay(t *testing.T) {
	p := &RetryPolicy{Attempts: 4, IntervalS: 2, BackoffRate: 3}
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 6 * time.Second, 3: 18 * time.Second, 4: 54 * time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("Delay(%d) = %v, want %v", n, got, want)
		}
	}
	p.MaxDelayS = 10
	if got := p.Delay(3); got != 10*time.Second {
		t.Errorf("capped Delay(3) = %v", got)
	}
	flat := &RetryPolicy{Attempts: 2, IntervalS: 1}
	if flat.Delay(2) != time.Second {
		t.Errorf("a zero backoff rate is not 1: %v", flat.Delay(2))
	}
	huge := &RetryPolicy{Attempts: 10, IntervalS: 3600, BackoffRate: 10}
	if huge.Delay(10) <= 0 {
		t.Errorf("the worst case overflows: %v", huge.Delay(10))
	}
}
