package clitest_test

import (
	"os"
	"path/filepath"
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
