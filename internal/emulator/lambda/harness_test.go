package lambda

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
)

// The harness: a real OCI registry (go-containerregistry) on a 127.0.0.1
// listener behind basic auth, standing in for ECR, holding two variants of
// the test function image, built with the Docker Engine API's legacy builder.

const (
	regUser    = "AWS"
	regPass    = "test-registry-password"
	goodRole   = "arn:aws:iam::000000000000:role/lambda-exec"
	untrusting = "arn:aws:iam::000000000000:role/ec2-only"
)

type testImages struct {
	host         string // registry host:port
	v1, v2       string // tag references
	digest1      string
	digest2      string
	manifestGets atomic.Int64 // authenticated manifest requests
}

var (
	imagesOnce sync.Once
	images     *testImages
	imagesErr  error
	regServer  *httptest.Server
	dockerCli  *client.Client
)

func TestMain(m *testing.M) {
	code := m.Run()
	if images != nil {
		removeImagesOf(images.host)
	}
	if regServer != nil {
		regServer.Close()
	}
	os.Exit(code)
}

// removeImagesOf removes every local image from registry host: those the
// emulator pulled by digest would otherwise pile up.
func removeImagesOf(host string) {
	ctx := context.Background()
	list, err := dockerCli.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return
	}
	for _, im := range list {
		for _, ref := range append(im.RepoTags, im.RepoDigests...) {
			if strings.HasPrefix(ref, host+"/") {
				_, _ = dockerCli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
				break
			}
		}
	}
}

func docker(t *testing.T) *client.Client {
	t.Helper()
	if dockerCli == nil {
		c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			t.Fatal(err)
		}
		dockerCli = c
	}
	return dockerCli
}

// getImages builds and pushes the test images once per test binary.
func getImages(t *testing.T) *testImages {
	t.Helper()
	d := docker(t)
	imagesOnce.Do(func() { images, imagesErr = buildImages(d) })
	if imagesErr != nil {
		t.Fatalf("test images: %v", imagesErr)
	}
	return images
}

func buildImages(d *client.Client) (*testImages, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ti := &testImages{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	regServer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != regUser || p != regPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake-ecr"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// GET or HEAD: the engine may ask for the manifest either way, by
		// digest or by the tag it resolved; only authenticated asks count.
		if strings.Contains(r.URL.Path, "/manifests/") {
			ti.manifestGets.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	ti.host = strings.TrimPrefix(regServer.URL, "http://")

	binary, err := functionBinary(ctx)
	if err != nil {
		return nil, err
	}
	ti.v1, ti.v2 = ti.host+"/fn:v1", ti.host+"/fn:v2"
	for i, tag := range []string{ti.v1, ti.v2} {
		if err := buildAndPush(ctx, d, binary, tag, fmt.Sprint(i+1), ti.host); err != nil {
			return nil, err
		}
	}
	if ti.digest1, err = registryDigest(ti.v1); err != nil {
		return nil, err
	}
	if ti.digest2, err = registryDigest(ti.v2); err != nil {
		return nil, err
	}
	return ti, nil
}

var binaryOnce struct {
	sync.Mutex
	b []byte
}

// functionBinary cross-compiles the test function (testdata/fn) statically.
func functionBinary(ctx context.Context) ([]byte, error) {
	binaryOnce.Lock()
	defer binaryOnce.Unlock()
	if binaryOnce.b != nil {
		return binaryOnce.b, nil
	}
	dir, err := os.MkdirTemp("", "aqueduct-fn")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/fn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build test function: %v: %s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err == nil {
		binaryOnce.b = b
	}
	return b, err
}

// buildAndPush builds the test function image as tag with the legacy
// builder, pushes it with the registry's credentials and removes it locally.
func buildAndPush(ctx context.Context, d *client.Client, binary []byte, tag, variant, host string) error {
	return buildAndPushAs(ctx, d, binary, tag, variant, regUser, regPass, host)
}

func buildAndPushAs(ctx context.Context, d *client.Client, binary []byte, tag, variant, user, pass, host string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY bootstrap /bootstrap\nLABEL variant=" + variant + "\nENTRYPOINT [\"/bootstrap\"]\n")},
		{"bootstrap", 0o755, binary},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := d.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	err = jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	auth, _ := dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{Username: user, Password: pass, ServerAddress: host})
	rc, err := d.ImagePush(ctx, tag, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
	rc.Close()
	if err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	// Drop the local copy: the emulator has to pull it, with credentials.
	_, err = d.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
	return err
}

func registryDigest(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, remote.WithAuth(&authn.Basic{Username: regUser, Password: regPass}))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// Test fakes for the services the root emulator passes in.

// fakeECR resolves image URIs against the harness registry.
type fakeECR struct{ host string }

func (f fakeECR) ResolveImage(uri string) (string, string, error) {
	r, err := name.ParseReference(uri, name.Insecure)
	if err != nil {
		return "", "", err
	}
	if r.Context().RegistryStr() != f.host {
		return "", "", fmt.Errorf("Source image %s is not valid. Provide a valid source image.", uri)
	}
	d, err := registryDigest(uri)
	if err != nil {
		return "", "", fmt.Errorf("Source image %s does not exist. Provide a valid source image.", uri)
	}
	return r.Context().Name(), d, nil
}

// fakeRegistryAuth hands out the harness registry's credentials.
type fakeRegistryAuth struct{}

func (fakeRegistryAuth) PullAuth() (string, string) { return regUser, regPass }

// fakeIAM knows one role that trusts Lambda and one that does not.
type fakeIAM struct{}

func (fakeIAM) CheckLambdaRole(arn string) error {
	if arn == goodRole {
		return nil
	}
	return errors.New("The role defined for the function cannot be assumed by Lambda.")
}

// env is one Service under test, served on a real 127.0.0.1 listener.
type env struct {
	t     *testing.T
	svc   *Service
	srv   *httptest.Server
	c     *awslambda.Client
	img   *testImages
	delay atomic.Int64 // transition delay, ns
	opts  Options
}

func newEnv(t *testing.T, tweak func(*Options)) *env {
	t.Helper()
	img := getImages(t)
	rie, err := EnsureRIE(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, img: img}
	e.delay.Store(int64(100 * time.Millisecond))
	e.opts = Options{
		Region:          "us-east-1",
		Roles:           fakeIAM{},
		Images:          fakeECR{img.host},
		Registry:        fakeRegistryAuth{},
		TransitionDelay: func() time.Duration { return time.Duration(e.delay.Load()) },
		IdleTimeout:     time.Minute,
		RIEPath:         rie,
		Logf:            t.Logf,
	}
	if tweak != nil {
		tweak(&e.opts)
	}
	e.start()
	t.Cleanup(func() {
		e.stop()
		assertNoContainers(t, e.svc.Instance())
	})
	return e
}

func (e *env) start() {
	svc, err := New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc)
	e.c = newClient(e.srv.URL)
}

func (e *env) stop() {
	e.srv.Close()
	if err := e.svc.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
}

func newClient(url string, opts ...func(*awslambda.Options)) *awslambda.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	}
	return awslambda.NewFromConfig(cfg, append([]func(*awslambda.Options){func(o *awslambda.Options) {
		o.BaseEndpoint = aws.String(url)
	}}, opts...)...)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// create makes a function from image v1 and waits until it is Active.
func (e *env) create(name string, mutate func(*awslambda.CreateFunctionInput)) *awslambda.CreateFunctionOutput {
	e.t.Helper()
	in := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String(goodRole),
		PackageType:  types.PackageTypeImage,
		Code:         &types.FunctionCode{ImageUri: aws.String(e.img.v1)},
		MemorySize:   aws.Int32(256),
		Timeout:      aws.Int32(10),
	}
	if mutate != nil {
		mutate(in)
	}
	out, err := e.c.CreateFunction(ctx(e.t), in)
	if err != nil {
		e.t.Fatalf("CreateFunction %s: %v", name, err)
	}
	e.waitActive(name)
	return out
}

func (e *env) waitActive(name string) {
	e.t.Helper()
	w := awslambda.NewFunctionActiveV2Waiter(e.c, func(o *awslambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx(e.t), &awslambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		e.t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
}

func (e *env) waitUpdated(name string) {
	e.t.Helper()
	w := awslambda.NewFunctionUpdatedV2Waiter(e.c, func(o *awslambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx(e.t), &awslambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		e.t.Fatalf("waiting for %s's update: %v", name, err)
	}
}

// fnResult is what the test function answers on success.
type fnResult struct {
	Echo     string            `json:"echo"`
	Instance string            `json:"instance"`
	Env      map[string]string `json:"env"`
	Start    int64             `json:"start"`
	End      int64             `json:"end"`
}

func (e *env) invoke(name string, event map[string]any, mutate func(*awslambda.InvokeInput)) *awslambda.InvokeOutput {
	e.t.Helper()
	payload, _ := json.Marshal(event)
	in := &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: payload}
	if mutate != nil {
		mutate(in)
	}
	out, err := e.c.Invoke(ctx(e.t), in)
	if err != nil {
		e.t.Fatalf("Invoke %s: %v", name, err)
	}
	return out
}

func decodeResult(t *testing.T, out *awslambda.InvokeOutput) fnResult {
	t.Helper()
	if out.FunctionError != nil {
		t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
	}
	var r fnResult
	if err := json.Unmarshal(out.Payload, &r); err != nil {
		t.Fatalf("payload %q: %v", out.Payload, err)
	}
	return r
}

// containers lists the Docker containers of one Service instance.
func containers(t *testing.T, instance string, extra ...filters.KeyValuePair) []container.Summary {
	t.Helper()
	args := filters.NewArgs(append(extra, filters.Arg("label", runner.LabelInstance+"="+instance))...)
	list, err := docker(t).ContainerList(context.Background(), container.ListOptions{All: true, Filters: args})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func assertNoContainers(t *testing.T, instance string) {
	t.Helper()
	if list := containers(t, instance); len(list) > 0 {
		t.Errorf("%d containers of instance %s left behind", len(list), instance)
		for _, c := range list {
			_ = docker(t).ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
