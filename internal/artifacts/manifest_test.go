package artifacts

import (
	"regexp"
	"testing"
)

func TestKeyLayout(t *testing.T) {
	for got, want := range map[string]string{
		WorkflowsPrefix("ml/aq"):                 "ml/aq/workflows/",
		WorkflowPrefix("ml/aq", "iris"):          "ml/aq/workflows/iris/",
		WorkflowKey("ml/aq", "iris"):             "ml/aq/workflows/iris/workflow.json",
		OperatorsPrefix("ml/aq", "iris"):         "ml/aq/workflows/iris/operators/",
		OperatorKey("ml/aq", "iris", "fit"):      "ml/aq/workflows/iris/operators/fit.json",
		RunKey("ml/aq", "iris", "r-1"):           "ml/aq/workflows/iris/runs/r-1/run.json",
		OutputKey("ml/aq", "iris", "r-1", "fit"): "ml/aq/workflows/iris/runs/r-1/outputs/fit",
		EnvironmentKeyKey("ml/aq"):               "ml/aq/keys/environment-hmac",
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
