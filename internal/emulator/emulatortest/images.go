package emulatortest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
)

// FunctionImage is the smallest image Lambda runs, made without Docker: the
// Go main package at pkg (e.g. "./testdata/fn", from the test's directory),
// built statically for Linux on this machine's architecture, as /bootstrap,
// the entrypoint, on an empty image. Each package is built once per test
// binary.
func FunctionImage(t testing.TB, pkg string) v1.Image {
	t.Helper()
	bin, err := functionBinary(pkg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "bootstrap", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/bootstrap"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

var binaries struct {
	sync.Mutex
	built map[string][]byte // by the package's absolute path
}

func functionBinary(pkg string) ([]byte, error) {
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return nil, err
	}
	binaries.Lock()
	defer binaries.Unlock()
	if b, ok := binaries.built[abs]; ok {
		return b, nil
	}
	dir, err := os.MkdirTemp("", "emulatortest-fn")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v\n%s", pkg, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if binaries.built == nil {
		binaries.built = map[string][]byte{}
	}
	binaries.built[abs] = b
	return b, nil
}

// PushImage pushes img to e's ECR as repo:v1 the way the provider does: it
// creates the repository and logs in with a GetAuthorizationToken token. It
// returns the image's URI.
func PushImage(t testing.TB, e *emulator.Emulator, repo string, img v1.Image) string {
	t.Helper()
	ctx := context.Background()
	ec := ecr.NewFromConfig(Config(t, e))
	if _, err := ec.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
		t.Fatal(err)
	}
	tok, err := ec.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	uri := e.Addr() + "/" + repo + ":v1"
	ref, err := name.ParseReference(uri, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass})); err != nil {
		t.Fatalf("push %s: %v", uri, err)
	}
	return uri
}

// RemoveLocalImages removes the local Docker images of the registry at addr
// (an emulator's Addr), so test runs do not fill the engine: the tags builds
// pushed there and the digests the emulator's Lambda pulled from it. It is
// best effort: a missing engine removes nothing.
func RemoveLocalImages(addr string) {
	if addr == "" {
		return
	}
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer docker.Close()
	ctx := context.Background()
	images, err := docker.ImageList(ctx, image.ListOptions{All: true})
	if err != nil {
		return
	}
	for _, img := range images {
		for _, ref := range append(img.RepoTags, img.RepoDigests...) {
			if strings.HasPrefix(ref, addr+"/") {
				_, _ = docker.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}
