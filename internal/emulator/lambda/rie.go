package lambda

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

const (
	modulePath = "github.com/aqueduct/terraform-provider-aqueduct"
	riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
)

var rieOnce struct {
	sync.Mutex
	path string
}

// EnsureRIE returns a path to a static aws-lambda-rie binary: $AQUEDUCT_RIE_PATH,
// else <repo root>/bin/aws-lambda-rie, else one built from the module pinned
// in go.mod into <user cache dir>/aqueduct. Only the first call builds.
func EnsureRIE(ctx context.Context) (string, error) {
	rieOnce.Lock()
	defer rieOnce.Unlock()
	if rieOnce.path != "" {
		return rieOnce.path, nil
	}
	root, rootErr := repoRoot()
	p, err := existingRIE(os.Getenv("AQUEDUCT_RIE_PATH"), root)
	if err != nil || p != "" {
		rieOnce.path = p
		return p, err
	}
	if rootErr != nil {
		return "", fmt.Errorf("no aws-lambda-rie: set AQUEDUCT_RIE_PATH, or run from this repository to build it: %w", rootErr)
	}
	cache, err := runner.CacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, "aws-lambda-rie")
	if err := buildRIE(ctx, root, out); err != nil {
		return "", err
	}
	rieOnce.path = out
	return out, nil
}

// existingRIE is $AQUEDUCT_RIE_PATH (env) or root/bin/aws-lambda-rie, or ""
// when neither is set or present.
func existingRIE(env, root string) (string, error) {
	if env != "" {
		if !fileExists(env) {
			return "", fmt.Errorf("AQUEDUCT_RIE_PATH=%s: no such file", env)
		}
		return env, nil
	}
	if root != "" {
		if p := filepath.Join(root, "bin", "aws-lambda-rie"); fileExists(p) {
			return p, nil
		}
	}
	return "", nil
}

// buildRIE builds RIE statically from the version go.mod pins as a tool.
func buildRIE(ctx context.Context, root, out string) error {
	return runner.GoBuild(ctx, root, out, riePackage)
}

// repoRoot finds this module's root from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module " + modulePath + " not found above the working directory")
		}
		dir = parent
	}
}

func isModuleRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == modulePath
		}
	}
	return false
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
