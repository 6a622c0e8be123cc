// Package clitest runs the real Terraform CLI against the provider built
// from this repository, as a user runs it: the provider binary found through
// dev_overrides, AWS reached through AWS_ENDPOINT_URL. Tests that must kill
// terraform, or apply a saved plan in a new process, use it instead of
// terraform-plugin-testing, which serves the provider from the test process.
//
// It takes a TB, the part of testing.TB it uses, so that a program outside
// tests (the end-to-end benchmarks in tests/bench) drives terraform the same
// way.
package clitest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TB is what clitest needs of a test: *testing.T and *testing.B satisfy it,
// and a program implements it to use clitest outside tests. Fatal and
// Fatalf must not return; TempDir's directories and Cleanup's functions
// last until the test (or program) ends.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ProviderDir builds the provider once per test binary and returns the
// directory that holds it, for dev_overrides.
func ProviderDir(t TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "aqueduct-provider-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "terraform-provider-aqueduct"), ".")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the provider: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// RemoveProviderBuild removes the directory ProviderDir built the provider
// into. A program calls it once, when it is done with terraform; a later
// ProviderDir fails.
func RemoveProviderBuild() error {
	buildOnce.Do(func() { buildErr = errors.New("clitest: the provider build was removed") })
	if buildDir == "" {
		return nil
	}
	return os.RemoveAll(buildDir)
}

// TerraformPath is $TF_ACC_TERRAFORM_PATH, bin/terraform or terraform on PATH.
// TF_ACC_TERRAFORM_PATH may name OpenTofu's tofu.
func TerraformPath(t TB) string {
	t.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	if p := filepath.Join(RepoRoot(), "bin", "terraform"); isFile(p) {
		return p
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	t.Fatal("no terraform: set TF_ACC_TERRAFORM_PATH or run 'make tools'")
	return ""
}

// The provider's address on each registry host. A configuration that names
// it "aqueduct/aqueduct" means the first to Terraform and the second to
// OpenTofu, whose default registry is registry.opentofu.org.
const (
	TerraformRegistry = "registry.terraform.io"
	OpenTofuRegistry  = "registry.opentofu.org"
)

// ProviderAddresses are the provider's source addresses on both registry
// hosts; a CLI config's dev_overrides name both.
var ProviderAddresses = []string{TerraformRegistry + "/aqueduct/aqueduct", OpenTofuRegistry + "/aqueduct/aqueduct"}

var (
	hostMu    sync.Mutex
	hostCache = map[string]string{}
)

// RegistryHost is the registry host that the CLI at path gives a provider
// source without one: registry.opentofu.org for OpenTofu, whose version
// line starts "OpenTofu", registry.terraform.io for Terraform.
func RegistryHost(path string) (string, error) {
	hostMu.Lock()
	defer hostMu.Unlock()
	if h, ok := hostCache[path]; ok {
		return h, nil
	}
	cmd := exec.Command(path, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running %s version: %w", path, err)
	}
	h := TerraformRegistry
	if strings.HasPrefix(string(out), "OpenTofu") {
		h = OpenTofuRegistry
	}
	hostCache[path] = h
	return h, nil
}

// CLIConfig is a CLI configuration whose dev_overrides serve the provider
// from dir under both registry hosts, so that one file serves Terraform
// and OpenTofu alike.
func CLIConfig(dir string) string {
	var b strings.Builder
	b.WriteString("provider_installation {\n  dev_overrides {\n")
	for _, a := range ProviderAddresses {
		fmt.Fprintf(&b, "    %q = %q\n", a, dir)
	}
	b.WriteString("  }\n  direct {}\n}\n")
	return b.String()
}

// PrepareEnv fits the process environment to the CLI that
// terraform-plugin-testing runs, $TF_ACC_TERRAFORM_PATH, before any test
// does. It sets TF_ACC_PROVIDER_HOST, unless set, to that CLI's default
// registry host: configurations that name the provider "aqueduct/aqueduct"
// then match the address the test serves it under, on OpenTofu too. It
// unsets TF_CLI_CONFIG_FILE when that names no file: Terraform warns about
// it on every command and OpenTofu's warnings would then differ.
func PrepareEnv() error {
	if p := os.Getenv("TF_CLI_CONFIG_FILE"); p != "" && !isFile(p) {
		os.Unsetenv("TF_CLI_CONFIG_FILE")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" || os.Getenv("TF_ACC_PROVIDER_HOST") != "" {
		return nil
	}
	host, err := RegistryHost(tf)
	if err != nil {
		return err
	}
	return os.Setenv("TF_ACC_PROVIDER_HOST", host)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Workspace is a Terraform working directory with the environment its
// commands run in.
type Workspace struct {
	t         TB
	Dir       string
	Terraform string
	Env       []string // os.Environ() plus the settings below
}

// New makes a working directory holding files (relative path to content),
// with a CLI config whose dev_overrides point at the provider build (under
// both registry hosts, so Terraform and OpenTofu find it), and an
// environment that reaches AWS at endpoint with static test credentials and
// nothing of the user's own AWS or Terraform settings.
func New(t TB, endpoint, region string, files map[string]string) *Workspace {
	t.Helper()
	w := &Workspace{t: t, Dir: t.TempDir(), Terraform: TerraformPath(t)}
	rc := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(rc, []byte(CLIConfig(ProviderDir(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Write(files)
	w.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+rc,
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_REGION="+region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_PROFILE=",
	)
	return w
}

// Write writes files into the working directory.
func (w *Workspace) Write(files map[string]string) {
	w.t.Helper()
	for name, body := range files {
		p := filepath.Join(w.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *Workspace) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.Terraform, append([]string{"-chdir=" + w.Dir}, args...)...)
	cmd.Env = w.Env
	return cmd
}

// Run runs terraform with args and returns its combined output and exit code.
func (w *Workspace) Run(args ...string) (string, int) {
	w.t.Helper()
	out, err := w.command(args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		w.t.Fatalf("running terraform %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

// Must runs terraform and fails the test unless it exits 0.
func (w *Workspace) Must(args ...string) string {
	w.t.Helper()
	out, code := w.Run(args...)
	if code != 0 {
		w.t.Fatalf("terraform %s exited %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// Process is a terraform command running in the background.
type Process struct {
	cmd  *exec.Cmd
	out  *strings.Builder
	done chan struct{}
	mu   sync.Mutex
}

// Start runs terraform with args in the background, in its own process
// group, so that Kill reaches the providers it starts too.
func (w *Workspace) Start(args ...string) *Process {
	w.t.Helper()
	p := &Process{cmd: w.command(args...), out: &strings.Builder{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() { p.Kill() })
	return p
}

type lockedWriter struct{ p *Process }

func (l lockedWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.out.Write(b)
}

// Output is what the process printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Kill sends SIGKILL to terraform and every process of its group, as a CI
// runner does on timeout, and waits for terraform to be gone.
func (p *Process) Kill() {
	if p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }
