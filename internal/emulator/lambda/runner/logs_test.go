package runner

import (
	"strings"
	"testing"
	"time"
)

func TestFunctionLogDropsRIEInternals(t *testing.T) {
	raw := "START RequestId: 1 Version: $LATEST\n" +
		"27 Nov 2026 00:26:12,129 [ERROR] (rapid) Invoke DONE failed: Runtime.ExitError\n" +
		"user line mentioning (rapid) stays\n" +
		"END RequestId: 1\n"
	got := string(functionLog([]byte(raw)))
	want := "START RequestId: 1 Version: $LATEST\nuser line mentioning (rapid) stays\nEND RequestId: 1\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLogBufferOffsetsSurviveTrimming(t *testing.T) {
	b := newLogBuffer()
	_, _ = b.Write([]byte(strings.Repeat("x", maxLogBuffer)))
	off := b.Offset()
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = b.Write([]byte("REPORT RequestId: 7\tDuration: 1 ms\n"))
	}()
	if !b.WaitFor(off, "REPORT RequestId: 7", 5*time.Second) {
		t.Fatal("WaitFor missed a line written after it started")
	}
	if got := string(b.Since(off)); !strings.HasPrefix(got, "REPORT RequestId: 7") {
		t.Errorf("Since(off) = %q", got)
	}
	if b.WaitFor(off, "REPORT RequestId: 8", 50*time.Millisecond) {
		t.Error("WaitFor found a line never written")
	}
	// A line is only found once complete.
	_, _ = b.Write([]byte("REPORT RequestId: 9"))
	if b.WaitFor(off, "REPORT RequestId: 9", 50*time.Millisecond) {
		t.Error("WaitFor took a partial line")
	}
	if len(Tail([]byte("abcdef"), 4)) != 4 || string(Tail([]byte("ab"), 4)) != "ab" {
		t.Error("Tail")
	}
}
