package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is a real OCI registry on a 127.0.0.1 listener behind Basic
// auth; Docker treats 127.0.0.0/8 as an insecure (plain HTTP) registry.
type testRegistry struct {
	host string
	auth Auth
}

func startRegistry(t *testing.T) testRegistry { return startRegistryWith(t, false) }

// startRegistryWith(t, true) lets the user read but not write, as ECR does for
// a role without ecr:InitiateLayerUpload.
func startRegistryWith(t *testing.T, readOnly bool) testRegistry {
	return startRegistryThrottling(t, readOnly, func(*http.Request) bool { return false })
}

// startRegistryThrottling answers 429 TOOMANYREQUESTS to the requests
// throttle picks, as a throttled ECR registry does.
func startRegistryThrottling(t *testing.T, readOnly bool, throttle func(*http.Request) bool) testRegistry {
	t.Helper()
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	auth := Auth{Username: "aqueduct", Password: "pw-" + hex.EncodeToString(pw)}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if throttle(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"}]}`)
			return
		}
		u, p, ok := r.BasicAuth()
		if !ok || u != auth.Username || p != auth.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		if readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"not authorized to perform: ecr:InitiateLayerUpload"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	auth.ServerAddress = strings.TrimPrefix(srv.URL, "http://")
	return testRegistry{host: auth.ServerAddress, auth: auth}
}

// dockerClient is the local engine, by testenv's policy.
func dockerClient(t *testing.T) client.APIClient { return testenv.Docker(t) }

func removeImage(t *testing.T, docker client.APIClient, ref string) {
	t.Cleanup(func() {
		_, err := docker.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
		if err != nil && !client.IsErrNotFound(err) {
			t.Logf("removing %s: %v", ref, err)
		}
	})
}

// buildTinyImage builds a one-file scratch image with unique content, so
// every test pushes layers the registry has not seen.
func buildTinyImage(t *testing.T, docker client.APIClient) string {
	t.Helper()
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for name, data := range map[string]string{
		"Dockerfile": "FROM scratch\nCOPY payload /payload\n",
		"payload":    t.Name() + hex.EncodeToString(nonce),
	} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))})
		_, _ = tw.Write([]byte(data))
	}
	_ = tw.Close()
	resp, err := docker.ImageBuild(context.Background(), &ctxTar, build.ImageBuildOptions{Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	i := bytes.Index(out, []byte(`"aux":{"ID":"`))
	if i < 0 {
		t.Fatalf("build: %s", out)
	}
	id := string(out[i+len(`"aux":{"ID":"`):])
	id = id[:strings.IndexByte(id, '"')]
	removeImage(t, docker, id)
	return id
}

func TestLookup_missingTagIsNotFound(t *testing.T) {
	reg := startRegistry(t)
	for _, ref := range []string{reg.host + "/never/pushed:v1", reg.host + "/never/pushed@sha256:" + strings.Repeat("0", 64)} {
		d, found, err := Lookup(context.Background(), ref, reg.auth)
		if err != nil || found || d != "" {
			t.Errorf("Lookup(%s) = %q, %v, %v; want not found, no error", ref, d, found, err)
		}
	}
}

func TestLookup_wrongPasswordIsAnErrorWithoutThePassword(t *testing.T) {
	reg := startRegistry(t)
	bad := reg.auth
	bad.Password = "wrong-" + reg.auth.Password
	_, found, err := Lookup(context.Background(), reg.host+"/ops:v1", bad)
	if err == nil || found {
		t.Fatalf("Lookup with a wrong password = found %v, err %v; want an error", found, err)
	}
	if !strings.Contains(err.Error(), "refused user \"aqueduct\" for "+reg.host+"/ops:v1 (HTTP 401 Unauthorized)") {
		t.Errorf("error %q does not say unauthorized for which ref", err)
	}
	if strings.Contains(err.Error(), bad.Password) || strings.Contains(err.Error(), reg.auth.Password) {
		t.Fatalf("error leaks a password: %v", err)
	}
}

func TestPush_thenLookupGivesTheRegistrysDigest(t *testing.T) {
	docker := dockerClient(t)
	reg := startRegistry(t)
	id := buildTinyImage(t, docker)
	ref := reg.host + "/aqueduct/ops:src-" + strings.ToLower(t.Name()[len(t.Name())-8:])
	removeImage(t, docker, ref)

	var log []string
	digest, err := Push(context.Background(), docker, id, ref, reg.auth, func(l string) { log = append(log, l) })
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		t.Fatalf("digest %q is not sha256:<hex>", digest)
	}
	got, found, err := Lookup(context.Background(), ref, reg.auth)
	if err != nil || !found || got != digest {
		t.Fatalf("Lookup after Push = %q, %v, %v; want %q", got, found, err, digest)
	}
	// Independently: the digest is the hash of the manifest the registry serves.
	r, _ := name.ParseReference(ref, name.Insecure)
	desc, err := remote.Get(r, remote.WithAuth(&authn.Basic{Username: reg.auth.Username, Password: reg.auth.Password}))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(desc.Manifest); "sha256:"+hex.EncodeToString(sum[:]) != digest {
		t.Fatalf("manifest hashes to %x, Push said %s", sum, digest)
	}
	if !desc.MediaType.IsImage() {
		t.Errorf("pushed media type %s is not a single image manifest", desc.MediaType)
	}
	joined := strings.Join(log, "\n")
	if !strings.Contains(joined, "Pushed") || !strings.Contains(joined, digest) {
		t.Errorf("push log lacks layer progress or the digest:\n%s", joined)
	}
	if strings.Contains(joined, reg.auth.Password) {
		t.Fatal("push log leaks the password")
	}
	if digestRef := DigestRef(ref, digest); digestRef != reg.host+"/aqueduct/ops@"+digest {
		t.Errorf("DigestRef = %s", digestRef)
	}
}

func TestPush_wrongPasswordFailsWithoutLeakingIt(t *testing.T) {
	docker := dockerClient(t)
	reg := startRegistry(t)
	id := buildTinyImage(t, docker)
	ref := reg.host + "/aqueduct/ops:denied"
	removeImage(t, docker, ref)
	bad := reg.auth
	bad.Password = "wrong-" + reg.auth.Password
	start := time.Now()
	_, err := Push(context.Background(), docker, id, ref, bad, nil)
	if err == nil {
		t.Fatal("Push with a wrong password succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "pushing "+ref) || !strings.Contains(msg, "refused") {
		t.Errorf("error %q does not say the push was refused for lack of auth", msg)
	}
	// Docker alone would retry the upload for about 50 seconds.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("bad credentials took %v to fail", d)
	}
	if strings.Contains(msg, bad.Password) || strings.Contains(msg, reg.auth.Password) || strings.Contains(msg, bad.RegistryAuthHeader()) {
		t.Fatalf("error leaks the password: %s", msg)
	}
	if _, found, _ := Lookup(context.Background(), ref, reg.auth); found {
		t.Fatal("a refused push left a manifest in the registry")
	}
}

func TestPush_refusedByTheRegistryCarriesDockersMessage(t *testing.T) {
	docker := dockerClient(t)
	reg := startRegistryWith(t, true)
	id := buildTinyImage(t, docker)
	ref := reg.host + "/aqueduct/ops:readonly"
	removeImage(t, docker, ref)
	var log []string
	_, err := Push(context.Background(), docker, id, ref, reg.auth, func(l string) { log = append(log, l) })
	if err == nil {
		t.Fatal("Push to a read-only registry succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "ecr:InitiateLayerUpload") || !strings.Contains(err.Error(), "last ") {
		t.Errorf("error %q lacks the registry's reason or the push log", err)
	}
	if strings.Contains(err.Error(), reg.auth.Password) {
		t.Fatal("error leaks the password")
	}
}

func TestPush_unknownImageIsAnError(t *testing.T) {
	docker := dockerClient(t)
	reg := startRegistry(t)
	_, err := Push(context.Background(), docker, "sha256:"+strings.Repeat("0", 64), reg.host+"/ops:x", reg.auth, nil)
	if err == nil || !strings.Contains(err.Error(), "tagging image") {
		t.Fatalf("Push of a missing image = %v, want a tagging error", err)
	}
}

func TestReadPushStream_logsEachLayerStateOnceAndRedacts(t *testing.T) {
	a := Auth{Username: "u", Password: "s3cret-pw"}
	stream := `{"status":"The push refers to repository [r/ops]"}` +
		`{"status":"Preparing","id":"abc"}` +
		`{"status":"Pushing","id":"abc","progressDetail":{"current":1,"total":9}}` +
		`{"status":"Pushing","id":"abc","progressDetail":{"current":5,"total":9}}` +
		`{"status":"Pushed","id":"abc"}` +
		`{"status":"v1: digest: sha256:00 size: 528"}`
	var lines []string
	if err := readPushStream(strings.NewReader(stream), a, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	want := []string{"The push refers to repository [r/ops]", "abc: Preparing", "abc: Pushing", "abc: Pushed", "v1: digest: sha256:00 size: 528"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", lines, want)
	}
	// Docker starting its own slow retry ends the stream as a transient error.
	retrying := `{"status":"Preparing","id":"abc"}{"status":"Retrying in 5 seconds","id":"abc"}{"status":"Pushed","id":"abc"}`
	err := readPushStream(strings.NewReader(retrying), a, func(string) {})
	if !errors.Is(err, errDockerRetrying) || !transientPushError(err) || !strings.Contains(err.Error(), "abc: Retrying in 5 seconds") {
		t.Fatalf("error = %v, want errDockerRetrying with the log tail", err)
	}
	errStream := `{"status":"Preparing","id":"abc"}{"errorDetail":{"message":"denied for s3cret-pw"},"error":"denied for s3cret-pw"}`
	err = readPushStream(strings.NewReader(errStream), a, func(string) {})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "abc: Preparing") {
		t.Fatalf("error = %v, want the message redacted with the log tail", err)
	}
}

func TestTransientPushError(t *testing.T) {
	for msg, want := range map[string]bool{
		"unauthorized: Not Authorized":                                              true,
		"toomanyrequests: Rate exceeded":                                            true,
		"received unexpected HTTP status: 500 Internal Server Error":                true,
		"received unexpected HTTP status: 503 Service Unavailable":                  true,
		"Put \"http://127.0.0.1:1/v2/x/blobs/uploads/\": read: connection reset":    true,
		"denied: User is not authorized to perform ecr:InitiateLayerUpload":         false,
		"name unknown: The repository with name 'x' does not exist in the registry": false,
		"manifest invalid": false,
		"error parsing HTTP 429 response body: unexpected end of JSON input: \"\"": true,
	} {
		if got := transientPushError(errors.New(msg)); got != want {
			t.Errorf("transientPushError(%q) = %v, want %v", msg, got, want)
		}
	}
}

// Docker does not retry a throttled registry ping: it then pushes without
// credentials and fails "unauthorized". Push tries again, and succeeds.
func TestPush_retriesWhatDockerDoesNot(t *testing.T) {
	docker := dockerClient(t)
	defer func(d time.Duration) { pushRetryDelay = d }(pushRetryDelay)
	pushRetryDelay = 10 * time.Millisecond
	var pings atomic.Int32
	reg := startRegistryThrottling(t, false, func(r *http.Request) bool {
		switch {
		case r.URL.Path == "/v2/" && r.Header.Get("Authorization") == "":
			return pings.Add(1) == 2 // Push's own check is the first; Docker's ping the second
		}
		return false
	})
	id := buildTinyImage(t, docker)
	ref := reg.host + "/aqueduct/ops:retried"
	removeImage(t, docker, ref)
	var log []string
	start := time.Now()
	digest, err := Push(context.Background(), docker, id, ref, reg.auth, func(l string) { log = append(log, fmt.Sprintf("%5.1fs %s", time.Since(start).Seconds(), l)) })
	t.Log(strings.Join(log, "\n"))
	if err != nil {
		t.Fatalf("Push through a throttled ping: %v\n%s", err, strings.Join(log, "\n"))
	}
	retries := 0
	for _, l := range log {
		if strings.Contains(l, "push failed, retrying") {
			retries++
		}
	}
	if retries < 1 || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("digest %q after %d retries; want a digest after at least one retry:\n%s", digest, retries, strings.Join(log, "\n"))
	}
}

// The provider's own registry requests go through the transport it is
// given (its proxies and CA bundle): here a proxy, which sees them.
func TestLookup_usesTheGivenTransport(t *testing.T) {
	reg := startRegistry(t)
	proxy := testenv.StartProxy(t)
	u, _ := url.Parse(proxy.URL)
	// Go's environment proxy rules never proxy loopback, so the test's
	// transport proxies everything.
	rt := &http.Transport{Proxy: http.ProxyURL(u)}
	ref := reg.host + "/never/pushed:v1"
	if _, found, err := Lookup(context.Background(), ref, reg.auth, WithTransport(rt)); err != nil || found {
		t.Fatalf("Lookup through the proxy = %v, %v", found, err)
	}
	hosts := proxy.Hosts()
	if len(hosts) == 0 || hosts[0] != reg.host {
		t.Fatalf("the proxy relayed %v, want requests for %s", hosts, reg.host)
	}
	if _, _, err := Lookup(context.Background(), ref, reg.auth); err != nil {
		t.Fatal(err)
	}
	if n := len(proxy.Hosts()); n != len(hosts) {
		t.Errorf("without WithTransport the proxy saw %d more requests", n-len(hosts))
	}
}
