package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
)

func TestCreateAndDescribeRepositories(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()

	out, err := s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:     aws.String("team/app"),
		ImageTagMutability: types.ImageTagMutabilityImmutable,
		Tags:               []types.Tag{{Key: aws.String("owner"), Value: aws.String("ml")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	if got, want := aws.ToString(r.RepositoryUri), s.addr+"/team/app"; got != want {
		t.Errorf("repositoryUri = %q, want %q", got, want)
	}
	if got, want := aws.ToString(r.RepositoryArn), "arn:aws:ecr:eu-west-1:000000000000:repository/team/app"; got != want {
		t.Errorf("repositoryArn = %q, want %q", got, want)
	}
	if aws.ToString(r.RegistryId) != "000000000000" || r.ImageTagMutability != types.ImageTagMutabilityImmutable {
		t.Errorf("registryId/mutability = %q/%q", aws.ToString(r.RegistryId), r.ImageTagMutability)
	}
	if r.CreatedAt == nil || time.Since(*r.CreatedAt) > time.Minute || time.Since(*r.CreatedAt) < -time.Minute {
		t.Errorf("createdAt = %v, want about now", r.CreatedAt)
	}
	if r.EncryptionConfiguration == nil || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("encryptionConfiguration = %+v, want AES256", r.EncryptionConfiguration)
	}

	_, err = s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/app")})
	var exists *types.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) || !strings.Contains(err.Error(), "already exists in the registry with id '000000000000'") {
		t.Errorf("duplicate create: err = %v, want RepositoryAlreadyExistsException", err)
	}

	for _, bad := range []string{"Upper", "a", "trailing-", "double//slash", "-lead", strings.Repeat("a", 257)} {
		_, err := s.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(bad)})
		var inv *types.InvalidParameterException
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), "repositoryName") {
			t.Errorf("CreateRepository(%q): err = %v, want InvalidParameterException on repositoryName", bad, err)
		}
	}

	d, err := s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Repositories) != 1 || aws.ToString(d.Repositories[0].RepositoryName) != "team/app" ||
		!d.Repositories[0].CreatedAt.Equal(*r.CreatedAt) {
		t.Errorf("DescribeRepositories = %+v, want team/app as created", d.Repositories)
	}

	_, err = s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app", "nope"}})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "'nope'") {
		t.Errorf("describe missing: err = %v, want RepositoryNotFoundException naming it", err)
	}

	tags, err := s.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" || aws.ToString(tags.Tags[0].Value) != "ml" {
		t.Errorf("tags = %+v, want owner=ml", tags.Tags)
	}
}

func TestDescribeRepositoriesPaginates(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()
	want := []string{"r0", "r1", "r2", "r3", "r4"}
	for _, n := range want {
		s.createRepo(t, n)
	}
	var got []string
	pages := 0
	p := ecr.NewDescribeRepositoriesPaginator(s.ecr, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Repositories {
			got = append(got, aws.ToString(r.RepositoryName))
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || pages != 3 {
		t.Errorf("paged names = %v in %d pages, want %v in 3", got, pages, want)
	}
	_, err := s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{NextToken: aws.String("garbage!")})
	var inv *types.InvalidParameterException
	if !errors.As(err, &inv) {
		t.Errorf("bad nextToken: err = %v, want InvalidParameterException", err)
	}
}

func TestResourceTags(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()
	s.createRepo(t, "tagged")
	arn := aws.String("arn:aws:ecr:eu-west-1:000000000000:repository/tagged")
	if _, err := s.ecr.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("1")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ecr.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "a" {
		t.Errorf("tags = %+v, want only a", out.Tags)
	}
	_, err = s.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:eu-west-1:000000000000:repository/gone")})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tags of missing repo: err = %v, want RepositoryNotFoundException", err)
	}
	_, err = s.ecr.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("1")}}})
	var inv *types.InvalidTagParameterException
	if !errors.As(err, &inv) {
		t.Errorf("reserved tag key: err = %v, want InvalidTagParameterException", err)
	}
}

func TestGetAuthorizationToken(t *testing.T) {
	s := startServer(t, "")
	out, err := s.ecr.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AuthorizationData) != 1 {
		t.Fatalf("authorizationData = %+v", out.AuthorizationData)
	}
	ad := out.AuthorizationData[0]
	if got, want := aws.ToString(ad.ProxyEndpoint), "http://"+s.addr; got != want {
		t.Errorf("proxyEndpoint = %q, want %q", got, want)
	}
	if ad.ExpiresAt == nil || ad.ExpiresAt.Before(time.Now().Add(11*time.Hour)) || ad.ExpiresAt.After(time.Now().Add(13*time.Hour)) {
		t.Errorf("expiresAt = %v, want about 12h from now", ad.ExpiresAt)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || s.svc.checkPassword(pass) != authOK {
		t.Errorf("token %q: user %q, password accepted = %v", raw, user, s.svc.checkPassword(pass) == authOK)
	}
	if s.svc.checkPassword(pass+"x") == authOK || s.svc.checkPassword(s.svc.password(time.Now().Add(-time.Second))) != authExpired {
		t.Error("a tampered or expired password was not refused")
	}
}

func TestDeleteRepositoryErrors(t *testing.T) {
	s := startServer(t, "")
	ctx := context.Background()
	_, err := s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("missing")})
	var nf *types.RepositoryNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("delete missing: err = %v, want RepositoryNotFoundException", err)
	}
	s.createRepo(t, "empty")
	out, err := s.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("empty")})
	if err != nil || aws.ToString(out.Repository.RepositoryName) != "empty" {
		t.Fatalf("delete empty repo: %v %+v", err, out)
	}
	_, err = s.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"empty"}})
	if !errors.As(err, &nf) {
		t.Errorf("deleted repo still described: err = %v", err)
	}
	_, err = s.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("empty")})
	if !errors.As(err, &nf) {
		t.Errorf("DescribeImages on deleted repo: err = %v, want RepositoryNotFoundException", err)
	}
}

func TestUnknownOperation(t *testing.T) {
	s := startServer(t, "")
	_, err := s.ecr.PutRegistryPolicy(context.Background(), &ecr.PutRegistryPolicyInput{PolicyText: aws.String("{}")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnknownOperationException" {
		t.Errorf("unsupported op: err = %v, want UnknownOperationException", err)
	}
}
