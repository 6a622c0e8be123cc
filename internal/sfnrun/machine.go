// Package sfnrun runs workflows on AWS Step Functions: it keeps the state
// machines the provider owns (created, updated in place, deleted when
// idle) and runs a prepared run as an execution named by its run id,
// attaching to it again after the terraform that started it is gone.
package sfnrun

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
)

// Machine is a state machine as the provider wants it.
type Machine struct {
	Name       string
	Definition []byte
	RoleARN    string
	// Tags are put on a new machine, and an existing one's are brought in
	// line; Tags[naming.TagOwner] is checked on an existing one, which is
	// adopted only when it matches.
	Tags map[string]string
	// KeepTag, when set, says which tags missing from Tags stay on an
	// existing machine: those another tool manages (ignore_tags).
	KeepTag func(key string) bool
}

// ARN is the ARN of the state machine name in the region and account of
// another ARN of the same partition (a role's, a repository's).
func ARN(like, region, account, name string) string {
	return fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", partition(like), region, account, name)
}

// ExecutionARN is the ARN of an execution of a state machine by name, the
// one DescribeExecution takes: AWS derives it, so it needs no lookup.
func ExecutionARN(machineARN, execution string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + execution
}

func partition(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// Ensure makes the machine exist as m says at arn (see ARN): it creates it,
// or updates the definition and role of the one already there when they
// differ. A machine of that name that the provider did not make for the
// same owner is refused, naming its owner. created reports a new machine.
func Ensure(ctx context.Context, api *sfn.Client, arn string, m Machine) (created bool, err error) {
	out, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	switch {
	case missing(err):
		tags := make([]types.Tag, 0, len(m.Tags))
		for k, v := range m.Tags {
			tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := api.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name: aws.String(m.Name), Definition: aws.String(string(m.Definition)), RoleArn: aws.String(m.RoleARN),
			Type: types.StateMachineTypeStandard, Tags: tags,
		})
		var exists *types.StateMachineAlreadyExists
		if errors.As(err, &exists) {
			// Created meanwhile by another run of the same definition.
			return Ensure(ctx, api, arn, m)
		}
		if err != nil {
			return false, fmt.Errorf("creating state machine %s: %w", m.Name, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading state machine %s: %w", m.Name, err)
	}
	have, err := checkOwner(ctx, api, arn, m)
	if err != nil {
		return false, err
	}
	if err := SyncTags(ctx, api, arn, have, m.Tags, m.KeepTag); err != nil {
		return false, err
	}
	if aws.ToString(out.Definition) == string(m.Definition) && aws.ToString(out.RoleArn) == m.RoleARN {
		return false, nil
	}
	if _, err := api.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
		StateMachineArn: aws.String(arn), Definition: aws.String(string(m.Definition)), RoleArn: aws.String(m.RoleARN),
	}); err != nil {
		return false, fmt.Errorf("updating state machine %s: %w", m.Name, err)
	}
	return false, nil
}

// checkOwner returns the tags of the machine at arn when it is m's.
func checkOwner(ctx context.Context, api *sfn.Client, arn string, m Machine) (map[string]string, error) {
	tags, err := Tags(ctx, api, arn)
	if err != nil {
		return nil, err
	}
	if want := m.Tags[naming.TagOwner]; tags[naming.TagOwner] != want {
		owner := "no aqueduct owner tag"
		if o := tags[naming.TagOwner]; o != "" {
			owner = fmt.Sprintf("owner %s (engine %q, workflow %q)", o, tags[naming.TagEngine], tags[naming.TagWorkflow])
		}
		return nil, fmt.Errorf("state machine %s already exists and is not this one's: it has %s", m.Name, owner)
	}
	return tags, nil
}

// SyncTags turns a machine's tags from have into want: it sets what
// differs and removes what want lacks, except AWS's own aws:* tags and
// those keep says to keep.
func SyncTags(ctx context.Context, api *sfn.Client, arn string, have, want map[string]string, keep func(string) bool) error {
	var set []types.Tag
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if hv, ok := have[k]; !ok || hv != want[k] {
			set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(want[k])})
		}
	}
	var remove []string
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, "aws:") && (keep == nil || !keep(k)) {
			remove = append(remove, k)
		}
	}
	if len(set) > 0 {
		if _, err := api.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: aws.String(arn), Tags: set}); err != nil {
			return fmt.Errorf("tagging state machine %s: %w", arn, err)
		}
	}
	if len(remove) > 0 {
		if _, err := api.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
			return fmt.Errorf("untagging state machine %s: %w", arn, err)
		}
	}
	return nil
}

// Exists reports whether a state machine exists.
func Exists(ctx context.Context, api *sfn.Client, arn string) (bool, error) {
	_, err := api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	switch {
	case missing(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading state machine %s: %w", arn, err)
	}
	return true, nil
}

// Tags returns a state machine's tags.
func Tags(ctx context.Context, api *sfn.Client, arn string) (map[string]string, error) {
	out, err := api.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("reading the tags of state machine %s: %w", arn, err)
	}
	tags := make(map[string]string, len(out.Tags))
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// Owned lists the state machines whose name starts with prefix and whose
// tags match: the provider's own, found without state.
func Owned(ctx context.Context, api *sfn.Client, prefix string, match func(tags map[string]string) bool) ([]string, error) {
	var arns []string
	p := sfn.NewListStateMachinesPaginator(api, &sfn.ListStateMachinesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing state machines: %w", err)
		}
		for _, sm := range page.StateMachines {
			if !strings.HasPrefix(aws.ToString(sm.Name), prefix) {
				continue
			}
			tags, err := Tags(ctx, api, aws.ToString(sm.StateMachineArn))
			if missing(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if match(tags) {
				arns = append(arns, aws.ToString(sm.StateMachineArn))
			}
		}
	}
	return arns, nil
}

// Running lists a machine's running executions.
func Running(ctx context.Context, api *sfn.Client, arn string) ([]string, error) {
	var out []string
	p := sfn.NewListExecutionsPaginator(api, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: types.ExecutionStatusRunning})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if missing(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing the executions of %s: %w", arn, err)
		}
		for _, e := range page.Executions {
			out = append(out, aws.ToString(e.ExecutionArn))
		}
	}
	return out, nil
}

// DeleteIfIdle deletes a machine with no running execution: nothing in use
// is deleted. It reports whether it deleted it (a missing machine counts).
func DeleteIfIdle(ctx context.Context, api *sfn.Client, arn string) (bool, error) {
	running, err := Running(ctx, api, arn)
	if err != nil || len(running) > 0 {
		return false, err
	}
	return true, deleteMachine(ctx, api, arn)
}

// Delete stops a machine's running executions and deletes it: for a
// destroy, which must leave nothing running.
func Delete(ctx context.Context, api *sfn.Client, arn, cause string) error {
	running, err := Running(ctx, api, arn)
	if err != nil {
		return err
	}
	for _, exec := range running {
		_, err := api.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(exec), Error: aws.String("Aqueduct.Destroyed"), Cause: aws.String(cause)})
		if err != nil && !missing(err) {
			return fmt.Errorf("stopping execution %s: %w", exec, err)
		}
	}
	return deleteMachine(ctx, api, arn)
}

func deleteMachine(ctx context.Context, api *sfn.Client, arn string) error {
	_, err := api.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil && !missing(err) {
		return fmt.Errorf("deleting state machine %s: %w", arn, err)
	}
	return nil
}

// missing reports an error that says the machine or execution does not
// exist, modelled for the operation or not: the SDK types only the errors
// an operation's model lists.
func missing(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "StateMachineDoesNotExist", "ExecutionDoesNotExist", "ResourceNotFound":
		return true
	}
	return false
}
