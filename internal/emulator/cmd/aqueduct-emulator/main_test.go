package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles the command as a user would run it.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aqueduct-emulator")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var urlRE = regexp.MustCompile(`msg="emulator listening" url=(\S+)`)

// start runs the binary and returns its URL once it listens, and a channel
// with the rest of its log once it exits.
func start(t *testing.T, bin string, args ...string) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	found := make(chan string, 1)
	rest := make(chan string, 1)
	go func() {
		var log strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		rest <- log.String()
	}()
	select {
	case u := <-found:
		return cmd, u, rest
	case log := <-rest:
		t.Fatalf("the emulator exited before listening:\n%s", log)
	case <-time.After(60 * time.Second):
		t.Fatal("the emulator did not report its address within 60s")
	}
	return nil, "", nil
}

func TestSignalsStopCleanly(t *testing.T) {
	bin := build(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd, url, rest := start(t, bin, "-addr", "127.0.0.1:0", "-data", dir, "-throttle-rate", "0.25", "-fault-services", "s3")

			resp, err := http.Get(url + "/_emulator/faults")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if !strings.Contains(string(body), `"throttle_rate": 0.25`) || !strings.Contains(string(body), `"s3"`) {
				t.Errorf("faults from the flags = %s", body)
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// Read stderr to its end before Wait, which closes the pipe and
			// could lose the last lines.
			var log string
			select {
			case log = <-rest:
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30s after %v", sig)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit after %v: %v", sig, err)
			}
			for _, want := range []string{"service=admin operation=\"GET /faults\" status=200", "shutting down", "emulator stopped"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			// Each service got its own directory under -data.
			for _, sub := range []string{"iam", "s3"} {
				if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
					t.Errorf("data dir: %v", err)
				}
			}
			if _, err := http.Get(url + "/_emulator/health"); err == nil {
				t.Error("still answering after it exited")
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"-throttle-rate", "2"},
		{"-fault-services", "dynamodb"},
		{"extra-arg"},
	} {
		out, err := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("%v: err %v, want a non-zero exit\n%s", args, err, out)
		}
	}
}
