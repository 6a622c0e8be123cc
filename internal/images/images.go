// Package images owns the life of operator images in an engine's ECR
// repository: find the image for a build context or build and push it,
// delete an image once nothing refers to it, and purge the provider's images
// when the engine is destroyed.
//
// The provider's images are tagged "src-<source hash>" (build.ImageTag), so
// the tag says which build context an image holds and marks it as ours. An
// image is in use while an operator manifest of the engine names it (as its
// image or as the image an update is replacing) or while an operator in this
// process is between finding it and recording it in its manifest (a claim).
// Deletion fails closed: when either check cannot be made, the image stays.
package images

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/docker/docker/client"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/build"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/registry"
)

// ECRAPI is the part of the ECR client the package uses.
type ECRAPI interface {
	registry.ECRAuthAPI
	DescribeImages(context.Context, *ecr.DescribeImagesInput, ...func(*ecr.Options)) (*ecr.DescribeImagesOutput, error)
	BatchDeleteImage(context.Context, *ecr.BatchDeleteImageInput, ...func(*ecr.Options)) (*ecr.BatchDeleteImageOutput, error)
}

// ourTag is the tag the provider pushes: build.ImageTag's form.
var ourTag = regexp.MustCompile(`^src-[0-9a-f]{64}$`)

// Claims are the image tags operators of this process are about to record.
// One Claims is shared by every operator of a provider process.
type Claims struct {
	mu   sync.Mutex
	held map[string]int
}

// hold claims tag until release is called.
func (c *Claims) hold(tag string) (release func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = map[string]int{}
	}
	c.held[tag]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.held[tag]--; c.held[tag] <= 0 {
				delete(c.held, tag)
			}
		})
	}
}

// Manager finds, builds, pushes and deletes the images of one engine.
type Manager struct {
	ECR    ECRAPI
	Docker func() (client.APIClient, error) // called only when a build is needed
	Claims *Claims
	Logf   func(format string, args ...any) // progress; may be nil
	// Transport carries the provider's own registry requests (custom CA
	// bundle, proxies); nil is Go's default transport.
	Transport http.RoundTripper
}

func (m *Manager) registryOptions() []registry.Option {
	if m.Transport == nil {
		return nil
	}
	return []registry.Option{registry.WithTransport(m.Transport)}
}

func (m *Manager) logf(format string, args ...any) {
	if m.Logf != nil {
		m.Logf(format, args...)
	}
}

// Ensure returns "<repository>@sha256:..." for the spec: the image in the
// registry tagged with its source hash, or a fresh build pushed there. The
// image stays claimed until release is called, which the caller does once a
// manifest names it; until then no Manager of this process deletes it.
func (m *Manager) Ensure(ctx context.Context, e *engine.Engine, spec build.Spec, sourceHash string) (image string, release func(), err error) {
	tag, err := build.ImageTag(sourceHash)
	if err != nil {
		return "", nil, err
	}
	held := m.Claims.hold(tag)
	defer func() {
		if err != nil {
			held()
		}
	}()
	auth, err := registry.ECRAuth(ctx, m.ECR, e.RegistryID)
	if err != nil {
		return "", nil, err
	}
	ref := e.RepositoryURL + ":" + tag
	digest, found, err := registry.Lookup(ctx, ref, auth, m.registryOptions()...)
	if err != nil {
		return "", nil, err
	}
	if found {
		m.logf("image for source hash %s is already in the registry: %s@%s; not rebuilding", sourceHash, e.RepositoryURL, digest)
		return registry.DigestRef(e.RepositoryURL, digest), held, nil
	}
	docker, err := m.Docker()
	if err != nil {
		return "", nil, fmt.Errorf("a Docker engine is needed to build %s: %w; start Docker or set docker_host / DOCKER_HOST", spec.SourceDir, err)
	}
	id, err := build.Build(ctx, docker, spec, []string{ref}, func(line string) { m.logf("docker build: %s", line) })
	if err != nil {
		return "", nil, err
	}
	digest, err = registry.Push(ctx, docker, id, ref, auth, func(line string) { m.logf("docker push: %s", line) }, m.registryOptions()...)
	if registry.IsImmutableTagError(err) {
		// Someone pushed this tag since the lookup (a parallel apply). The
		// tag is a content address, so the image it names is this one.
		if d, found, lerr := registry.Lookup(ctx, ref, auth, m.registryOptions()...); lerr == nil && found {
			m.logf("tag %s was pushed meanwhile; using %s@%s", tag, e.RepositoryURL, d)
			return registry.DigestRef(e.RepositoryURL, d), held, nil
		}
	}
	if err != nil {
		return "", nil, err
	}
	return registry.DigestRef(e.RepositoryURL, digest), held, nil
}

// DeleteIfUnused deletes image ("<repository>@sha256:...") from the engine's
// repository unless something may still use it: a manifest of any workflow
// of the engine, a claim in this process, or a tag the provider did not
// push. It reports whether the image was deleted; an error means the check
// could not be made and the image was kept.
func (m *Manager) DeleteIfUnused(ctx context.Context, e *engine.Engine, store *artifacts.Store, image string) (bool, error) {
	repo, digest, ok := strings.Cut(image, "@")
	if !ok || repo != e.RepositoryURL {
		return false, nil // not an image of this engine's repository
	}
	manifests, err := artifacts.AllOperators(ctx, store)
	if err != nil {
		return false, fmt.Errorf("cannot tell whether %s is still in use, so it is kept: %w", image, err)
	}
	if users := referrers(manifests, digest); len(users) > 0 {
		m.logf("image %s is kept: operators %s use it", image, strings.Join(users, ", "))
		return false, nil
	}
	img, found, err := m.describe(ctx, e, digest)
	if err != nil || !found {
		return false, err
	}
	var tags []string
	for _, t := range img.ImageTags {
		if !ourTag.MatchString(t) {
			m.logf("image %s is kept: it also carries tag %q, which the provider did not push", image, t)
			return false, nil
		}
		tags = append(tags, t)
	}

	m.Claims.mu.Lock()
	defer m.Claims.mu.Unlock()
	for _, t := range tags {
		if m.Claims.held[t] > 0 {
			m.logf("image %s is kept: an operator of this apply is about to use it", image)
			return false, nil
		}
	}
	if err := m.delete(ctx, e, []string{digest}); err != nil {
		return false, err
	}
	return true, nil
}

// referrers names the operators whose manifests refer to digest.
func referrers(manifests []*artifacts.OperatorManifest, digest string) []string {
	var users []string
	for _, mf := range manifests {
		for _, ref := range []string{mf.ImageURI, mf.ReplacesImage} {
			if _, d, ok := strings.Cut(ref, "@"); ok && d == digest {
				users = append(users, mf.Workflow+"/"+mf.Name)
				break
			}
		}
	}
	return users
}

// Purge deletes the provider's images from the engine's repository: those
// tagged only with source-hash tags, and untagged ones. Images carrying
// other tags were put there by someone else; they are deleted only with
// force, and otherwise returned so the caller can say why the repository
// stays.
func (m *Manager) Purge(ctx context.Context, e *engine.Engine, force bool) (foreign []string, err error) {
	var ours []string
	p := ecr.NewDescribeImagesPaginator(m.ECR, &ecr.DescribeImagesInput{RepositoryName: aws.String(e.Repository)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var nf *ecrtypes.RepositoryNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing the images of %s: %w", e.Repository, err)
		}
		for _, img := range page.ImageDetails {
			d := aws.ToString(img.ImageDigest)
			mine := true
			for _, t := range img.ImageTags {
				if !ourTag.MatchString(t) {
					mine = false
				}
			}
			switch {
			case mine || force:
				ours = append(ours, d)
			default:
				foreign = append(foreign, fmt.Sprintf("%s (%s)", d, strings.Join(img.ImageTags, ", ")))
			}
		}
	}
	sort.Strings(foreign)
	return foreign, m.delete(ctx, e, ours)
}

func (m *Manager) describe(ctx context.Context, e *engine.Engine, digest string) (ecrtypes.ImageDetail, bool, error) {
	out, err := m.ECR.DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(e.Repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	var nf *ecrtypes.ImageNotFoundException
	if errors.As(err, &nf) {
		return ecrtypes.ImageDetail{}, false, nil
	}
	if err != nil {
		return ecrtypes.ImageDetail{}, false, fmt.Errorf("describing image %s in %s, so it is kept: %w", digest, e.Repository, err)
	}
	if len(out.ImageDetails) == 0 {
		return ecrtypes.ImageDetail{}, false, nil
	}
	return out.ImageDetails[0], true, nil
}

// maxDeleteBatch is BatchDeleteImage's limit per request.
const maxDeleteBatch = 100

func (m *Manager) delete(ctx context.Context, e *engine.Engine, digests []string) error {
	for len(digests) > 0 {
		n := min(len(digests), maxDeleteBatch)
		ids := make([]ecrtypes.ImageIdentifier, n)
		for i, d := range digests[:n] {
			ids[i] = ecrtypes.ImageIdentifier{ImageDigest: aws.String(d)}
		}
		digests = digests[n:]
		out, err := m.ECR.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String(e.Repository), ImageIds: ids})
		if err != nil {
			return fmt.Errorf("deleting images from %s: %w", e.Repository, err)
		}
		for _, f := range out.Failures {
			if f.FailureCode == ecrtypes.ImageFailureCodeImageNotFound {
				continue
			}
			var d string
			if f.ImageId != nil {
				d = aws.ToString(f.ImageId.ImageDigest)
			}
			return fmt.Errorf("deleting image %s from %s: %s: %s", d, e.Repository, f.FailureCode, aws.ToString(f.FailureReason))
		}
	}
	return nil
}
