package clitest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
)

// The tests that use clitest pass their *testing.T: every testing.TB must
// stay a clitest.TB.
var _ clitest.TB = testing.TB(nil)

func TestRepoRootHoldsTheModule(t *testing.T) {
	if _, err := os.Stat(filepath.Join(clitest.RepoRoot(), "go.mod")); err != nil {
		t.Errorf("RepoRoot() = %s has no go.mod: %v", clitest.RepoRoot(), err)
	}
}

// One CLI config serves the provider build under both registry hosts.
func TestCLIConfigOverridesBothRegistryHosts(t *testing.T) {
	got := clitest.CLIConfig("/opt/p")
	for _, want := range []string{
		`"registry.terraform.io/aqueduct/aqueduct" = "/opt/p"`,
		`"registry.opentofu.org/aqueduct/aqueduct" = "/opt/p"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("CLIConfig lacks %s:\n%s", want, got)
		}
	}
}

// RegistryHost tells OpenTofu from Terraform by what the binary prints.
func TestRegistryHost(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ line, want string }{
		"terraform": {"Terraform v1.5.7", "registry.terraform.io"},
		"tofu":      {"OpenTofu v1.10.10", "registry.opentofu.org"},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+c.line+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		got, err := clitest.RegistryHost(p)
		if err != nil || got != c.want {
			t.Errorf("RegistryHost(%s printing %q) = %q, %v; want %q", name, c.line, got, err, c.want)
		}
	}
	if _, err := clitest.RegistryHost(filepath.Join(dir, "missing")); err == nil {
		t.Error("RegistryHost of a missing binary succeeded")
	}
}
