// Package engine records and resolves a Lambda engine: the connection that an
// aqueduct_lambda_resource declares (region, role, artifact store, ECR
// repository). The settings live as tags on the engine's ECR repository, so
// workflows and operators, and `terraform import`, find them from an id
// alone, without Terraform state.
package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// Tag keys on the ECR repository.
const (
	TagEngine      = naming.TagEngine
	TagRoleARN     = "aqueduct:role-arn"
	TagBucket      = "aqueduct:bucket"
	TagPrefix      = "aqueduct:prefix"
	TagCreatedRepo = "aqueduct:created-repository"
	// TagOrchestrationRole is the role Step Functions and Scheduler assume.
	TagOrchestrationRole = "aqueduct:orchestration-role-arn"
)

// Engine is one resolved lambda resource.
type Engine struct {
	Name          string
	Region        string
	Repository    string // ECR repository name
	RepositoryARN string
	RepositoryURL string // host/name, as ECR reports repositoryUri
	RegistryID    string // account id
	RoleARN       string
	Bucket        string
	Prefix        string
	CreatedRepo   bool
	// OrchestrationRoleARN is the role Step Functions and EventBridge
	// Scheduler assume to run the engine's workflows on AWS; empty when runs
	// happen in the terraform process only.
	OrchestrationRoleARN string
	UserTags             map[string]string
}

// ID is the engine's id.
func (e *Engine) ID() ids.Engine { return ids.Engine{Region: e.Region, Repository: e.Repository} }

// Root is the key prefix of everything the engine writes to its artifact
// store: the configured prefix, then the engine's own namespace, so engines
// sharing a bucket and prefix never mix their objects.
func (e *Engine) Root() string {
	return path.Join(e.Prefix, naming.Namespace(e.RegistryID, e.ID(), e.Name))
}

// Same reports whether other declares the same engine as e: its name and
// artifact store. A repository whose tags record the same engine is adopted
// (an interrupted apply, or state lost); any other engine's is refused.
func (e *Engine) Same(other *Engine) bool {
	return e.Name == other.Name && e.Bucket == other.Bucket && e.Prefix == other.Prefix
}

// Describe names the engine for messages about who owns something.
func (e *Engine) Describe() string {
	return fmt.Sprintf("engine %q (artifact store s3://%s/%s)", e.Name, e.Bucket, e.Prefix)
}

// Tags returns the tags that record e, user tags included.
func (e *Engine) Tags() map[string]string {
	t := map[string]string{}
	for k, v := range e.UserTags {
		t[k] = v
	}
	t[TagEngine] = e.Name
	t[TagRoleARN] = e.RoleARN
	t[TagBucket] = e.Bucket
	t[TagPrefix] = e.Prefix
	t[TagCreatedRepo] = fmt.Sprint(e.CreatedRepo)
	if e.OrchestrationRoleARN != "" {
		t[TagOrchestrationRole] = e.OrchestrationRoleARN
	}
	return t
}

// ECRTags converts a tag map to ECR's shape, sorted for stable requests.
func ECRTags(m map[string]string) []ecrtypes.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ecrtypes.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// ErrNotFound means the repository or its engine tags are gone.
var ErrNotFound = errors.New("engine not found")

// ECRAPI is the part of the ECR client the resolver uses.
type ECRAPI interface {
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	ListTagsForResource(context.Context, *ecr.ListTagsForResourceInput, ...func(*ecr.Options)) (*ecr.ListTagsForResourceOutput, error)
}

// Lookup reads an engine from its repository. It returns ErrNotFound when
// the repository is missing or carries no engine tags.
func Lookup(ctx context.Context, api ECRAPI, region, repository string) (*Engine, error) {
	out, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repository}})
	var nf *ecrtypes.RepositoryNotFoundException
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("%w: ECR repository %q does not exist in %s", ErrNotFound, repository, region)
	}
	if err != nil {
		return nil, fmt.Errorf("describing ECR repository %q: %w", repository, err)
	}
	if len(out.Repositories) == 0 {
		return nil, fmt.Errorf("%w: ECR repository %q does not exist in %s", ErrNotFound, repository, region)
	}
	return FromRepository(ctx, api, region, out.Repositories[0])
}

// FromRepository reads the engine tags of a described repository.
func FromRepository(ctx context.Context, api ECRAPI, region string, repo ecrtypes.Repository) (*Engine, error) {
	tags, err := api.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
	if err != nil {
		return nil, fmt.Errorf("reading tags of ECR repository %q: %w", aws.ToString(repo.RepositoryName), err)
	}
	e := &Engine{
		Region:        region,
		Repository:    aws.ToString(repo.RepositoryName),
		RepositoryARN: aws.ToString(repo.RepositoryArn),
		RepositoryURL: aws.ToString(repo.RepositoryUri),
		RegistryID:    aws.ToString(repo.RegistryId),
		UserTags:      map[string]string{},
	}
	for _, t := range tags.Tags {
		k, v := aws.ToString(t.Key), aws.ToString(t.Value)
		switch k {
		case TagEngine:
			e.Name = v
		case TagRoleARN:
			e.RoleARN = v
		case TagBucket:
			e.Bucket = v
		case TagPrefix:
			e.Prefix = v
		case TagCreatedRepo:
			e.CreatedRepo = v == "true"
		case TagOrchestrationRole:
			e.OrchestrationRoleARN = v
		default:
			e.UserTags[k] = v
		}
	}
	if e.Name == "" || e.Bucket == "" {
		return nil, fmt.Errorf("%w: ECR repository %q carries no aqueduct engine tags", ErrNotFound, e.Repository)
	}
	return e, nil
}

// List returns every engine in a region, for import by name.
func List(ctx context.Context, api ECRAPI, region string) ([]*Engine, error) {
	var out []*Engine
	var token *string
	for {
		page, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing ECR repositories in %s: %w", region, err)
		}
		for _, r := range page.Repositories {
			e, err := FromRepository(ctx, api, region, r)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if page.NextToken == nil {
			return out, nil
		}
		token = page.NextToken
	}
}

// Cache resolves engines once per provider process. Invalidate it when an
// engine changes within the same run.
type Cache struct {
	mu sync.Mutex
	m  map[ids.Engine]*Engine
}

// Get returns the cached engine for id or calls load.
func (c *Cache) Get(id ids.Engine, load func() (*Engine, error)) (*Engine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		return e, nil
	}
	e, err := load()
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[ids.Engine]*Engine{}
	}
	c.m[id] = e
	return e, nil
}

// Forget drops id from the cache.
func (c *Cache) Forget(id ids.Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
