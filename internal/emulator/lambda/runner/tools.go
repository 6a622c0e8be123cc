package runner

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

//go:embed shim/main.go
var shimSource []byte

// CacheDir is where built helper binaries live: <user cache dir>/aqueduct.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "aqueduct"), nil
}

// GoBuild builds pkg in dir as a static Linux binary at out, with env added
// to the build's environment. It writes to a temporary file and renames it,
// so a binary that running containers mount is never overwritten in place,
// and concurrent builders do not collide.
func GoBuild(ctx context.Context, dir, out, pkg string, env ...string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-o", tmp.Name(), pkg)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOWORK=off"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, strings.TrimSpace(string(b)))
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

var shimOnce struct {
	sync.Mutex
	path string
}

// EnsureShim builds the shim (see shim/main.go) from its embedded source,
// once per process; it needs only the Go toolchain, not this repository.
func EnsureShim(ctx context.Context) (string, error) {
	shimOnce.Lock()
	defer shimOnce.Unlock()
	if shimOnce.path != "" {
		return shimOnce.path, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	src, err := os.MkdirTemp("", "aqueduct-shim-src")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module aqueductshim\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), shimSource, 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(cache, "aqueduct-lambda-shim")
	// A standalone module of the standard library only: the caller's
	// GOFLAGS (say -mod=vendor) do not apply to it.
	if err := GoBuild(ctx, src, out, ".", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local"); err != nil {
		return "", err
	}
	shimOnce.path = out
	return out, nil
}
