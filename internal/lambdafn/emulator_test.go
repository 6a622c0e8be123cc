package lambdafn_test

// Integration tests through the project's AWS emulator: the real SDK
// clients, a real image in the emulated ECR, and the function run by the
// local Docker engine.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/docker/docker/api/types/build"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
)

// lambdaArch is the Lambda architecture of this machine, so the test
// handler runs natively.
func lambdaArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

type world struct {
	e      *emulator.Emulator
	api    *lambda.Client
	c      *lambdafn.Client
	roleV1 string
	imgV1  string // repo@sha256:... of the handler with HANDLER_VERSION=v1
	imgV2  string
}

// setup starts the emulator, pushes two versions of the test handler's image
// and creates an execution role.
func setup(t *testing.T) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Docker and the emulator")
	}
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	cfg := emulatortest.Config(t, e)
	ctx := context.Background()

	w := &world{e: e, api: lambda.NewFromConfig(cfg)}
	w.c = lambdafn.New(w.api, func(o *lambdafn.Options) {
		o.WaitTimeout = 2 * time.Minute
		o.IAMPropagationTimeout = 3 * time.Second
	})

	roleOut, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("lambdafn-test"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatalf("creating the role: %v", err)
	}
	w.roleV1 = aws.ToString(roleOut.Role.Arn)

	bin := buildHandler(t)
	w.imgV1 = pushImage(t, e, cfg, "lambdafn-test", bin, "v1")
	w.imgV2 = pushImage(t, e, cfg, "lambdafn-test", bin, "v2")
	return w
}

var handler struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if handler.dir != "" {
		_ = os.RemoveAll(handler.dir)
	}
	os.Exit(code)
}

// buildHandler cross-compiles testdata/handler as a static Linux binary,
// once for all tests.
func buildHandler(t *testing.T) string {
	t.Helper()
	handler.once.Do(func() {
		if handler.dir, handler.err = os.MkdirTemp("", "lambdafn-handler-"); handler.err != nil {
			return
		}
		handler.path = filepath.Join(handler.dir, "handler")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", handler.path, "./testdata/handler")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if b, err := cmd.CombinedOutput(); err != nil {
			handler.err = fmt.Errorf("%v\n%s", err, b)
		}
	})
	if handler.err != nil {
		t.Fatalf("building the test handler: %v", handler.err)
	}
	return handler.path
}

// pushImage builds FROM scratch + the handler with the legacy builder,
// pushes it to the emulated ECR with GetAuthorizationToken credentials and
// returns repo@digest.
func pushImage(t *testing.T, e *emulator.Emulator, cfg aws.Config, repo, bin, version string) string {
	t.Helper()
	ctx := context.Background()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })

	ecrc := ecr.NewFromConfig(cfg)
	if _, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil &&
		!strings.Contains(err.Error(), "RepositoryAlreadyExists") {
		t.Fatalf("creating the repository: %v", err)
	}
	tok, err := ecrc.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil || len(tok.AuthorizationData) == 0 {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	user, pass, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok {
		t.Fatalf("authorization token is not base64 user:password: %v", err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(aws.ToString(tok.AuthorizationData[0].ProxyEndpoint), "https://"), "http://")

	binBytes, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{
		{"Dockerfile", 0o644, fmt.Appendf(nil, "FROM scratch\nCOPY handler /handler\nENV HANDLER_VERSION=%s\nENTRYPOINT [\"/handler\"]\n", version)},
		{"handler", 0o755, binBytes},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}

	ref := host + "/" + repo + ":" + version
	resp, err := cli.ImageBuild(ctx, &ctxTar, build.ImageBuildOptions{
		Tags: []string{ref}, Version: build.BuilderV1, Remove: true, ForceRemove: true,
		Platform: "linux/" + runtime.GOARCH,
	})
	if err != nil {
		t.Fatalf("docker build: %v", err)
	}
	err = jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("docker build: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})

	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: host})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cli.ImagePush(ctx, ref, dockerimage.PushOptions{RegistryAuth: auth})
	if err != nil {
		t.Fatalf("docker push: %v", err)
	}
	var digest string
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, func(m jsonmessage.JSONMessage) {
		var aux struct{ Digest string }
		if m.Aux != nil && json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
			digest = aux.Digest
		}
	})
	rc.Close()
	if err != nil || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("docker push %s: digest %q, %v", ref, digest, err)
	}
	return host + "/" + repo + "@" + digest
}

// setFaults posts fault settings to the emulator's admin API.
func setFaults(t *testing.T, e *emulator.Emulator, body string) {
	t.Helper()
	resp, err := http.Post(e.URL()+"/_emulator/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setting faults %s: %s %s", body, resp.Status, b)
	}
}

// requests counts the emulator's logged Lambda requests for op with the
// given status (0 for any) and fault ("" for any).
func requests(e *emulator.Emulator, op string, status int, fault string) int {
	n := 0
	for _, r := range e.Requests() {
		if r.Service == "lambda" && r.Operation == op && (status == 0 || r.Status == status) && (fault == "" || r.Fault == fault) {
			n++
		}
	}
	return n
}

func (w *world) create(t *testing.T, name string) *lambdafn.Function {
	t.Helper()
	f, err := w.c.Create(context.Background(), lambdafn.Config{
		Name: name, ImageURI: w.imgV1, RoleARN: w.roleV1, Description: "lambdafn test",
		MemoryMB: 256, TimeoutS: 30, EphemeralMB: 512, Architecture: lambdaArch(),
		Environment: map[string]string{"GREETING": "hello"},
		Tags:        map[string]string{"owner": "test", "stage": "one"},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = w.c.Delete(context.Background(), name) })
	return f
}

type answer struct{ Echo, Version, Memory string }

func (w *world) invoke(t *testing.T, name, payload string) (*lambdafn.InvokeResult, answer) {
	t.Helper()
	res, err := w.c.Invoke(context.Background(), name, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var a answer
	if res.FunctionError == "" {
		if err := json.Unmarshal(res.Payload, &a); err != nil {
			t.Fatalf("Invoke payload %q: %v", res.Payload, err)
		}
	}
	return res, a
}

func TestEmulator_functionLifecycle(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	// Long enough that the first GetFunction after CreateFunction sees Pending.
	setFaults(t, w.e, `{"transition_delay_ms": 1500}`)
	name := "lifecycle-train"

	start := time.Now()
	f := w.create(t, name)
	if f.State != "Active" || time.Since(start) < 1500*time.Millisecond {
		t.Errorf("Create returned state %q after %s; want Active, after the 1.5s Pending", f.State, time.Since(start))
	}
	if n := requests(w.e, "GetFunction", http.StatusOK, ""); n < 2 {
		t.Errorf("%d GetFunction calls while creating; the waiter should have polled past Pending", n)
	}

	t.Run("get", func(t *testing.T) {
		g, err := w.c.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if g.Name != name || g.ImageURI != w.imgV1 || !strings.HasSuffix(g.ResolvedImageURI, w.imgV1[strings.Index(w.imgV1, "@"):]) ||
			g.RoleARN != w.roleV1 || g.MemoryMB != 256 || g.TimeoutS != 30 || g.EphemeralMB != 512 ||
			g.Architecture != lambdaArch() || g.Environment["GREETING"] != "hello" || g.Tags["stage"] != "one" ||
			!strings.HasSuffix(g.ARN, ":function:"+name) || g.State != "Active" || g.LastUpdateStatus != "Successful" {
			t.Errorf("Get = %+v", g)
		}
	})

	t.Run("invoke", func(t *testing.T) {
		res, a := w.invoke(t, name, `{"echo":"hi"}`)
		if res.StatusCode != 200 || a.Echo != "hi" || a.Version != "v1" || a.Memory != "256" {
			t.Errorf("Invoke = %d %+v", res.StatusCode, a)
		}
		if !strings.Contains(res.LogTail, "handler-log-marker: hi") {
			t.Errorf("log tail %q does not hold the handler's output", res.LogTail)
		}
	})

	t.Run("invoke function error", func(t *testing.T) {
		res, _ := w.invoke(t, name, `{"echo":"boom","fail":true}`)
		if res.FunctionError == "" || !strings.Contains(string(res.Payload), "asked to fail: boom") {
			t.Errorf("FunctionError %q payload %s; want the handler's error", res.FunctionError, res.Payload)
		}
	})

	t.Run("update config", func(t *testing.T) {
		before := requests(w.e, "UpdateFunctionCode", 0, "")
		g, err := w.c.UpdateConfig(ctx, lambdafn.Config{
			Name: name, RoleARN: w.roleV1, Description: "bigger", MemoryMB: 1024, TimeoutS: 60, EphemeralMB: 1024,
			Environment: map[string]string{"OTHER": "x"},
			Tags:        map[string]string{"owner": "test", "added": "yes"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if g.MemoryMB != 1024 || g.TimeoutS != 60 || g.EphemeralMB != 1024 || g.Description != "bigger" ||
			g.LastUpdateStatus != "Successful" || g.ImageURI != w.imgV1 {
			t.Errorf("UpdateConfig = %+v", g)
		}
		got, err := w.c.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, old := got.Environment["GREETING"]; old || got.Environment["OTHER"] != "x" {
			t.Errorf("environment after update = %v, want only OTHER", got.Environment)
		}
		if len(got.Tags) != 2 || got.Tags["added"] != "yes" || got.Tags["owner"] != "test" {
			t.Errorf("tags after update = %v, want owner and added", got.Tags)
		}
		if requests(w.e, "UpdateFunctionCode", 0, "") != before {
			t.Error("a configuration change touched the code")
		}
		if _, a := w.invoke(t, name, `{"echo":"m"}`); a.Memory != "1024" {
			t.Errorf("function runs with %s MB, want 1024", a.Memory)
		}
	})

	t.Run("update code", func(t *testing.T) {
		g, err := w.c.UpdateCode(ctx, name, w.imgV2, lambdaArch())
		if err != nil {
			t.Fatal(err)
		}
		if g.ImageURI != w.imgV2 || g.MemoryMB != 1024 || g.LastUpdateStatus != "Successful" {
			t.Errorf("UpdateCode = %+v", g)
		}
		if _, a := w.invoke(t, name, `{"echo":"v"}`); a.Version != "v2" {
			t.Errorf("function runs %q after the code update, want v2", a.Version)
		}
	})

	t.Run("conflicting update is retried", func(t *testing.T) {
		// A first update left InProgress for 1.5s, straight from the SDK.
		if _, err := w.api.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), MemorySize: aws.Int32(512),
		}); err != nil {
			t.Fatal(err)
		}
		conflicts := requests(w.e, "UpdateFunctionConfiguration", http.StatusConflict, "")
		g, err := w.c.UpdateConfig(ctx, lambdafn.Config{Name: name, MemoryMB: 768, Tags: map[string]string{"owner": "test", "added": "yes"}})
		if err != nil {
			t.Fatalf("second update: %v", err)
		}
		if g.MemoryMB != 768 {
			t.Errorf("memory = %d after the second update, want 768", g.MemoryMB)
		}
		if requests(w.e, "UpdateFunctionConfiguration", http.StatusConflict, "") == conflicts {
			t.Error("the second update never met a ResourceConflictException; the test did not test the retry")
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := w.c.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
		_, err := w.c.Get(ctx, name)
		if !errors.Is(err, lambdafn.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if err := w.c.Delete(ctx, name); err != nil {
			t.Errorf("second Delete: %v, want nil", err)
		}
	})
}

func TestEmulator_throttlingIsRetried(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	setFaults(t, w.e, `{"throttle_rate": 0.5, "services": ["lambda"]}`)
	name := "throttled-op"

	w.create(t, name)
	if _, err := w.c.Get(ctx, name); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, err := w.c.UpdateConfig(ctx, lambdafn.Config{Name: name, MemoryMB: 512}); err != nil {
		t.Fatalf("UpdateConfig: %v", err)
	}
	for i := range 3 {
		if _, a := w.invoke(t, name, fmt.Sprintf(`{"echo":"%d"}`, i)); a.Echo != fmt.Sprint(i) {
			t.Errorf("invoke %d answered %+v", i, a)
		}
	}
	throttled := 0
	for _, op := range []string{"CreateFunction", "GetFunction", "UpdateFunctionConfiguration", "Invoke"} {
		throttled += requests(w.e, op, http.StatusTooManyRequests, "throttle")
	}
	if throttled == 0 {
		t.Error("no request was throttled; the test did not test retries")
	}
	if err := w.c.Delete(ctx, name); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func TestEmulator_createErrorsCarryAWSReason(t *testing.T) {
	w := setup(t)
	ctx := context.Background()

	_, err := w.c.Create(ctx, lambdafn.Config{
		Name: "too-much-memory", ImageURI: w.imgV1, RoleARN: w.roleV1, MemoryMB: 20480, Architecture: lambdaArch(),
	})
	// Lambda checks the range before anything else, as a ValidationException.
	if err == nil || !strings.HasPrefix(err.Error(), `creating Lambda function "too-much-memory": ValidationException: `) ||
		!strings.Contains(err.Error(), "memorySize") {
		t.Errorf("Create with 20 GB: %v", err)
	}

	// A role that does not exist looks like one still propagating, until the
	// propagation timeout says otherwise.
	start := time.Now()
	_, err = w.c.Create(ctx, lambdafn.Config{
		Name: "no-role", ImageURI: w.imgV1, RoleARN: "arn:aws:iam::000000000000:role/missing", Architecture: lambdaArch(),
	})
	if err == nil || !strings.Contains(err.Error(), "cannot be assumed by Lambda") || !strings.Contains(err.Error(), "still rejected after 3s") {
		t.Errorf("Create with a missing role: %v", err)
	}
	if d := time.Since(start); d < 3*time.Second {
		t.Errorf("gave up on the role after %s, before the 3s propagation timeout", d)
	}

	w.create(t, "twice")
	_, err = w.c.Create(ctx, lambdafn.Config{Name: "twice", ImageURI: w.imgV1, RoleARN: w.roleV1, Architecture: lambdaArch()})
	if !errors.Is(err, lambdafn.ErrAlreadyExists) {
		t.Errorf("second Create of one name: %v, want ErrAlreadyExists", err)
	}
}
