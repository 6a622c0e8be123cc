package scheduler_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// TestScheduleCRUD: create with AWS's defaults filled in, read back,
// replace with UpdateSchedule, delete, and the not-found answers after.
func TestScheduleCRUD(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	arn := e.mustCreate(t, "nightly", func(in *awsscheduler.CreateScheduleInput) {
		in.ScheduleExpression = aws.String("cron(0 2 * * ? *)")
		in.Description = aws.String("train every night")
		in.Target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}
	})
	if want := "arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"; arn != want {
		t.Errorf("ScheduleArn = %s, want %s", arn, want)
	}
	got, err := e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Arn) != arn || aws.ToString(got.GroupName) != "default" || got.State != types.ScheduleStateEnabled ||
		aws.ToString(got.ScheduleExpressionTimezone) != "UTC" || got.ActionAfterCompletion != types.ActionAfterCompletionNone ||
		aws.ToString(got.Description) != "train every night" || aws.ToString(got.ScheduleExpression) != "cron(0 2 * * ? *)" ||
		got.FlexibleTimeWindow.Mode != types.FlexibleTimeWindowModeOff {
		t.Errorf("GetSchedule = %+v", got)
	}
	if rp := got.Target.RetryPolicy; rp == nil || aws.ToInt32(rp.MaximumRetryAttempts) != 185 || aws.ToInt32(rp.MaximumEventAgeInSeconds) != 86400 {
		t.Errorf("RetryPolicy = %+v, want AWS's defaults 185 and 86400", got.Target.RetryPolicy)
	}
	if aws.ToString(got.Target.DeadLetterConfig.Arn) != "arn:aws:sqs:us-east-1:000000000000:dlq" || aws.ToString(got.Target.Input) != `{"run":"nightly"}` {
		t.Errorf("Target = %+v", got.Target)
	}
	if !got.CreationDate.Equal(e.clock.Now()) {
		t.Errorf("CreationDate = %v, want %v", got.CreationDate, e.clock.Now())
	}

	// UpdateSchedule replaces everything: what it leaves out goes back to
	// the default.
	e.clock.Advance(time.Minute)
	if _, err := e.c.UpdateSchedule(ctx, &awsscheduler.UpdateScheduleInput{
		Name:                       aws.String("nightly"),
		ScheduleExpression:         aws.String("cron(0 3 * * ? *)"),
		ScheduleExpressionTimezone: aws.String("Europe/Paris"),
		State:                      types.ScheduleStateDisabled,
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(15)},
		Target:                     &types.Target{Arn: aws.String(fnARN), RoleArn: aws.String(roleARN)},
	}); err != nil {
		t.Fatal(err)
	}
	got, err = e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != types.ScheduleStateDisabled || aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" || got.Description != nil ||
		got.Target.DeadLetterConfig != nil || aws.ToInt32(got.FlexibleTimeWindow.MaximumWindowInMinutes) != 15 ||
		got.LastModificationDate.Equal(*got.CreationDate) {
		t.Errorf("after UpdateSchedule: %+v", got)
	}

	if _, err := e.c.DeleteSchedule(ctx, &awsscheduler.DeleteScheduleInput{Name: aws.String("nightly")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("nightly")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule nightly does not exist.")
	_, err = e.c.DeleteSchedule(ctx, &awsscheduler.DeleteScheduleInput{Name: aws.String("nightly")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule nightly does not exist.")
	_, err = e.c.UpdateSchedule(ctx, &awsscheduler.UpdateScheduleInput{
		Name: aws.String("nightly"), ScheduleExpression: aws.String("rate(1 hour)"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target:             &types.Target{Arn: aws.String(fnARN), RoleArn: aws.String(roleARN)},
	})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule nightly does not exist.")
}

// TestCreateScheduleRejects: each input AWS refuses, with its error code,
// status and what the message names.
func TestCreateScheduleRejects(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate(t, "taken", nil)
	cases := []struct {
		name   string
		mutate func(*awsscheduler.CreateScheduleInput)
		code   string
		status int
		msg    string
	}{
		{"a name with a space", func(in *awsscheduler.CreateScheduleInput) { in.Name = aws.String("my schedule") },
			"ValidationException", 400, "at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"},
		{"a 65-character name", func(in *awsscheduler.CreateScheduleInput) { in.Name = aws.String(strings.Repeat("n", 65)) },
			"ValidationException", 400, "Member must have length less than or equal to 64"},
		{"an existing name", func(in *awsscheduler.CreateScheduleInput) { in.Name = aws.String("taken") },
			"ConflictException", 409, "Schedule taken already exists."},
		{"a group that does not exist", func(in *awsscheduler.CreateScheduleInput) { in.GroupName = aws.String("nope") },
			"ResourceNotFoundException", 404, "Schedule group nope does not exist."},
		{"a bad expression", func(in *awsscheduler.CreateScheduleInput) { in.ScheduleExpression = aws.String("cron(0 10 * * * *)") },
			"ValidationException", 400, "Invalid Schedule Expression cron(0 10 * * * *)"},
		{"a plural unit for 1", func(in *awsscheduler.CreateScheduleInput) { in.ScheduleExpression = aws.String("rate(1 hours)") },
			"ValidationException", 400, "Invalid Schedule Expression rate(1 hours)"},
		{"an unknown time zone", func(in *awsscheduler.CreateScheduleInput) { in.ScheduleExpressionTimezone = aws.String("Mars/Olympus") },
			"ValidationException", 400, "Invalid ScheduleExpressionTimezone Mars/Olympus"},
		{"a role that is not a role ARN", func(in *awsscheduler.CreateScheduleInput) { in.Target.RoleArn = aws.String("scheduler-invoke") },
			"ValidationException", 400, "at 'target.roleArn' failed to satisfy constraint"},
		{"a flexible window without its length", func(in *awsscheduler.CreateScheduleInput) {
			in.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible}
		}, "ValidationException", 400, "MaximumWindowInMinutes is required"},
		{"a window over a day", func(in *awsscheduler.CreateScheduleInput) {
			in.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(1441)}
		}, "ValidationException", 400, "Member must have value less than or equal to 1440"},
		{"an end before the start", func(in *awsscheduler.CreateScheduleInput) {
			in.StartDate = aws.Time(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
			in.EndDate = aws.Time(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
		}, "ValidationException", 400, "must be after the StartDate"},
		{"text input to a Lambda function", func(in *awsscheduler.CreateScheduleInput) { in.Target.Input = aws.String("not json") },
			"ValidationException", 400, "The Input of a lambda target must be well-formed JSON."},
		{"too many retries", func(in *awsscheduler.CreateScheduleInput) {
			in.Target.RetryPolicy = &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(186)}
		}, "ValidationException", 400, "at 'target.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"},
		{"an event age under a minute", func(in *awsscheduler.CreateScheduleInput) {
			in.Target.RetryPolicy = &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(59)}
		}, "ValidationException", 400, "Member must have value greater than or equal to 60"},
		{"a dead-letter queue that is not SQS", func(in *awsscheduler.CreateScheduleInput) {
			in.Target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String("arn:aws:sns:us-east-1:000000000000:topic")}
		}, "ValidationException", 400, "at 'target.deadLetterConfig.arn'"},
		{"an unknown state", func(in *awsscheduler.CreateScheduleInput) { in.State = "PAUSED" },
			"ValidationException", 400, "Member must satisfy enum value set: [ENABLED, DISABLED]"},
		{"an unknown action after completion", func(in *awsscheduler.CreateScheduleInput) { in.ActionAfterCompletion = "ARCHIVE" },
			"ValidationException", 400, "Member must satisfy enum value set: [NONE, DELETE]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.create(t, "s-"+strings.ReplaceAll(c.name, " ", "-"), c.mutate)
			apiError(t, err, c.code, c.status, c.msg)
		})
	}

	// Required members the SDK checks before sending are checked on the
	// server too.
	req, _ := http.NewRequest(http.MethodPost, strings.TrimSuffix(e.endpoint(), "/")+"/schedules/raw", strings.NewReader(`{"ScheduleExpression":"rate(1 hour)"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" {
		t.Errorf("CreateSchedule without FlexibleTimeWindow and Target = %s %s", resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

// TestCreateScheduleIsIdempotent: the same ClientToken creates once and
// answers the retry with the same ARN; another token conflicts.
func TestCreateScheduleIsIdempotent(t *testing.T) {
	e := newEnv(t, nil)
	withToken := func(tok string) func(*awsscheduler.CreateScheduleInput) {
		return func(in *awsscheduler.CreateScheduleInput) { in.ClientToken = aws.String(tok) }
	}
	first := e.mustCreate(t, "once", withToken("token-1"))
	if again := e.mustCreate(t, "once", withToken("token-1")); again != first {
		t.Errorf("retry with the same token = %s, want %s", again, first)
	}
	_, err := e.create(t, "once", withToken("token-2"))
	apiError(t, err, "ConflictException", 409, "Schedule once already exists.")

	ctx := context.Background()
	del := &awsscheduler.DeleteScheduleInput{Name: aws.String("once"), ClientToken: aws.String("del-1")}
	if _, err := e.c.DeleteSchedule(ctx, del); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.DeleteSchedule(ctx, del); err != nil {
		t.Errorf("a retried DeleteSchedule with the same token = %v, want success", err)
	}
}

// TestListSchedulesFiltersAndPages: NamePrefix, State and the group filter,
// and pages of MaxResults joined by NextToken.
func TestListSchedulesFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.c.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{Name: aws.String("ml")}); err != nil {
		t.Fatal(err)
	}
	disabled := func(in *awsscheduler.CreateScheduleInput) { in.State = types.ScheduleStateDisabled }
	inML := func(in *awsscheduler.CreateScheduleInput) { in.GroupName = aws.String("ml") }
	e.mustCreate(t, "train-a", nil)
	e.mustCreate(t, "train-b", disabled)
	e.mustCreate(t, "score-a", nil)
	e.mustCreate(t, "train-a", inML)
	e.mustCreate(t, "train-c", func(in *awsscheduler.CreateScheduleInput) { inML(in); disabled(in) })

	list := func(in *awsscheduler.ListSchedulesInput) []string {
		t.Helper()
		var all []types.ScheduleSummary
		p := awsscheduler.NewListSchedulesPaginator(e.c, in)
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			all = append(all, out.Schedules...)
		}
		if in.MaxResults != nil && pages < (len(all)+int(*in.MaxResults)-1)/int(*in.MaxResults) {
			t.Errorf("%d pages for %d schedules at MaxResults %d", pages, len(all), *in.MaxResults)
		}
		return names(all)
	}
	cases := []struct {
		name string
		in   *awsscheduler.ListSchedulesInput
		want []string
	}{
		{"all, two per page", &awsscheduler.ListSchedulesInput{MaxResults: aws.Int32(2)}, []string{"default/score-a", "default/train-a", "default/train-b", "ml/train-a", "ml/train-c"}},
		{"by prefix", &awsscheduler.ListSchedulesInput{NamePrefix: aws.String("train-"), MaxResults: aws.Int32(1)}, []string{"default/train-a", "default/train-b", "ml/train-a", "ml/train-c"}},
		{"by state", &awsscheduler.ListSchedulesInput{State: types.ScheduleStateDisabled}, []string{"default/train-b", "ml/train-c"}},
		{"by group", &awsscheduler.ListSchedulesInput{GroupName: aws.String("ml")}, []string{"ml/train-a", "ml/train-c"}},
		{"all filters", &awsscheduler.ListSchedulesInput{GroupName: aws.String("default"), NamePrefix: aws.String("train"), State: types.ScheduleStateEnabled}, []string{"default/train-a"}},
		{"nothing matches", &awsscheduler.ListSchedulesInput{NamePrefix: aws.String("zzz")}, nil},
	}
	for _, c := range cases {
		if got := list(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	out, err := e.c.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{NamePrefix: aws.String("score")})
	if err != nil || len(out.Schedules) != 1 || aws.ToString(out.Schedules[0].Target.Arn) != fnARN || out.Schedules[0].CreationDate == nil {
		t.Errorf("summary = %+v, %v", out, err)
	}

	_, err = e.c.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{GroupName: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule group nope does not exist.")
	_, err = e.c.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{NextToken: aws.String("garbage!")})
	apiError(t, err, "ValidationException", 400, "Invalid NextToken")
	_, err = e.c.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{MaxResults: aws.Int32(101)})
	apiError(t, err, "ValidationException", 400, "Member must have value less than or equal to 100")
}

// TestScheduleGroups: the group calls AWS requires for groups other than
// default, tags on groups only, and deleting a group with its schedules.
func TestScheduleGroups(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	created, err := e.c.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{
		Name: aws.String("pipelines"), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	groupARN := aws.ToString(created.ScheduleGroupArn)
	if groupARN != "arn:aws:scheduler:us-east-1:000000000000:schedule-group/pipelines" {
		t.Errorf("ScheduleGroupArn = %s", groupARN)
	}
	_, err = e.c.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{Name: aws.String("pipelines")})
	apiError(t, err, "ConflictException", 409, "Schedule group pipelines already exists.")
	for _, n := range []string{"pipelines-2", "other"} {
		if _, err := e.c.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{Name: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}

	g, err := e.c.GetScheduleGroup(ctx, &awsscheduler.GetScheduleGroupInput{Name: aws.String("pipelines")})
	if err != nil || aws.ToString(g.Arn) != groupARN || g.State != types.ScheduleGroupStateActive || g.CreationDate == nil {
		t.Errorf("GetScheduleGroup = %+v, %v", g, err)
	}
	var groups []string
	p := awsscheduler.NewListScheduleGroupsPaginator(e.c, &awsscheduler.ListScheduleGroupsInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.ScheduleGroups {
			groups = append(groups, aws.ToString(g.Name))
		}
	}
	if want := []string{"default", "other", "pipelines", "pipelines-2"}; !slices.Equal(groups, want) {
		t.Errorf("groups = %v, want %v", groups, want)
	}
	byPrefix, err := e.c.ListScheduleGroups(ctx, &awsscheduler.ListScheduleGroupsInput{NamePrefix: aws.String("pipe")})
	if err != nil || len(byPrefix.ScheduleGroups) != 2 {
		t.Errorf("groups by prefix = %+v, %v", byPrefix, err)
	}

	// Tags: on groups, not on schedules.
	if _, err := e.c.TagResource(ctx, &awsscheduler.TagResourceInput{ResourceArn: aws.String(groupARN), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UntagResource(ctx, &awsscheduler.UntagResourceInput{ResourceArn: aws.String(groupARN), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.c.ListTagsForResource(ctx, &awsscheduler.ListTagsForResourceInput{ResourceArn: aws.String(groupARN)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" || aws.ToString(tags.Tags[0].Value) != "dev" {
		t.Errorf("tags = %+v, %v", tags, err)
	}
	schedARN := e.mustCreate(t, "in-group", func(in *awsscheduler.CreateScheduleInput) { in.GroupName = aws.String("pipelines") })
	_, err = e.c.TagResource(ctx, &awsscheduler.TagResourceInput{ResourceArn: aws.String(schedARN), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	apiError(t, err, "ValidationException", 400, "at 'resourceArn' failed to satisfy constraint")
	_, err = e.c.ListTagsForResource(ctx, &awsscheduler.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:scheduler:us-east-1:000000000000:schedule-group/gone")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule group gone does not exist.")

	// A schedule in a group is found by its group only.
	_, err = e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("in-group")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule in-group does not exist.")
	if _, err := e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("in-group"), GroupName: aws.String("pipelines")}); err != nil {
		t.Errorf("GetSchedule in its group: %v", err)
	}

	// Deleting a group deletes its schedules; default cannot be deleted.
	if _, err := e.c.DeleteScheduleGroup(ctx, &awsscheduler.DeleteScheduleGroupInput{Name: aws.String("pipelines")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetScheduleGroup(ctx, &awsscheduler.GetScheduleGroupInput{Name: aws.String("pipelines")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule group pipelines does not exist.")
	out, err := e.c.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{})
	if err != nil || len(out.Schedules) != 0 {
		t.Errorf("schedules after deleting their group = %+v, %v", out, err)
	}
	_, err = e.c.DeleteScheduleGroup(ctx, &awsscheduler.DeleteScheduleGroupInput{Name: aws.String("default")})
	apiError(t, err, "ValidationException", 400, "The default schedule group cannot be deleted.")
	_, err = e.c.DeleteScheduleGroup(ctx, &awsscheduler.DeleteScheduleGroupInput{Name: aws.String("pipelines")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule group pipelines does not exist.")
}
