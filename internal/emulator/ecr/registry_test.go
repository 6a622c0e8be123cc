package ecr

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func (s *server) ref(t *testing.T, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s.addr+"/"+r, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func auth(pw string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: "AWS", Password: pw})
}

func pushRandom(t *testing.T, s *server, r, pw string) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(s.ref(t, r), img, auth(pw)); err != nil {
		t.Fatalf("push %s: %v", r, err)
	}
	return img
}

func digestOf(t *testing.T, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// regCode returns the distribution error code of a go-containerregistry error.
func regCode(err error) string {
	var te *transport.Error
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return string(te.Errors[0].Code)
	}
	return ""
}

func TestRegistryAuthChallenge(t *testing.T) {
	s := startServer(t, "")
	pw := s.password(t)
	get := func(user, pass string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.addr+"/v2/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get("", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Basic realm="`) {
		t.Errorf("anonymous /v2/: %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := get("AWS", "forged.token"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad password: %d, want 401", resp.StatusCode)
	}
	if resp := get("admin", pw); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong user: %d, want 401", resp.StatusCode)
	}
	if resp := get("AWS", pw); resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Errorf("token: %d %v, want 200 with the API version header", resp.StatusCode, resp.Header)
	}

	s.createRepo(t, "locked")
	img, _ := random.Image(100, 1)
	err := remote.Write(s.ref(t, "locked:v1"), img, auth("nope"))
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Errorf("push with bad token: err = %v, want 401", err)
	}
}

func TestPushToMissingRepositoryFails(t *testing.T) {
	s := startServer(t, "")
	img, _ := random.Image(100, 1)
	err := remote.Write(s.ref(t, "never-created:v1"), img, auth(s.password(t)))
	if regCode(err) != "NAME_UNKNOWN" || !strings.Contains(err.Error(), "does not exist in the registry") {
		t.Errorf("push to missing repo: err = %v, want NAME_UNKNOWN", err)
	}
}

func TestImagesLifecycle(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()
	pw := s.password(t)
	s.createRepo(t, "fn")

	img := pushRandom(t, s, "fn:v1", pw)
	d1 := digestOf(t, img)

	// Same image, second tag; then an OCI image untagged by digest.
	if err := remote.Tag(s.ref(t, "fn:v1").Context().Tag("stable"), img, auth(pw)); err != nil {
		t.Fatal(err)
	}
	base, _ := random.Image(512, 1)
	oci := mutate.ConfigMediaType(mutate.MediaType(base, types.OCIManifestSchema1), types.OCIConfigJSON)
	d2 := digestOf(t, oci)
	if err := remote.Write(s.ref(t, "fn@"+d2), oci, auth(pw)); err != nil {
		t.Fatal(err)
	}

	out, err := s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	byDigest := map[string]ecrtypes.ImageDetail{}
	for _, d := range out.ImageDetails {
		byDigest[aws.ToString(d.ImageDigest)] = d
	}
	if len(byDigest) != 2 {
		t.Fatalf("DescribeImages = %d images, want 2", len(byDigest))
	}
	got := byDigest[d1]
	if strings.Join(got.ImageTags, ",") != "stable,v1" || aws.ToInt64(got.ImageSizeInBytes) < 2*2048 ||
		got.ImagePushedAt == nil || aws.ToString(got.ImageManifestMediaType) != string(types.DockerManifestSchema2) {
		t.Errorf("image %s = tags %v size %d pushed %v type %s", d1, got.ImageTags, aws.ToInt64(got.ImageSizeInBytes), got.ImagePushedAt, aws.ToString(got.ImageManifestMediaType))
	}
	if o := byDigest[d2]; len(o.ImageTags) != 0 || aws.ToString(o.ImageManifestMediaType) != string(types.OCIManifestSchema1) ||
		aws.ToString(o.ArtifactMediaType) != string(types.OCIConfigJSON) {
		t.Errorf("OCI image = tags %v type %s artifact %s", o.ImageTags, aws.ToString(o.ImageManifestMediaType), aws.ToString(o.ArtifactMediaType))
	}

	untagged, err := s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("fn"),
		Filter: &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusUntagged}})
	if err != nil || len(untagged.ImageDetails) != 1 || aws.ToString(untagged.ImageDetails[0].ImageDigest) != d2 {
		t.Errorf("UNTAGGED filter = %+v, %v; want only %s", untagged, err, d2)
	}
	_, err = s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("fn"),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	var inf *ecrtypes.ImageNotFoundException
	if !errors.As(err, &inf) || !strings.Contains(err.Error(), "imageTag:'nope'") {
		t.Errorf("describe missing tag: err = %v, want ImageNotFoundException", err)
	}
	list, err := s.ecr.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("fn")})
	if err != nil || len(list.ImageIds) != 3 {
		t.Errorf("ListImages = %+v, %v; want 3 ids (two tags, one untagged)", list, err)
	}

	// Resolve as Lambda does, by tag and by digest; the pull works and is whole.
	for _, uri := range []string{s.addr + "/fn:v1", s.addr + "/fn@" + d1, s.addr + "/fn:old@" + d1, "localhost:" + strings.Split(s.addr, ":")[1] + "/fn:stable"} {
		repo, d, err := s.svc.ResolveImage(uri)
		if err != nil || repo != "fn" || d != d1 {
			t.Errorf("ResolveImage(%s) = %q %q %v, want fn %s", uri, repo, d, err, d1)
		}
	}
	if _, d, err := s.svc.ResolveImage(s.addr + "/fn@" + d2); err != nil || d != d2 {
		t.Errorf("ResolveImage(OCI) = %q %v", d, err)
	}
	_, _, err = s.svc.ResolveImage(s.addr + "/fn:missing")
	if err == nil || err.Error() != "Source image "+s.addr+"/fn:missing does not exist. Provide a valid source image." {
		t.Errorf("ResolveImage(missing tag) err = %v", err)
	}
	if _, _, err := s.svc.ResolveImage("docker.io/library/fn:v1"); err == nil {
		t.Error("ResolveImage accepted another registry's image")
	}
	pulled, err := remote.Image(s.ref(t, "fn:v1"), auth(pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("pulled image invalid: %v", err)
	}

	// An index is stored but Lambda refuses it; its children cannot go while it stays.
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(s.ref(t, "fn:multi"), idx, auth(pw)); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.svc.ResolveImage(s.addr + "/fn:multi")
	if err == nil || !strings.Contains(err.Error(), "The image manifest, config or layer media type for the source image") {
		t.Errorf("ResolveImage(index) err = %v, want media type not supported", err)
	}
	im, _ := idx.IndexManifest()
	child := im.Manifests[0].Digest.String()
	del, err := s.ecr.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("fn"), ImageIds: []ecrtypes.ImageIdentifier{
		{ImageDigest: aws.String(child)}, {ImageTag: aws.String("ghost")}, {},
	}})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{}
	for _, f := range del.Failures {
		codes = append(codes, string(f.FailureCode))
	}
	if len(del.ImageIds) != 0 || strings.Join(codes, ",") != "ImageReferencedByManifestList,ImageNotFound,MissingDigestAndTag" {
		t.Errorf("BatchDeleteImage = deleted %+v failures %v", del.ImageIds, codes)
	}

	// Removing one of two tags keeps the image; removing by digest drops it and its tags.
	del, err = s.ecr.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("fn"), ImageIds: []ecrtypes.ImageIdentifier{
		{ImageTag: aws.String("stable")}, {ImageTag: aws.String("multi")}, {ImageDigest: aws.String(child)},
	}})
	if err != nil || len(del.Failures) != 0 || len(del.ImageIds) != 3 {
		t.Fatalf("BatchDeleteImage = %+v, %v", del, err)
	}
	if _, d, err := s.svc.ResolveImage(s.addr + "/fn:v1"); err != nil || d != d1 {
		t.Errorf("v1 gone after untagging stable: %v", err)
	}
	if _, err := remote.Image(s.ref(t, "fn:stable"), auth(pw)); regCode(err) != "MANIFEST_UNKNOWN" {
		t.Errorf("pull of removed tag: err = %v, want MANIFEST_UNKNOWN", err)
	}
	del, err = s.ecr.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("fn"), ImageIds: []ecrtypes.ImageIdentifier{
		{ImageDigest: aws.String(d1)},
	}})
	if err != nil || len(del.ImageIds) != 1 || aws.ToString(del.ImageIds[0].ImageTag) != "v1" {
		t.Fatalf("delete by digest = %+v, %v; want v1 reported", del, err)
	}
	if _, err := remote.Image(s.ref(t, "fn@"+d1), auth(pw)); regCode(err) != "MANIFEST_UNKNOWN" {
		t.Errorf("pull of deleted digest: err = %v, want MANIFEST_UNKNOWN", err)
	}
	if _, _, err := s.svc.ResolveImage(s.addr + "/fn@" + d1); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("ResolveImage(deleted) err = %v", err)
	}

	// DeleteRepository refuses while images remain, unless forced.
	_, err = s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("fn")})
	var ne *ecrtypes.RepositoryNotEmptyException
	if !errors.As(err, &ne) {
		t.Fatalf("delete non-empty: err = %v, want RepositoryNotEmptyException", err)
	}
	if _, err := s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("fn"), Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(s.ref(t, "fn@"+d2), auth(pw)); regCode(err) != "NAME_UNKNOWN" {
		t.Errorf("pull after force delete: err = %v, want NAME_UNKNOWN", err)
	}
	// A repository of the same name starts empty.
	s.createRepo(t, "fn")
	if _, err := remote.Image(s.ref(t, "fn@"+d2), auth(pw)); regCode(err) != "MANIFEST_UNKNOWN" {
		t.Errorf("pull from recreated repo: err = %v, want MANIFEST_UNKNOWN", err)
	}
}

func TestImmutableTags(t *testing.T) {
	s := startServer(t, "")
	pw := s.password(t)
	if _, err := s.ecr.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
		RepositoryName: aws.String("frozen"), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
	}); err != nil {
		t.Fatal(err)
	}
	img := pushRandom(t, s, "frozen:v1", pw)
	if err := remote.Write(s.ref(t, "frozen:v1"), img, auth(pw)); err != nil {
		t.Errorf("re-pushing the same image: %v", err)
	}
	other, _ := random.Image(100, 1)
	err := remote.Write(s.ref(t, "frozen:v1"), other, auth(pw))
	if regCode(err) != "TAG_INVALID" || !strings.Contains(err.Error(), "cannot be overwritten because the repository is immutable") {
		t.Errorf("overwriting an immutable tag: err = %v, want TAG_INVALID", err)
	}
}

func TestManifestChecks(t *testing.T) {
	s := startServer(t, "")
	pw := s.password(t)
	s.createRepo(t, "strict")
	put := func(ref, ct, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPut, "http://"+s.addr+"/v2/strict/manifests/"+ref, strings.NewReader(body))
		req.SetBasicAuth("AWS", pw)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	missing := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:` + strings.Repeat("a", 64) + `"},"layers":[]}`
	if resp := put("v1", string(types.DockerManifestSchema2), missing); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("manifest with missing blobs: %d, want 400", resp.StatusCode)
	}
	if resp := put("v1", "text/plain", "hello"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-manifest: %d, want 400", resp.StatusCode)
	}
	img, _ := random.Image(64, 1)
	raw, _ := img.RawManifest()
	if err := remote.Write(s.ref(t, "strict:ok"), img, auth(pw)); err != nil {
		t.Fatal(err)
	}
	if resp := put("sha256:"+strings.Repeat("b", 64), string(types.DockerManifestSchema2), string(raw)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("manifest under a wrong digest: %d, want 400", resp.StatusCode)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	pw := s.password(t)
	if _, err := s.ecr.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
		RepositoryName: aws.String("kept"), Tags: []ecrtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	}); err != nil {
		t.Fatal(err)
	}
	img := pushRandom(t, s, "kept:v1", pw)
	want := digestOf(t, img)
	idx, _ := random.Index(128, 1, 2)
	if err := remote.WriteIndex(s.ref(t, "kept:multi"), idx, auth(pw)); err != nil {
		t.Fatal(err)
	}
	s.stop()
	stale := filepath.Join(dir, "blobs", "upload-123")
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, dir)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale upload survived the restart: %v", err)
	}
	ctx := context.Background()
	out, err := s2.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("kept"),
		ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || aws.ToString(out.ImageDetails[0].ImageDigest) != want {
		t.Fatalf("after restart DescribeImages = %+v, %v; want %s", out, err, want)
	}
	tags, err := s2.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:eu-west-1:000000000000:repository/kept")})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("resource tags after restart = %+v, %v", tags, err)
	}
	// The token from before the restart still opens the registry, and every blob is there.
	pulled, err := remote.Image(s2.ref(t, "kept:v1"), auth(pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pulled); err != nil {
		t.Errorf("image after restart: %v", err)
	}
	pidx, err := remote.Index(s2.ref(t, "kept:multi"), auth(pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(pidx); err != nil {
		t.Errorf("index after restart: %v", err)
	}
	if _, d, err := s2.svc.ResolveImage(s2.addr + "/kept:v1"); err != nil || d != want {
		t.Errorf("ResolveImage after restart = %q %v", d, err)
	}

	// Reset drops everything, on disk too.
	s2.svc.Reset()
	_, err = s2.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"kept"}})
	var nf *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("after Reset: err = %v, want RepositoryNotFoundException", err)
	}
	s2.stop()
	s3 := startServer(t, dir)
	if out, err := s3.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil || len(out.Repositories) != 0 {
		t.Errorf("after Reset and restart: %+v, %v; want no repositories", out, err)
	}
}
