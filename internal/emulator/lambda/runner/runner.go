// Package runner executes Lambda invocations in the local Docker engine: one
// container per concurrent invocation, each running the function's image
// under AWS's Runtime Interface Emulator (RIE) on the host network, kept warm
// for reuse and removed when idle, stale or no longer wanted.
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Labels put on every container, so that leaks can be found.
const (
	LabelEmulator = "aqueduct.emulator"
	LabelInstance = "aqueduct.emulator.instance"
	LabelFunction = "aqueduct.emulator.function"
)

// Spec is what an invocation runs. Containers are reused only for an equal Spec.
type Spec struct {
	Function   string
	Version    string
	Region     string
	Image      string // repo@sha256:...
	EntryPoint []string
	Command    []string
	WorkingDir string
	MemoryMB   int
	TimeoutSec int
	Env        map[string]string // the function's own variables
	Role       string            // execution role: a new role is a new sandbox, with its credentials
}

func (s Spec) key() string {
	b, _ := json.Marshal(s)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Request is one invocation.
type Request struct {
	ID            string
	Payload       []byte
	ClientContext string // base64, as in X-Amz-Client-Context
}

// Result is what Lambda answers for an invocation.
type Result struct {
	Payload       []byte
	FunctionError string // "" or "Unhandled"
	Log           []byte // this invocation's log lines
	TimedOut      bool
}

// Config configures a Runner.
type Config struct {
	Docker      *client.Client
	Instance    string // labels this runner's containers
	IdleTimeout time.Duration
	RIEPath     func(context.Context) (string, error)
	ShimPath    func(context.Context) (string, error)
	PullAuth    func() (username, password string)
	// Credentials are a new sandbox's role credentials, set as Lambda sets
	// them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
	Credentials func(Spec) Credentials
	// Endpoint, when set, is the AWS_ENDPOINT_URL a function's SDK calls
	// unless its image or configuration sets one: on AWS the default
	// endpoints are AWS; here they are the emulator.
	Endpoint string
	Logf     func(format string, args ...any)
}

// Credentials are temporary credentials for an execution role.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Runner owns a pool of function containers.
type Runner struct {
	cfg    Config
	images imageCache

	ncpuOnce sync.Once
	ncpu     int64 // the engine's CPUs

	mu     sync.Mutex
	pool   map[string][]*fnContainer // by function name
	closed bool
	// Discards bump these; a container started before a discard it did
	// not see serves its one invocation and is then removed.
	epoch   int64
	fnEpoch map[string]int64
	wg      sync.WaitGroup // invocations and container creations in flight

	stopReaper chan struct{}
	reaperDone chan struct{}
}

// New starts a Runner and its idle reaper.
func New(cfg Config) *Runner {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	r := &Runner{
		cfg:        cfg,
		pool:       map[string][]*fnContainer{},
		fnEpoch:    map[string]int64{},
		stopReaper: make(chan struct{}),
		reaperDone: make(chan struct{}),
	}
	r.images.locks = map[string]*sync.Mutex{}
	go r.reap()
	return r
}

type epochs struct{ all, fn int64 }

var errClosed = errors.New("the emulator is shutting down")

// Invoke runs one invocation in an idle warm container for spec, or in a new one.
func (r *Runner) Invoke(ctx context.Context, spec Spec, req Request) (*Result, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errClosed
	}
	r.wg.Add(1)
	key := spec.key()
	var c *fnContainer
	for _, cand := range r.pool[spec.Function] {
		if !cand.busy && !cand.doomed && cand.key == key {
			c = cand
			break
		}
	}
	if c != nil {
		c.busy = true
	}
	ep := epochs{r.epoch, r.fnEpoch[spec.Function]}
	r.mu.Unlock()
	defer r.wg.Done()

	if c == nil {
		var err error
		c, err = r.start(ctx, spec, key, ep)
		if err != nil {
			return nil, err
		}
	}
	res, keep := c.invoke(ctx, spec, req)
	r.release(c, keep)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("invocation %s abandoned: %w", req.ID, err)
	}
	return res, nil
}

// release returns a container to the pool, or removes it.
func (r *Runner) release(c *fnContainer, keep bool) {
	r.mu.Lock()
	c.busy = false
	c.lastUsed = time.Now()
	remove := !keep || c.doomed || r.closed
	if remove {
		r.dropLocked(c)
	}
	r.mu.Unlock()
	if remove {
		r.remove(c)
	}
}

func (r *Runner) dropLocked(c *fnContainer) {
	list := r.pool[c.function]
	for i, x := range list {
		if x == c {
			r.pool[c.function] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(r.pool[c.function]) == 0 {
		delete(r.pool, c.function)
	}
}

// Discard removes a function's containers: idle ones now, busy ones when
// their invocation ends. Called when the function changes or is deleted.
func (r *Runner) Discard(function string) {
	r.mu.Lock()
	r.fnEpoch[function]++
	var idle []*fnContainer
	for _, c := range append([]*fnContainer(nil), r.pool[function]...) {
		c.doomed = true
		if !c.busy {
			r.dropLocked(c)
			idle = append(idle, c)
		}
	}
	r.mu.Unlock()
	r.removeAll(idle)
}

// DiscardAll removes every container: idle ones now, busy ones are killed,
// which ends their invocations with an error.
func (r *Runner) DiscardAll() {
	r.mu.Lock()
	r.epoch++
	var all []*fnContainer
	for _, list := range r.pool {
		all = append(all, list...)
	}
	for _, c := range all {
		c.doomed = true
		if !c.busy {
			r.dropLocked(c)
		}
	}
	r.mu.Unlock()
	// Busy containers are killed but stay in the pool until release removes them.
	r.removeAll(all)
}

// Close removes every container and waits for invocations in flight.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stopReaper)
	<-r.reaperDone
	r.DiscardAll()
	r.wg.Wait()
	// A sweep by label catches anything a failed removal left behind.
	return r.sweep()
}

func (r *Runner) reap() {
	defer close(r.reaperDone)
	tick := r.cfg.IdleTimeout / 4
	tick = min(max(tick, 50*time.Millisecond), 10*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-r.stopReaper:
			return
		case now := <-t.C:
			r.mu.Lock()
			var idle []*fnContainer
			for _, list := range r.pool {
				for _, c := range list {
					if !c.busy && now.Sub(c.lastUsed) > r.cfg.IdleTimeout {
						idle = append(idle, c)
					}
				}
			}
			for _, c := range idle {
				r.dropLocked(c)
			}
			r.mu.Unlock()
			for _, c := range idle {
				r.cfg.Logf("lambda: removing idle container %s of %s", short(c.id), c.function)
			}
			r.removeAll(idle)
		}
	}
}

func (r *Runner) removeAll(cs []*fnContainer) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() { defer wg.Done(); r.remove(c) }()
	}
	wg.Wait()
}

func (r *Runner) remove(c *fnContainer) {
	c.removeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.cfg.Docker.ContainerRemove(ctx, c.id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !client.IsErrNotFound(err) {
			r.cfg.Logf("lambda: removing container %s: %v", short(c.id), err)
		}
		c.close()
	})
}

// sweep removes any container still labelled with this runner's instance.
func (r *Runner) sweep() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := r.cfg.Docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelInstance+"="+r.cfg.Instance)),
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range list {
		if err := r.cfg.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// fnContainer is one execution environment.
type fnContainer struct {
	id, function, key string
	invokeAddr        string // RIE's invoke endpoint, host:port
	proxy             *rtProxy
	logs              *logBuffer
	attach            io.Closer
	client            *http.Client

	// guarded by Runner.mu
	busy     bool
	doomed   bool
	lastUsed time.Time

	removeOnce sync.Once
}

func (c *fnContainer) close() {
	if c.attach != nil {
		c.attach.Close()
	}
	c.proxy.Close()
	c.client.CloseIdleConnections()
}

// ownDeadlineGrace is how long past the function's timeout the emulator waits
// for RIE's own timeout answer before it gives up on the container.
const ownDeadlineGrace = 3 * time.Second

// invoke runs one request and shapes the answer as Lambda does. keep reports
// whether the container may serve again.
func (c *fnContainer) invoke(ctx context.Context, spec Spec, req Request) (res *Result, keep bool) {
	timeout := time.Duration(spec.TimeoutSec) * time.Second
	start := time.Now()
	off := c.logs.Offset()

	ictx, cancel := context.WithTimeout(ctx, timeout+ownDeadlineGrace)
	defer cancel()
	hreq, _ := http.NewRequestWithContext(ictx, http.MethodPost, "http://"+c.invokeAddr+"/2015-03-31/functions/function/invocations", bytes.NewReader(req.Payload))
	hreq.Header.Set("X-Amzn-RequestId", req.ID)
	if req.ClientContext != "" {
		hreq.Header.Set("X-Amz-Client-Context", req.ClientContext)
	}
	var status int
	var body []byte
	resp, err := c.client.Do(hreq)
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	elapsed := time.Since(start)
	o := c.proxy.take(req.ID)

	res = &Result{}
	switch {
	case err != nil && ictx.Err() != nil && ctx.Err() == nil:
		// RIE did not enforce the timeout itself; the container is discarded.
		res.TimedOut = true
	case err != nil:
		res.FunctionError = "Unhandled"
		res.Payload = errorBody("Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited without providing a reason", req.ID))
		res.Log = c.finishLog(off, req.ID, spec, elapsed, "", res.Payload)
		return res, false
	case status == http.StatusOK && o.kind == "error":
		res.FunctionError = "Unhandled"
		res.Payload = body
	case status == http.StatusOK && o.kind == "response":
		res.Payload = body
	case status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after")):
		res.TimedOut = true
	case status == http.StatusOK:
		res.Payload = body
	default:
		// RIE answers runtime crashes (exit, OOM kill) and init failures with
		// 502 and Lambda's body, e.g. Runtime.ExitError.
		res.FunctionError = "Unhandled"
		res.Payload = body
		if !json.Valid(body) || len(bytes.TrimSpace(body)) == 0 {
			res.Payload = errorBody("Runtime.Unknown", fmt.Sprintf("RequestId: %s Error: %s", req.ID, strings.TrimSpace(string(body))))
		}
	}
	if res.TimedOut {
		msg := fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())
		res.FunctionError = "Unhandled"
		res.Payload = errorBody("Sandbox.Timedout", fmt.Sprintf("RequestId: %s Error: %s", req.ID, msg))
		res.Log = c.finishLog(off, req.ID, spec, min(elapsed, timeout), msg, nil)
		return res, false
	}
	var crash []byte
	if status != http.StatusOK {
		crash = res.Payload
	}
	res.Log = c.finishLog(off, req.ID, spec, elapsed, "", crash)
	return res, true
}

// finishLog collects the invocation's log and completes it as Lambda's would
// read: RIE prints no END/REPORT after a crash, nor Lambda's timeout line.
func (c *fnContainer) finishLog(off int64, id string, spec Spec, elapsed time.Duration, timeoutMsg string, crash []byte) []byte {
	report := "REPORT RequestId: " + id
	var got bool
	if crash == nil {
		got = c.logs.WaitFor(off, report, 2*time.Second)
	} else {
		// RIE logs this once the runtime's exit is handled.
		c.logs.WaitFor(off, "Invoke DONE failed", 500*time.Millisecond)
	}
	log := functionLog(c.logs.Since(off))
	var b bytes.Buffer
	if timeoutMsg != "" {
		line := fmt.Sprintf("%s %s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, timeoutMsg)
		end := []byte("END RequestId: " + id)
		if i := bytes.Index(log, end); i >= 0 {
			b.Write(log[:i])
			b.WriteString(line)
			b.Write(log[i:])
			return b.Bytes()
		}
		b.Write(log)
		b.WriteString(line)
	} else {
		b.Write(log)
	}
	if crash != nil {
		var e struct{ ErrorType, ErrorMessage string }
		_ = json.Unmarshal(crash, &e)
		fmt.Fprintf(&b, "%s\n%s\n", e.ErrorMessage, e.ErrorType)
	}
	if !got {
		ms := float64(elapsed.Microseconds()) / 1000
		fmt.Fprintf(&b, "END RequestId: %s\n", id)
		fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %.0f ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t\n",
			id, ms, ceil(ms), spec.MemoryMB, spec.MemoryMB)
	}
	return b.Bytes()
}

func ceil(f float64) float64 {
	i := float64(int64(f))
	if f > i {
		return i + 1
	}
	return i
}

func errorBody(errType, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{errType, msg})
	return b
}

// lambdaEnv is the environment Lambda gives a function: its own variables
// plus the reserved ones.
func lambdaEnv(spec Spec, imageEnv []string, handler string, creds *Credentials, endpoint string) []string {
	has := map[string]bool{}
	for _, kv := range imageEnv {
		k, _, _ := strings.Cut(kv, "=")
		has[k] = true
	}
	env := map[string]string{}
	if _, set := spec.Env["AWS_ENDPOINT_URL"]; endpoint != "" && !set && !has["AWS_ENDPOINT_URL"] {
		env["AWS_ENDPOINT_URL"] = endpoint
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	day := time.Now().UTC().Format("2006/01/02")
	reserved := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        spec.Function,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(spec.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     spec.Version,
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(spec.TimeoutSec), // read by RIE
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + spec.Function,
		"AWS_LAMBDA_LOG_STREAM_NAME":      day + "/[" + spec.Version + "]" + randHex(16),
		"AWS_REGION":                      spec.Region,
		"AWS_DEFAULT_REGION":              spec.Region,
		"TZ":                              ":UTC",
		"_HANDLER":                        handler,
	}
	if creds != nil {
		reserved["AWS_ACCESS_KEY_ID"] = creds.AccessKeyID
		reserved["AWS_SECRET_ACCESS_KEY"] = creds.SecretAccessKey
		reserved["AWS_SESSION_TOKEN"] = creds.SessionToken
	}
	for k, v := range reserved {
		env[k] = v
	}
	// AWS base images set these themselves; Lambda's values are the defaults.
	for k, v := range map[string]string{
		"LAMBDA_TASK_ROOT":   "/var/task",
		"LAMBDA_RUNTIME_DIR": "/var/runtime",
		"AWS_EXECUTION_ENV":  "AWS_Lambda_Image",
	} {
		if !has[k] {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// freePort asks the kernel for a loopback port that is free right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
