// Package testenv is the one policy for tests that need something outside
// the test process: a Docker engine, or a local base image.
//
// When it is missing, such a test fails if the run is meant to be complete
// (TF_ACC or CI is set, as in `make test` and CI, where a skip would hide a
// broken environment) and skips, saying what is missing and how to get it,
// otherwise (`go test ./...` on a machine without Docker).
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// Complete reports whether missing prerequisites must fail tests.
func Complete() bool { return os.Getenv("TF_ACC") != "" || os.Getenv("CI") != "" }

// missing fails or skips t, per the policy.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Complete() {
		t.Fatalf("prerequisite missing (TF_ACC or CI is set, so this fails rather than skips): "+format, args...)
	}
	t.Skipf("skipped, prerequisite missing: "+format, args...)
}

// Docker returns a client of a Docker engine that answers, closed when the
// test ends.
func Docker(t testing.TB) client.APIClient {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err = c.Ping(ctx); err != nil {
			_ = c.Close()
		}
	}
	if err != nil {
		missing(t, "a Docker engine, and none answers (%v); `make docker` installs and starts one", err)
		return nil
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Image makes sure the engine has a local image, such as the offline
// Python base image.
func Image(t testing.TB, docker client.APIClient, ref string) {
	t.Helper()
	if _, err := docker.ImageInspect(context.Background(), ref); err != nil {
		missing(t, "the image %s (%v); `make base-image` and `make base-image-ml` build the local ones", ref, err)
	}
}
