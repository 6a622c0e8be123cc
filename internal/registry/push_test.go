package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

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
	t.Helper()
	pw := make([]byte, 16)
	_, _ = rand.Read(pw)
	auth := Auth{Username: "aqueduct", Password: "pw-" + hex.EncodeToString(pw)}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

func dockerClient(t *testing.T) client.APIClient {
	t.Helper()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.Ping(ctx)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Docker engine unreachable: %v", err)
		}
		t.Skipf("Docker engine unreachable: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

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
		`{"status":"Retrying in 5 seconds","id":"abc"}` +
		`{"status":"Retrying in 4 seconds","id":"abc"}` +
		`{"status":"Pushing","id":"abc","progressDetail":{"current":1,"total":9}}` +
		`{"status":"Pushed","id":"abc"}` +
		`{"status":"v1: digest: sha256:00 size: 528"}`
	var lines []string
	if err := readPushStream(strings.NewReader(stream), a, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	want := []string{"The push refers to repository [r/ops]", "abc: Preparing", "abc: Pushing", "abc: Retrying in 5 seconds", "abc: Pushing", "abc: Pushed", "v1: digest: sha256:00 size: 528"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", lines, want)
	}
	errStream := `{"status":"Preparing","id":"abc"}{"errorDetail":{"message":"denied for s3cret-pw"},"error":"denied for s3cret-pw"}`
	err := readPushStream(strings.NewReader(errStream), a, func(string) {})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") || !strings.Contains(err.Error(), "abc: Preparing") {
		t.Fatalf("error = %v, want the message redacted with the log tail", err)
	}
}
