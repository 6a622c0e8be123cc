package ecr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const testPolicy = `{"rules":[{"rulePriority":1,"description":"aqueduct: expire untagged images","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`

func TestRepositorySettings_storedAndReturned(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()
	name := aws.String("settings")
	if _, err := s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             name,
		ImageTagMutability:         ecrtypes.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
	}); err != nil {
		t.Fatal(err)
	}
	describe := func() ecrtypes.Repository {
		t.Helper()
		out, err := s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{*name}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Repositories[0]
	}
	if r := describe(); r.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable || !r.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("created repository reads back %s, scanOnPush %v", r.ImageTagMutability, r.ImageScanningConfiguration.ScanOnPush)
	}

	if _, err := s.ecr.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
		RepositoryName: name, ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: false},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ecr.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: ecrtypes.ImageTagMutabilityMutable}); err != nil {
		t.Fatal(err)
	}
	if r := describe(); r.ImageTagMutability != ecrtypes.ImageTagMutabilityMutable || r.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("updated repository reads back %s, scanOnPush %v", r.ImageTagMutability, r.ImageScanningConfiguration.ScanOnPush)
	}

	var notFound *ecrtypes.LifecyclePolicyNotFoundException
	if _, err := s.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name}); !errors.As(err, &notFound) {
		t.Fatalf("GetLifecyclePolicy before any: err = %v, want LifecyclePolicyNotFoundException", err)
	}
	if _, err := s.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(testPolicy)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != testPolicy {
		t.Fatalf("GetLifecyclePolicy = %v, %v; want the policy put", got, err)
	}
	bad := strings.Replace(testPolicy, `"countNumber":14`, `"countNumber":0`, 1)
	var invalid *ecrtypes.InvalidParameterException
	if _, err := s.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(bad)}); !errors.As(err, &invalid) {
		t.Errorf("a countNumber of 0: err = %v, want InvalidParameterException", err)
	}
	if _, err := s.ecr.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: name}); !errors.As(err, &notFound) {
		t.Errorf("GetLifecyclePolicy after delete: err = %v, want LifecyclePolicyNotFoundException", err)
	}
}

// Real ECR refuses a push to an existing tag of an immutable repository even
// of the same digest; go-containerregistry does not PUT a manifest the tag
// already names, so the raw PUT is what shows it.
func TestImmutableTags_samePutIsRefusedLikeECR(t *testing.T) {
	s := startServer(t, "")
	pw := s.password(t)
	if _, err := s.ecr.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
		RepositoryName: aws.String("frozen2"), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
	}); err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(512, 1)
	if err := remote.Write(s.ref(t, "frozen2:v1"), img, auth(pw)); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.addr+"/v2/frozen2/manifests/v1", strings.NewReader(string(raw)))
	req.SetBasicAuth("AWS", pw)
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("re-PUT of the same manifest to an immutable tag: HTTP %d, want 400 TAG_INVALID", resp.StatusCode)
	}
	// By digest it is fine: digests are not tags.
	d, _ := img.Digest()
	req2, _ := http.NewRequest(http.MethodPut, "http://"+s.addr+"/v2/frozen2/manifests/"+d.String(), strings.NewReader(string(raw)))
	req2.SetBasicAuth("AWS", pw)
	req2.Header.Set("Content-Type", string(mt))
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusCreated {
		t.Errorf("PUT by digest into an immutable repository: HTTP %d, want 201", resp2.StatusCode)
	}
}

func TestPutImage_tagsAndImmutability(t *testing.T) {
	s := startServer(t, "")
	pw := s.password(t)
	ctx := context.Background()
	for name, mut := range map[string]ecrtypes.ImageTagMutability{"frozen3": ecrtypes.ImageTagMutabilityImmutable, "loose3": ecrtypes.ImageTagMutabilityMutable} {
		if _, err := s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name), ImageTagMutability: mut}); err != nil {
			t.Fatal(err)
		}
	}
	img := pushRandom(t, s, "frozen3:v1", pw)
	other := pushRandom(t, s, "frozen3:other", pw)
	pushRandom(t, s, "loose3:v1", pw)
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	put := func(repo, tag string, manifest []byte) error {
		_, err := s.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageTag: aws.String(tag),
			ImageManifest: aws.String(string(manifest)), ImageManifestMediaType: aws.String(string(mt))})
		return err
	}
	var exists *ecrtypes.ImageTagAlreadyExistsException
	if err := put("frozen3", "v1", raw); !errors.As(err, &exists) {
		t.Errorf("PutImage of the same manifest to an existing immutable tag: err = %v, want ImageTagAlreadyExistsException", err)
	}
	otherRaw, _ := other.RawManifest()
	if err := put("frozen3", "v1", otherRaw); !errors.As(err, &exists) {
		t.Errorf("PutImage of another manifest to an existing immutable tag: err = %v, want ImageTagAlreadyExistsException", err)
	}
	if err := put("frozen3", "v2", raw); err != nil {
		t.Errorf("PutImage to a new tag: %v", err)
	}
	d, err := s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("frozen3"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v2")}}})
	if err != nil || aws.ToString(d.ImageDetails[0].ImageDigest) != digestOf(t, img) {
		t.Errorf("v2 after PutImage: %v, %v", d, err)
	}
	loose, _ := s.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("loose3"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	var same *ecrtypes.ImageAlreadyExistsException
	if err := put("loose3", "v1", []byte(aws.ToString(loose.Images[0].ImageManifest))); !errors.As(err, &same) {
		t.Errorf("PutImage of the same manifest and tag in a mutable repository: err = %v, want ImageAlreadyExistsException", err)
	}
}
