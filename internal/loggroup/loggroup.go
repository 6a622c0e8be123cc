// Package loggroup manages the CloudWatch Logs log group of an operator's
// function, /aws/lambda/<function name>: created with the function (so its
// retention and tags apply from the first invocation, before Lambda would
// create one without them), kept in line with the configuration, and
// deleted with it.
//
// Ownership is a tag: the group carries naming.TagOwner with the owner's
// value. Ensure adopts a group with our owner tag (an interrupted apply
// left it) and leaves a group without it alone (someone else made it; it
// is used, not changed); Delete removes only a group with our tag.
//
//	g, err := loggroup.Ensure(ctx, api, loggroup.Config{Name: ..., Owner: ..., RetentionDays: 14, Tags: tags})
//	err = loggroup.Delete(ctx, api, name, owner)
package loggroup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// API is the part of the CloudWatch Logs client this package uses;
// *cloudwatchlogs.Client satisfies it.
type API interface {
	CreateLogGroup(context.Context, *cwl.CreateLogGroupInput, ...func(*cwl.Options)) (*cwl.CreateLogGroupOutput, error)
	DeleteLogGroup(context.Context, *cwl.DeleteLogGroupInput, ...func(*cwl.Options)) (*cwl.DeleteLogGroupOutput, error)
	DescribeLogGroups(context.Context, *cwl.DescribeLogGroupsInput, ...func(*cwl.Options)) (*cwl.DescribeLogGroupsOutput, error)
	PutRetentionPolicy(context.Context, *cwl.PutRetentionPolicyInput, ...func(*cwl.Options)) (*cwl.PutRetentionPolicyOutput, error)
	DeleteRetentionPolicy(context.Context, *cwl.DeleteRetentionPolicyInput, ...func(*cwl.Options)) (*cwl.DeleteRetentionPolicyOutput, error)
	ListTagsForResource(context.Context, *cwl.ListTagsForResourceInput, ...func(*cwl.Options)) (*cwl.ListTagsForResourceOutput, error)
	TagResource(context.Context, *cwl.TagResourceInput, ...func(*cwl.Options)) (*cwl.TagResourceOutput, error)
	UntagResource(context.Context, *cwl.UntagResourceInput, ...func(*cwl.Options)) (*cwl.UntagResourceOutput, error)
}

// RetentionDays are the values CloudWatch Logs accepts for a retention.
var RetentionDays = []int64{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Name is the log group Lambda writes a function's logs to by default.
func Name(functionName string) string { return "/aws/lambda/" + functionName }

// Config is the desired state of a log group.
type Config struct {
	Name string
	// Owner is the value of naming.TagOwner on a group this provider made.
	Owner string
	// RetentionDays is 0 for "never expire".
	RetentionDays int64
	// Tags are set on the group besides the owner tag; other tags are
	// removed, except AWS's own and those KeepTag keeps (ignore_tags).
	Tags    map[string]string
	KeepTag func(key string) bool
}

// Group is a log group as CloudWatch Logs reports it.
type Group struct {
	Name          string
	ARN           string
	RetentionDays int64 // 0: never expire
	Tags          map[string]string
	// Ours says the group carries our owner tag.
	Ours bool
}

// ErrNotOurs says a group of the name exists and was not made by the
// provider: it is used as it is, and never changed or deleted.
var ErrNotOurs = errors.New("log group was not made by this provider")

// Get reads a group; nil when there is none.
func Get(ctx context.Context, api API, name, owner string) (*Group, error) {
	out, err := api.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("reading log group %q: %w", name, err)
	}
	for _, lg := range out.LogGroups {
		if aws.ToString(lg.LogGroupName) != name {
			continue
		}
		g := &Group{Name: name, ARN: aws.ToString(lg.LogGroupArn), RetentionDays: int64(aws.ToInt32(lg.RetentionInDays))}
		tags, err := api.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(g.ARN)})
		if err != nil {
			return nil, fmt.Errorf("reading the tags of log group %q: %w", name, err)
		}
		g.Tags = tags.Tags
		g.Ours = owner != "" && g.Tags[naming.TagOwner] == owner
		return g, nil
	}
	return nil, nil
}

// Ensure creates the group, or adopts ours, and brings its retention and
// tags in line with cfg. A group that is not ours is returned with
// ErrNotOurs and left as it is.
func Ensure(ctx context.Context, api API, cfg Config) (*Group, error) {
	g, err := Get(ctx, api, cfg.Name, cfg.Owner)
	if err != nil {
		return nil, err
	}
	if g == nil {
		tags := maps.Clone(cfg.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		tags[naming.TagOwner] = cfg.Owner
		_, err := api.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(cfg.Name), Tags: tags})
		var exists *types.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) { // a concurrent create: read it back below
			return nil, fmt.Errorf("creating log group %q: %w", cfg.Name, err)
		}
		if g, err = Get(ctx, api, cfg.Name, cfg.Owner); err != nil {
			return nil, err
		}
		if g == nil {
			return nil, fmt.Errorf("log group %q was created but cannot be read back", cfg.Name)
		}
	}
	if !g.Ours {
		return g, fmt.Errorf("%w: %q has no %s tag of %q", ErrNotOurs, cfg.Name, naming.TagOwner, cfg.Owner)
	}
	if err := Update(ctx, api, g, cfg); err != nil {
		return nil, err
	}
	return g, nil
}

// Update brings our group's retention and tags in line with cfg and
// records the result in g.
func Update(ctx context.Context, api API, g *Group, cfg Config) error {
	if g.RetentionDays != cfg.RetentionDays {
		var err error
		if cfg.RetentionDays > 0 {
			_, err = api.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String(g.Name), RetentionInDays: aws.Int32(int32(cfg.RetentionDays))})
		} else {
			_, err = api.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String(g.Name)})
		}
		if err != nil {
			return fmt.Errorf("setting the retention of log group %q to %d days: %w", g.Name, cfg.RetentionDays, err)
		}
		g.RetentionDays = cfg.RetentionDays
	}
	add := map[string]string{}
	for k, v := range cfg.Tags {
		if g.Tags[k] != v {
			add[k] = v
		}
	}
	if len(add) > 0 {
		if _, err := api.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(g.ARN), Tags: add}); err != nil {
			return fmt.Errorf("tagging log group %q: %w", g.Name, err)
		}
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		maps.Copy(g.Tags, add)
	}
	var remove []string
	for k := range g.Tags {
		_, want := cfg.Tags[k]
		if !want && k != naming.TagOwner && !strings.HasPrefix(k, "aws:") && (cfg.KeepTag == nil || !cfg.KeepTag(k)) {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		sort.Strings(remove)
		if _, err := api.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: aws.String(g.ARN), TagKeys: remove}); err != nil {
			return fmt.Errorf("untagging log group %q: %w", g.Name, err)
		}
		for _, k := range remove {
			delete(g.Tags, k)
		}
	}
	return nil
}

// Delete deletes the group when it is ours. A group that is gone, or that
// is not ours, is left alone without error: deleted reports which.
func Delete(ctx context.Context, api API, name, owner string) (deleted bool, err error) {
	g, err := Get(ctx, api, name, owner)
	if err != nil || g == nil || !g.Ours {
		return false, err
	}
	_, err = api.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	var gone *types.ResourceNotFoundException
	if errors.As(err, &gone) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting log group %q: %w", name, err)
	}
	return true, nil
}

// FilterAPI is what FindStream needs of the client.
type FilterAPI interface {
	FilterLogEvents(context.Context, *cwl.FilterLogEventsInput, ...func(*cwl.Options)) (*cwl.FilterLogEventsOutput, error)
}

// FindStream finds the stream that holds an invocation's log, by the
// "START RequestId: <id>" line Lambda writes first: "" when the group has
// no such line (yet: CloudWatch Logs receives lines a few seconds late, so
// it looks up to attempts times, wait apart).
func FindStream(ctx context.Context, api FilterAPI, group, requestID string, attempts int, wait time.Duration) (string, error) {
	for i := range max(attempts, 1) {
		if i > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		out, err := api.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{
			LogGroupName:  aws.String(group),
			FilterPattern: aws.String(`"RequestId: ` + requestID + `"`),
			Limit:         aws.Int32(1),
		})
		var gone *types.ResourceNotFoundException
		if errors.As(err, &gone) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("searching log group %q for request %s: %w", group, requestID, err)
		}
		if len(out.Events) > 0 {
			return aws.ToString(out.Events[0].LogStreamName), nil
		}
	}
	return "", nil
}
