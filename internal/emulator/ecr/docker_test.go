package ecr

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/docker/docker/api/types/build"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// dockerClient is the local engine, by testenv's policy.
func dockerClient(t *testing.T) client.APIClient { return testenv.Docker(t) }

// buildScratch builds a one-file FROM scratch image with the legacy
// builder; the file is random so each run pushes a new digest.
func buildScratch(t *testing.T, cli client.APIClient, tag string) {
	t.Helper()
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{
		"Dockerfile":  "FROM scratch\nCOPY payload.txt /payload.txt\nCMD [\"/nothing\"]\n",
		"payload.txt": hex.EncodeToString(nonce) + "\n",
	} {
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	resp, err := cli.ImageBuild(context.Background(), &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Version: build.BuilderV1, Remove: true, ForceRemove: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := jsonmessage.DisplayJSONMessagesStream(resp.Body, io.Discard, 0, false, nil); err != nil {
		t.Fatalf("build: %v", err)
	}
}

// push pushes with the given registry credentials and returns the digest
// the engine reports.
func push(cli client.APIClient, ref, server, user, pass string) (string, error) {
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: server})
	if err != nil {
		return "", err
	}
	rc, err := cli.ImagePush(context.Background(), ref, dockerimage.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var digest string
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, func(m jsonmessage.JSONMessage) {
		if m.Aux != nil {
			var aux struct{ Digest string }
			if jsonErr := json.Unmarshal(*m.Aux, &aux); jsonErr == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
	})
	return digest, err
}

func TestDockerPush(t *testing.T) {
	cli := dockerClient(t)
	s := startServer(t, "")
	ctx := context.Background()
	pw := s.password(t)
	repoName := "ecrtest-" + randomSuffix()
	s.createRepo(t, repoName)

	ref := s.addr + "/" + repoName + ":v1"
	missingRef := s.addr + "/" + repoName + "-missing:v1"
	buildScratch(t, cli, ref)
	t.Cleanup(func() {
		for _, r := range []string{ref, missingRef} {
			_, _ = cli.ImageRemove(context.Background(), r, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
		}
	})

	if _, err := push(cli, ref, s.addr, "AWS", "not-a-token"); err == nil {
		t.Error("push with a bad token succeeded")
	} else {
		t.Logf("bad token refused: %v", err)
	}
	if err := cli.ImageTag(ctx, ref, missingRef); err != nil {
		t.Fatal(err)
	}
	if _, err := push(cli, missingRef, s.addr, "AWS", pw); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("push to a repository never created: err = %v, want name unknown", err)
	}

	digest, err := push(cli, ref, s.addr, "AWS", pw)
	if err != nil {
		t.Fatalf("docker push: %v", err)
	}
	if !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("push reported digest %q", digest)
	}

	out, err := s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repoName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageDetails) != 1 || aws.ToString(out.ImageDetails[0].ImageDigest) != digest ||
		strings.Join(out.ImageDetails[0].ImageTags, ",") != "v1" ||
		aws.ToString(out.ImageDetails[0].ImageManifestMediaType) != string(types.DockerManifestSchema2) {
		t.Errorf("DescribeImages = %+v, want the pushed %s tagged v1 as schema2", out.ImageDetails, digest)
	}

	for _, uri := range []string{ref, s.addr + "/" + repoName + "@" + digest} {
		repo, d, err := s.svc.ResolveImage(uri)
		if err != nil || repo != repoName || d != digest {
			t.Errorf("ResolveImage(%s) = %q %q %v", uri, repo, d, err)
		}
	}

	// The emulator's own pull credentials open the registry to a standard client.
	user, pass := s.svc.PullAuth()
	pulled, err := remote.Image(s.ref(t, repoName+"@"+digest), auth(pass))
	if err != nil || user != "AWS" {
		t.Fatalf("pull with PullAuth (%s): %v", user, err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("pulled image: %v", err)
	}

	// The engine pulls it back by digest, as the Lambda emulator will.
	byDigest := s.addr + "/" + repoName + "@" + digest
	if _, err := cli.ImageRemove(ctx, ref, dockerimage.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	enc, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: pass, ServerAddress: s.addr})
	rc, err := cli.ImagePull(ctx, byDigest, dockerimage.PullOptions{RegistryAuth: enc})
	if err != nil {
		t.Fatal(err)
	}
	err = jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
	rc.Close()
	if err != nil {
		t.Fatalf("docker pull %s: %v", byDigest, err)
	}
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), byDigest, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	if ins, err := cli.ImageInspect(ctx, byDigest); err != nil || len(ins.RepoDigests) == 0 {
		t.Errorf("pulled image inspect: %+v %v", ins.RepoDigests, err)
	}

	_, err = s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(repoName)})
	var ne *ecrtypes.RepositoryNotEmptyException
	if !errors.As(err, &ne) {
		t.Errorf("DeleteRepository on a pushed repo: err = %v, want RepositoryNotEmptyException", err)
	}
	if _, err := s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(repoName), Force: true}); err != nil {
		t.Errorf("forced DeleteRepository: %v", err)
	}
	if _, _, err := s.svc.ResolveImage(ref); err == nil {
		t.Error("image still resolves after its repository was deleted")
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
