// Package schedule keeps the EventBridge Scheduler schedules that start a
// workflow's runs: one per aqueduct_schedule, in the default group, whose
// target is the schedule's state machine.
//
// Scheduler puts no tags on a schedule, so the owner is written in its
// description: a schedule of the derived name is adopted only when that
// matches, and any other is refused, as functions are.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// Group is the schedule group the provider uses.
const Group = "default"

// Schedule is a schedule as the provider wants it.
type Schedule struct {
	Name       string
	Expression string // rate(...), cron(...) or at(...)
	Timezone   string // IANA name
	Enabled    bool
	TargetARN  string // the state machine
	RoleARN    string
	Input      string // the execution input, JSON
	// Owner marks the schedule as the provider's; ID is the readable id.
	Owner, ID string
	ARN       string // read back; Put and Update return it
}

// ErrNotFound is a schedule that does not exist.
var ErrNotFound = errors.New("schedule not found")

const ownerMark = "owner="

func (s Schedule) description() string {
	return fmt.Sprintf("Runs aqueduct schedule %s. Managed by terraform-provider-aqueduct; %s%s", s.ID, ownerMark, s.Owner)
}

// ownerOf reads the owner from a schedule's description.
func ownerOf(description string) string {
	_, owner, found := strings.Cut(description, ownerMark)
	if !found {
		return ""
	}
	return owner
}

func (s Schedule) state() types.ScheduleState {
	if s.Enabled {
		return types.ScheduleStateEnabled
	}
	return types.ScheduleStateDisabled
}

func (s Schedule) target() *types.Target {
	return &types.Target{Arn: aws.String(s.TargetARN), RoleArn: aws.String(s.RoleARN), Input: aws.String(s.Input)}
}

// Put creates the schedule, or makes the existing one of its name what s
// says when it is the same owner's (an interrupted apply, lost state).
// It returns the schedule's ARN.
func Put(ctx context.Context, api *scheduler.Client, s Schedule) (string, error) {
	out, err := api.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String(s.Name), GroupName: aws.String(Group),
		ScheduleExpression: aws.String(s.Expression), ScheduleExpressionTimezone: aws.String(s.Timezone),
		State: s.state(), Target: s.target(), Description: aws.String(s.description()),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
	})
	var conflict *types.ConflictException
	if errors.As(err, &conflict) {
		got, gerr := Get(ctx, api, s.Name)
		if gerr != nil {
			return "", gerr
		}
		if got.Owner != s.Owner {
			return "", fmt.Errorf("schedule %s already exists and is not this one's (owner %q)", s.Name, got.Owner)
		}
		return Update(ctx, api, s)
	}
	if err != nil {
		return "", fmt.Errorf("creating schedule %s: %w", s.Name, err)
	}
	return aws.ToString(out.ScheduleArn), nil
}

// Update replaces the schedule's definition with s.
func Update(ctx context.Context, api *scheduler.Client, s Schedule) (string, error) {
	out, err := api.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: aws.String(s.Name), GroupName: aws.String(Group),
		ScheduleExpression: aws.String(s.Expression), ScheduleExpressionTimezone: aws.String(s.Timezone),
		State: s.state(), Target: s.target(), Description: aws.String(s.description()),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
	})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return "", fmt.Errorf("updating schedule %s: %w", s.Name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("updating schedule %s: %w", s.Name, err)
	}
	return aws.ToString(out.ScheduleArn), nil
}

// Get reads a schedule; ErrNotFound when there is none.
func Get(ctx context.Context, api *scheduler.Client, name string) (*Schedule, error) {
	out, err := api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(Group)})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading schedule %s: %w", name, err)
	}
	s := &Schedule{
		Name: name, Expression: aws.ToString(out.ScheduleExpression), Timezone: aws.ToString(out.ScheduleExpressionTimezone),
		Enabled: out.State == types.ScheduleStateEnabled, Owner: ownerOf(aws.ToString(out.Description)), ARN: aws.ToString(out.Arn),
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if t := out.Target; t != nil {
		s.TargetARN, s.RoleARN, s.Input = aws.ToString(t.Arn), aws.ToString(t.RoleArn), aws.ToString(t.Input)
	}
	return s, nil
}

// Delete deletes the schedule; a missing one is not an error.
func Delete(ctx context.Context, api *scheduler.Client, name string) error {
	_, err := api.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: aws.String(Group)})
	var missing *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("deleting schedule %s: %w", name, err)
	}
	return nil
}
