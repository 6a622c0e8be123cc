package images

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/registry"
)

// world is an engine on the emulator: its ECR repository, with images pushed
// straight to the registry, and its artifact store.
type world struct {
	e      *emulator.Emulator
	ecr    *ecr.Client
	engine *engine.Engine
	store  *artifacts.Store
	m      *Manager
}

func setup(t *testing.T) *world {
	t.Helper()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	w := &world{e: e, ecr: ecr.NewFromConfig(cfg)}
	ctx := context.Background()
	repo, err := w.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("aqueduct/test")})
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, emulatortest.S3PathStyle)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	w.engine = &engine.Engine{
		Name: "test", Region: e.Region(), Repository: "aqueduct/test", RegistryID: aws.ToString(repo.Repository.RegistryId),
		RepositoryURL: aws.ToString(repo.Repository.RepositoryUri), Bucket: "artifacts", Prefix: "aqueduct",
	}
	w.store = artifacts.NewStore(s3c, "artifacts", w.engine.Root())
	w.m = &Manager{
		ECR:    w.ecr,
		Docker: func() (client.APIClient, error) { return nil, fmt.Errorf("no Docker in this test") },
		Claims: &Claims{},
		Logf:   t.Logf,
	}
	return w
}

// push puts a random image in the repository under tag and returns its
// "<repository>@<digest>".
func (w *world) push(t *testing.T, tag string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := registry.ECRAuth(context.Background(), w.ecr, "")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(w.engine.RepositoryURL+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: auth.Username, Password: auth.Password})); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return w.engine.RepositoryURL + "@" + d.String()
}

func (w *world) manifest(t *testing.T, wf, op, image, replaces string) {
	t.Helper()
	m := artifacts.OperatorManifest{Name: op, Workflow: wf, FunctionName: wf + "-" + op, ImageURI: image, ReplacesImage: replaces}
	if err := w.store.PutJSON(context.Background(), artifacts.OperatorKey(w.store.Prefix(), wf, op), m); err != nil {
		t.Fatal(err)
	}
}

func (w *world) exists(t *testing.T, image string) bool {
	t.Helper()
	_, digest, _ := strings.Cut(image, "@")
	_, found, err := w.m.describe(context.Background(), w.engine, digest)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func tag(c byte) string { return "src-" + strings.Repeat(string(c), 64) }

func TestDeleteIfUnused(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	unused := w.push(t, tag('a'))
	used := w.push(t, tag('b'))
	replacing := w.push(t, tag('c'))
	w.manifest(t, "wf1", "a", used, "")
	w.manifest(t, "wf2", "b", w.engine.RepositoryURL+"@sha256:"+strings.Repeat("0", 64), replacing)

	for _, c := range []struct {
		image         string
		deleted, left bool
	}{
		{used, false, true},      // another workflow's operator runs it
		{replacing, false, true}, // an update in flight still needs it
		{unused, true, false},
		{unused, false, false}, // already gone
	} {
		got, err := w.m.DeleteIfUnused(ctx, w.engine, w.store, c.image)
		if err != nil || got != c.deleted || w.exists(t, c.image) != c.left {
			t.Errorf("DeleteIfUnused(%s) = %v, %v; want deleted=%v, left=%v", c.image, got, err, c.deleted, c.left)
		}
	}
	// An image of another repository is not this engine's to delete.
	if got, err := w.m.DeleteIfUnused(ctx, w.engine, w.store, "elsewhere/x@sha256:"+strings.Repeat("1", 64)); got || err != nil {
		t.Errorf("another repository's image: deleted=%v err=%v", got, err)
	}
}

// An image that also carries a tag the provider did not push is someone
// else's too: it stays.
func TestDeleteIfUnused_keepsImagesTaggedBySomeoneElse(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	img := w.push(t, tag('e'))
	_, digest, _ := strings.Cut(img, "@")
	// Tag the same manifest "release" as a user would with docker tag + push.
	ref, _ := name.ParseReference(w.engine.RepositoryURL+"@"+digest, name.Insecure)
	auth, _ := registry.ECRAuth(ctx, w.ecr, "")
	basic := &authn.Basic{Username: auth.Username, Password: auth.Password}
	desc, err := remote.Get(ref, remote.WithAuth(basic))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := name.ParseReference(w.engine.RepositoryURL+":release", name.Insecure)
	if err := remote.Tag(rel.(name.Tag), desc, remote.WithAuth(basic)); err != nil {
		t.Fatal(err)
	}
	deleted, err := w.m.DeleteIfUnused(ctx, w.engine, w.store, img)
	if err != nil || deleted || !w.exists(t, img) {
		t.Fatalf("an image tagged \"release\" by a user: deleted=%v err=%v", deleted, err)
	}
}

// When whether an image is used cannot be known, it is kept.
func TestDeleteIfUnused_failsClosed(t *testing.T) {
	w := setup(t)
	img := w.push(t, tag('f'))
	if err := w.e.SetFaults(emulator.Faults{ErrorRate: 1, Services: []string{"s3"}}); err != nil {
		t.Fatal(err)
	}
	deleted, err := w.m.DeleteIfUnused(context.Background(), w.engine, w.store, img)
	if err == nil || deleted {
		t.Fatalf("with the artifact store failing, DeleteIfUnused = %v, %v; want an error and no deletion", deleted, err)
	}
	if err := w.e.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	if !w.exists(t, img) {
		t.Fatal("the image was deleted although its use could not be checked")
	}
}

// An operator of this process between finding an image and recording it in
// its manifest holds a claim; the image is not deleted under it.
func TestDeleteIfUnused_respectsClaims(t *testing.T) {
	w := setup(t)
	img := w.push(t, tag('9'))
	release := w.m.Claims.hold(tag('9'))
	if deleted, err := w.m.DeleteIfUnused(context.Background(), w.engine, w.store, img); err != nil || deleted {
		t.Fatalf("a claimed image: deleted=%v err=%v", deleted, err)
	}
	release()
	release() // twice is harmless
	if deleted, err := w.m.DeleteIfUnused(context.Background(), w.engine, w.store, img); err != nil || !deleted {
		t.Fatalf("after the claim ended: deleted=%v err=%v", deleted, err)
	}
}

// Purge deletes the provider's images and, without force, leaves others'.
func TestPurge(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ours := []string{w.push(t, tag('1')), w.push(t, tag('2'))}
	theirs := w.push(t, "v1.0")
	foreign, err := w.m.Purge(ctx, w.engine, false)
	if err != nil || len(foreign) != 1 || !strings.Contains(foreign[0], "v1.0") {
		t.Fatalf("Purge = %v, %v; want the v1.0 image reported", foreign, err)
	}
	for _, img := range ours {
		if w.exists(t, img) {
			t.Errorf("the provider's image %s survived Purge", img)
		}
	}
	if !w.exists(t, theirs) {
		t.Fatal("Purge without force deleted someone else's image")
	}
	if foreign, err := w.m.Purge(ctx, w.engine, true); err != nil || len(foreign) != 0 || w.exists(t, theirs) {
		t.Fatalf("Purge with force = %v, %v", foreign, err)
	}
}
