package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
)

// Where the helper binaries appear inside a function's container.
const (
	rieMount  = "/aws-lambda/aws-lambda-rie"
	shimMount = "/aws-lambda/aqueduct-shim"
)

// mbPerVCPU is Lambda's CPU proportion: one vCPU at 1769 MB.
const mbPerVCPU = 1769

// imageCache serialises pulls per image, so concurrent cold starts pull once.
type imageCache struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (ic *imageCache) lock(ref string) *sync.Mutex {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	l, ok := ic.locks[ref]
	if !ok {
		l = &sync.Mutex{}
		ic.locks[ref] = l
	}
	return l
}

// ensureImage pulls ref (repo@digest) if the engine does not have it, and
// returns its config.
func (r *Runner) ensureImage(ctx context.Context, ref string) (image.InspectResponse, error) {
	l := r.images.lock(ref)
	l.Lock()
	defer l.Unlock()
	ins, err := r.cfg.Docker.ImageInspect(ctx, ref)
	if err == nil {
		return ins, nil
	}
	if !client.IsErrNotFound(err) {
		return ins, err
	}
	var opts image.PullOptions
	if r.cfg.PullAuth != nil {
		user, pass := r.cfg.PullAuth()
		host, _, _ := strings.Cut(ref, "/")
		auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: host})
		if err != nil {
			return ins, err
		}
		opts.RegistryAuth = auth
	}
	r.cfg.Logf("lambda: pulling %s", ref)
	rc, err := r.cfg.Docker.ImagePull(ctx, ref, opts)
	if err != nil {
		return ins, fmt.Errorf("pull %s: %w", ref, err)
	}
	defer rc.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil); err != nil {
		return ins, fmt.Errorf("pull %s: %w", ref, err)
	}
	return r.cfg.Docker.ImageInspect(ctx, ref)
}

// start creates, starts and waits for a new container for spec, marked busy.
func (r *Runner) start(ctx context.Context, spec Spec, key string, ep epochs) (*fnContainer, error) {
	rie, err := r.cfg.RIEPath(ctx)
	if err != nil {
		return nil, fmt.Errorf("runtime interface emulator: %w", err)
	}
	shim, err := r.cfg.ShimPath(ctx)
	if err != nil {
		return nil, fmt.Errorf("runtime shim: %w", err)
	}
	img, err := r.ensureImage(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	entry, cmd, wd := img.Config.Entrypoint, img.Config.Cmd, img.Config.WorkingDir
	if spec.EntryPoint != nil {
		entry = spec.EntryPoint
	}
	if spec.Command != nil {
		cmd = spec.Command
	}
	if spec.WorkingDir != "" {
		wd = spec.WorkingDir
	}
	handler := ""
	if len(cmd) > 0 {
		handler = cmd[0]
	}
	runtimeCmd := append(append([]string{}, entry...), cmd...)

	// Ports are free when chosen but not reserved; another process may take
	// one before RIE binds it, so a failed start is retried with new ones.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := r.startOnce(ctx, spec, key, ep, img, rie, shim, wd, handler, runtimeCmd)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil || errors.Is(err, errClosed) || !errors.Is(err, errNotReady) {
			break
		}
	}
	return nil, lastErr
}

var errNotReady = errors.New("container did not become ready")

func (r *Runner) startOnce(ctx context.Context, spec Spec, key string, ep epochs, img image.InspectResponse, rie, shim, wd, handler string, runtimeCmd []string) (*fnContainer, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	proxy, err := newRTProxy("127.0.0.1:" + strconv.Itoa(apiPort))
	if err != nil {
		return nil, err
	}
	cmdJSON, _ := json.Marshal(runtimeCmd)
	var creds *Credentials
	if r.cfg.Credentials != nil {
		c := r.cfg.Credentials(spec)
		creds = &c
	}
	env := append(lambdaEnv(spec, img.Config.Env, handler, creds, r.cfg.Endpoint), "AQUEDUCT_RUNTIME_API="+proxy.Addr(), "AQUEDUCT_RUNTIME_CMD="+string(cmdJSON))
	// RIE runs the shim, which runs the image's command (see shim/main.go).
	args := []string{
		"--log-level", "error",
		"--runtime-interface-emulator-address", "127.0.0.1:" + strconv.Itoa(invokePort),
		"--runtime-api-address", "127.0.0.1:" + strconv.Itoa(apiPort),
		shimMount,
	}
	mem := int64(spec.MemoryMB) << 20
	cfg := &container.Config{
		Image:      img.ID,
		Entrypoint: []string{rieMount},
		Cmd:        args,
		Env:        env,
		WorkingDir: wd,
		Labels: map[string]string{
			LabelEmulator: "1",
			LabelInstance: r.cfg.Instance,
			LabelFunction: spec.Function,
		},
	}
	host := &container.HostConfig{
		NetworkMode:    "host",
		ReadonlyRootfs: true, // as Lambda: only /tmp is writable
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: rie, Target: rieMount, ReadOnly: true},
			{Type: mount.TypeBind, Source: shim, Target: shimMount, ReadOnly: true},
			{Type: mount.TypeVolume, Target: "/tmp"},
		},
		Resources: container.Resources{
			Memory:     mem,
			MemorySwap: mem, // no swap: over the limit is an OOM kill, as on Lambda
			NanoCPUs:   r.nanoCPUs(ctx, spec.MemoryMB),
		},
	}
	name := fmt.Sprintf("aqueduct-lambda-%s-%s-%s", r.cfg.Instance, sanitize(spec.Function), randHex(3))

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		proxy.Close()
		return nil, errClosed
	}
	r.wg.Add(1) // Close waits for this creation to finish or register
	r.mu.Unlock()
	defer r.wg.Done()

	created, err := r.cfg.Docker.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		proxy.Close()
		return nil, fmt.Errorf("create container: %w", err)
	}
	c := &fnContainer{
		id:         created.ID,
		function:   spec.Function,
		key:        key,
		invokeAddr: "127.0.0.1:" + strconv.Itoa(invokePort),
		proxy:      proxy,
		logs:       newLogBuffer(),
		client:     &http.Client{Transport: &http.Transport{DisableCompression: true}},
		busy:       true,
		lastUsed:   time.Now(),
	}
	fail := func(err error) (*fnContainer, error) {
		r.remove(c)
		return nil, err
	}
	// Attach before start so no output is missed.
	att, err := r.cfg.Docker.ContainerAttach(ctx, c.id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fail(fmt.Errorf("attach container: %w", err))
	}
	c.attach = att.Conn
	go func() { _, _ = stdcopy.StdCopy(c.logs, c.logs, att.Reader) }()
	if err := r.cfg.Docker.ContainerStart(ctx, c.id, container.StartOptions{}); err != nil {
		return fail(fmt.Errorf("start container: %w", err))
	}
	if err := r.waitReady(ctx, c); err != nil {
		return fail(err)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fail(errClosed)
	}
	if ep != (epochs{r.epoch, r.fnEpoch[spec.Function]}) {
		c.doomed = true
	}
	r.pool[spec.Function] = append(r.pool[spec.Function], c)
	r.mu.Unlock()
	r.cfg.Logf("lambda: started container %s for %s (%d MB)", short(c.id), spec.Function, spec.MemoryMB)
	return c, nil
}

// nanoCPUs is Lambda's CPU share for memoryMB, capped at the engine's CPUs,
// which Docker refuses to exceed.
func (r *Runner) nanoCPUs(ctx context.Context, memoryMB int) int64 {
	n := int64(memoryMB) * 1e9 / mbPerVCPU
	r.ncpuOnce.Do(func() {
		if info, err := r.cfg.Docker.Info(ctx); err == nil {
			r.ncpu = int64(info.NCPU)
		}
	})
	if r.ncpu > 0 {
		n = min(n, r.ncpu*1e9)
	}
	return n
}

// waitReady waits until RIE accepts connections, or the container exits.
func (r *Runner) waitReady(ctx context.Context, c *fnContainer) error {
	deadline := time.Now().Add(30 * time.Second)
	lastInspect := time.Now()
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", c.invokeAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Since(lastInspect) > 300*time.Millisecond {
			lastInspect = time.Now()
			ins, err := r.cfg.Docker.ContainerInspect(ctx, c.id)
			if err != nil {
				return err
			}
			if ins.State != nil && !ins.State.Running {
				return fmt.Errorf("%w: exited with %d: %s", errNotReady, ins.State.ExitCode, strings.TrimSpace(string(Tail(c.logs.Since(0), 1024))))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w within 30s: %s", errNotReady, strings.TrimSpace(string(Tail(c.logs.Since(0), 1024))))
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
