package runner

import (
	"bytes"
	"regexp"
	"sync"
	"time"
)

// logBuffer holds a container's combined stdout and stderr. Offsets are
// absolute (bytes ever written), so an invocation can mark where its log
// starts even after old output has been dropped.
type logBuffer struct {
	mu      sync.Mutex
	data    []byte
	base    int64         // absolute offset of data[0]
	changed chan struct{} // closed and replaced on every write
}

// maxLogBuffer bounds what a chatty container can hold in memory.
const maxLogBuffer = 1 << 20

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = append(b.data, p...)
	if over := len(b.data) - maxLogBuffer; over > 0 {
		b.data = append([]byte(nil), b.data[over:]...)
		b.base += int64(over)
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

// Offset is the absolute offset of the next byte to be written.
func (b *logBuffer) Offset() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.base + int64(len(b.data))
}

// Since returns what was written from the absolute offset on.
func (b *logBuffer) Since(off int64) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := off - b.base
	if i < 0 {
		i = 0
	}
	if i > int64(len(b.data)) {
		return nil
	}
	return append([]byte(nil), b.data[i:]...)
}

// WaitFor waits until a complete line containing needle was written after off.
func (b *logBuffer) WaitFor(off int64, needle string, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		i := off - b.base
		if i < 0 {
			i = 0
		}
		var found bool
		if i <= int64(len(b.data)) {
			rest := b.data[i:]
			if j := bytes.Index(rest, []byte(needle)); j >= 0 {
				found = bytes.IndexByte(rest[j:], '\n') >= 0
			}
		}
		ch := b.changed
		b.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// rieInternal matches RIE's own diagnostic lines, which Lambda's logs do not have.
var rieInternal = regexp.MustCompile(`^\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2},\d{3} \[\w+\] \(rapid\) `)

// functionLog keeps the lines a Lambda log would show.
func functionLog(raw []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if len(line) == 0 || rieInternal.Match(line) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

// Tail returns the last n bytes of a log, as Lambda's X-Amz-Log-Result does.
func Tail(log []byte, n int) []byte {
	if len(log) <= n {
		return log
	}
	return log[len(log)-n:]
}
