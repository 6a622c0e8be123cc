// Package emulatortest starts the AWS emulator for a test and points
// unchanged aws-sdk-go-v2 clients at it.
package emulatortest

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
)

// Credentials the tests sign with; the emulator takes any.
const (
	AccessKeyID     = "test"
	SecretAccessKey = "test"
)

type settings struct {
	opts       emulator.Options
	needDocker bool
}

// Option adjusts the emulator Start runs.
type Option func(*settings)

// WithOptions edits the emulator's Options directly.
func WithOptions(f func(*emulator.Options)) Option {
	return func(s *settings) { f(&s.opts) }
}

// WithDataDir keeps the emulator's state in dir.
func WithDataDir(dir string) Option {
	return func(s *settings) { s.opts.DataDir = dir }
}

// WithFaults starts the emulator with faults on.
func WithFaults(f emulator.Faults) Option {
	return func(s *settings) { s.opts.Faults = f }
}

// NeedDocker says the test runs Lambda functions: without a Docker engine,
// Start ends the test by testenv's policy.
func NeedDocker() Option {
	return func(s *settings) { s.needDocker = true }
}

// Start runs an emulator on a free loopback port for the test and closes it
// in the test's cleanup. Its request log goes to t.Log.
func Start(t testing.TB, opts ...Option) *emulator.Emulator {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if s.needDocker {
		RequireDocker(t)
	}
	lw := &logWriter{t: t}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulator.Start(ctx, s.opts)
	if err != nil {
		t.Fatalf("emulatortest: starting the emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("emulatortest: closing the emulator: %v", err)
		}
		lw.stop()
	})
	return e
}

// RequireDocker ends the test when no Docker engine answers, by the policy
// of package testenv: a failure under TF_ACC or CI, else a skip.
func RequireDocker(t testing.TB) {
	t.Helper()
	testenv.Docker(t)
}

// Config returns an aws.Config for e: static test credentials, its region,
// and its URL as the base endpoint of every client.
func Config(t testing.TB, e *emulator.Emulator) aws.Config {
	t.Helper()
	return aws.Config{
		Region:       e.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(e.URL()),
	}
}

// S3PathStyle is the s3.Options function the emulator needs: it serves
// buckets by path, not by host name.
func S3PathStyle(o *s3.Options) { o.UsePathStyle = true }

// logWriter forwards log lines to t.Log until the test is over; a late line
// from a background goroutine would otherwise panic the test binary.
type logWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

func (w *logWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
