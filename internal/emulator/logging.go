package emulator

import (
	"net/http"
	"sync"
	"time"
)

// Request is one handled request, as the emulator logged it.
type Request struct {
	Time      time.Time
	Service   string // lambda, ecr, registry, s3, iam, sts, scheduler, admin
	Operation string // e.g. CreateFunction, GetRole, PutObject
	Status    int
	Duration  time.Duration
	Fault     string // "throttle" or "error" when injected, else ""
	// Principal is the caller's ARN for a signed AWS API request: an
	// assumed-role session STS issued, else the account's root.
	Principal string
}

// requestLog keeps the latest requests for tests and the admin API.
type requestLog struct {
	mu   sync.Mutex
	buf  []Request
	next int
	full bool
}

const requestLogSize = 10000

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		l.buf = make([]Request, requestLogSize)
	}
	l.buf[l.next] = r
	l.next = (l.next + 1) % len(l.buf)
	if l.next == 0 {
		l.full = true
	}
}

func (l *requestLog) all() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Request(nil), l.buf[:l.next]...)
	}
	return append(append([]Request(nil), l.buf[l.next:]...), l.buf[:l.next]...)
}

func (l *requestLog) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf, l.next, l.full = nil, 0, false
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status    int
	principal string
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush keeps streaming responses (registry blobs, logs) streaming.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
