package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/clitest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/fixtures"
)

// session is the clitest.TB of this program: temporary directories under
// one root, cleanups run last-in first-out by close, and a Fatal that ends
// the measurements (not the program) so that close still runs.
type session struct {
	root     string
	dirs     int
	cleanups []func()
}

var _ clitest.TB = (*session)(nil)

// fatal is what Fatal panics with; run recovers it.
type fatal struct{ msg string }

func newSession() (*session, error) {
	root, err := os.MkdirTemp("", "aqueduct-bench-")
	if err != nil {
		return nil, err
	}
	s := &session{root: root}
	s.Cleanup(func() { _ = os.RemoveAll(root) })
	return s, nil
}

func (s *session) Helper() {}

func (s *session) Fatal(args ...any) { panic(fatal{fmt.Sprint(args...)}) }

func (s *session) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }

func (s *session) TempDir() string {
	s.dirs++
	dir := filepath.Join(s.root, fmt.Sprintf("%03d", s.dirs))
	if err := os.Mkdir(dir, 0o755); err != nil {
		s.Fatal(err)
	}
	return dir
}

func (s *session) Cleanup(f func()) { s.cleanups = append(s.cleanups, f) }

// run calls f and returns the message of a Fatal (or of a panic) in it.
func (s *session) run(f func()) (err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case fatal:
			err = fmt.Errorf("%s", r.msg)
		default:
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	f()
	return nil
}

// close runs the cleanups, newest first, each to its end whatever the
// others do.
func (s *session) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		if err := s.run(s.cleanups[i]); err != nil {
			logf("cleanup: %v", err)
		}
	}
	s.cleanups = nil
}

// logf prints a progress line on stderr; the table goes to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// lab is the emulator the benchmarks run against, with what a user brings:
// an execution role and a bucket.
type lab struct {
	s      *session
	emu    *emulator.Emulator
	role   string
	bucket string
}

// startLab starts an emulator in this process on a free port, its request
// log in logPath, and seeds it. Its cleanups stop it (which removes the
// function containers) and remove the images the provider pushed to it
// from the local Docker engine.
func startLab(s *session, logPath string) *lab {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		s.Fatal(err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		s.Fatal(err)
	}
	s.Cleanup(func() { _ = logFile.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulator.Start(ctx, emulator.Options{
		Logger: slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		s.Fatalf("starting the emulator: %v", err)
	}
	addr := e.Addr()
	s.Cleanup(func() {
		emulatortest.RemoveLocalImages(addr)
		logf("removed the local images pushed to %s", addr)
	})
	s.Cleanup(func() {
		if err := e.Close(); err != nil {
			logf("stopping the emulator: %v", err)
		}
	})
	logf("emulator at %s, its log in %s", e.URL(), logPath)

	cfg := aws.Config{
		Region:       e.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider(emulatortest.AccessKeyID, emulatortest.SecretAccessKey, ""),
		BaseEndpoint: aws.String(e.URL()),
	}
	f := fixtures.New(cfg)
	l := &lab{s: s, emu: e, bucket: "aqueduct-bench"}
	if l.role, _, err = f.EnsureRole(ctx, "aqueduct-bench-exec"); err != nil {
		s.Fatal(err)
	}
	if _, err := f.EnsureBucket(ctx, l.bucket); err != nil {
		s.Fatal(err)
	}
	return l
}

// invocations is the emulator's own count of Lambda invocations, over all
// functions (GET /_emulator/invocations).
func (l *lab) invocations() int {
	resp, err := http.Get(l.emu.URL() + "/_emulator/invocations")
	if err != nil {
		l.s.Fatalf("reading the emulator's invocations: %v", err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil || resp.StatusCode != http.StatusOK {
		l.s.Fatalf("reading the emulator's invocations: HTTP %d, %v", resp.StatusCode, err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// images is how many image tags the local Docker engine holds for the
// lab's registry: each build of an operator image makes one.
func (l *lab) images() int {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		l.s.Fatalf("reaching the Docker engine: %v", err)
	}
	defer docker.Close()
	list, err := docker.ImageList(context.Background(), image.ListOptions{})
	if err != nil {
		l.s.Fatalf("listing the local images: %v", err)
	}
	n := 0
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, l.emu.Addr()+"/") {
				n++
			}
		}
	}
	return n
}

// workspace is a terraform working directory on the lab's emulator whose
// resources are destroyed at cleanup.
func (l *lab) workspace(name string, files map[string]string) *clitest.Workspace {
	w := clitest.New(l.s, l.emu.URL(), l.emu.Region(), files)
	w.Env = append(w.Env, "TF_INPUT=0", "TF_VAR_role_arn="+l.role, "TF_VAR_bucket="+l.bucket)
	l.s.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(w.Dir, "terraform.tfstate")); err != nil {
			return
		}
		start := time.Now()
		if out, code := w.Run("destroy", "-auto-approve", "-input=false", "-no-color"); code != 0 {
			logf("destroying %s exited %d:\n%s", name, code, out)
			return
		}
		logf("destroyed %s (%s)", name, since(start))
	})
	return w
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
