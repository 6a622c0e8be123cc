package scheduler_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/scheduler"
)

// step moves the fake clock and runs a pass of the loop.
func (e *env) step(d time.Duration) {
	e.clock.Advance(d)
	e.svc.FireDue()
}

// advanceUntil moves the clock a second at a time until cond holds: for
// waits that goroutines register on the clock at their own pace (retries).
func (e *env) advanceUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		e.clock.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%s did not happen", what)
}

// lastDelivery waits for the delivery log to hold one for schedule key
// and returns the latest.
func (e *env) lastDelivery(t *testing.T, key string) scheduler.Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ds := e.svc.Deliveries()
		for i := len(ds) - 1; i >= 0; i-- {
			if ds[i].Schedule == key {
				return ds[i]
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no delivery recorded for %s", key)
	return scheduler.Delivery{}
}

// TestRateFiresOnTheClock: a rate without a StartDate fires at once, then
// every interval, delivering its target, role and Input.
func TestRateFiresOnTheClock(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate(t, "every5", nil)
	e.svc.FireDue()
	if c := e.targets.next(t); c.target != fnARN || c.role != roleARN || c.input != `{"run":"every5"}` {
		t.Errorf("delivered %+v", c)
	}
	e.step(4 * time.Minute)
	e.targets.none(t, "4 minutes into rate(5 minutes)")
	e.step(time.Minute)
	e.targets.next(t)
	e.step(5 * time.Minute)
	e.targets.next(t)
	var d scheduler.Delivery
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if d = e.lastDelivery(t, "default/every5"); d.ScheduledTime.Equal(e.clock.Now()) {
			break
		}
	}
	if d.Status != scheduler.Delivered || d.Attempts != 1 || !d.ScheduledTime.Equal(e.clock.Now()) {
		t.Errorf("last delivery = %+v, want the one at %v", d, e.clock.Now())
	}
}

// TestTheLoopFiresByItself: without the test's passes, the loop wakes at a
// schedule's time on the injected clock.
func TestTheLoopFiresByItself(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate(t, "soon", func(in *awsscheduler.CreateScheduleInput) {
		in.ScheduleExpression = aws.String("at(2026-01-01T10:03:00)")
	})
	e.advanceUntil(t, "the loop's delivery of at(10:03)", func() bool { return e.targets.count() == 1 })
	if now := e.clock.Now(); now.Before(time.Date(2026, 1, 1, 10, 3, 0, 0, time.UTC)) {
		t.Errorf("fired at %v, before its time", now)
	}
}

// TestDisabledSchedulesDoNotFire, and fire again once enabled.
func TestDisabledSchedulesDoNotFire(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	off := func(in *awsscheduler.CreateScheduleInput) { in.State = types.ScheduleStateDisabled }
	e.mustCreate(t, "rate-off", func(in *awsscheduler.CreateScheduleInput) {
		off(in)
		in.ScheduleExpression = aws.String("rate(1 minute)")
	})
	e.mustCreate(t, "at-off", func(in *awsscheduler.CreateScheduleInput) {
		off(in)
		in.ScheduleExpression = aws.String("at(2026-01-01T10:02:00)")
	})
	e.mustCreate(t, "cron-off", func(in *awsscheduler.CreateScheduleInput) {
		off(in)
		in.ScheduleExpression = aws.String("cron(* * * * ? *)")
	})
	for range 5 {
		e.step(time.Minute)
	}
	e.targets.none(t, "every schedule is DISABLED")

	if _, err := e.c.UpdateSchedule(ctx, &awsscheduler.UpdateScheduleInput{
		Name: aws.String("rate-off"), ScheduleExpression: aws.String("rate(1 minute)"), State: types.ScheduleStateEnabled,
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target:             &types.Target{Arn: aws.String(fnARN), RoleArn: aws.String(roleARN), Input: aws.String(`{"on":true}`)},
	}); err != nil {
		t.Fatal(err)
	}
	e.step(time.Minute)
	if c := e.targets.next(t); c.input != `{"on":true}` {
		t.Errorf("after enabling: delivered %+v", c)
	}
}

// TestCronFiresInItsTimeZone: 09:00 in New York is 14:00 UTC in January.
func TestCronFiresInItsTimeZone(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate(t, "nine", func(in *awsscheduler.CreateScheduleInput) {
		in.ScheduleExpression = aws.String("cron(0 9 * * ? *)")
		in.ScheduleExpressionTimezone = aws.String("America/New_York")
	})
	e.step(3*time.Hour + 59*time.Minute) // 13:59 UTC
	e.targets.none(t, "at 08:59 in New York")
	e.step(time.Minute)
	e.targets.next(t)
	if d := e.lastDelivery(t, "default/nine"); !d.ScheduledTime.Equal(time.Date(2026, 1, 1, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("scheduled time = %v, want 14:00 UTC", d.ScheduledTime)
	}
}

// TestOneTimeScheduleFiresOnce: at() fires at its time and never again;
// ActionAfterCompletion DELETE removes it after that invocation, NONE keeps
// it.
func TestOneTimeScheduleFiresOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for _, action := range []types.ActionAfterCompletion{types.ActionAfterCompletionDelete, types.ActionAfterCompletionNone} {
		e.mustCreate(t, "once-"+strings.ToLower(string(action)), func(in *awsscheduler.CreateScheduleInput) {
			in.ScheduleExpression = aws.String("at(2026-01-01T10:02:00)")
			in.ActionAfterCompletion = action
		})
	}
	e.step(time.Minute)
	e.targets.none(t, "a minute before at(10:02)")
	e.step(time.Minute)
	e.targets.next(t)
	e.targets.next(t)
	e.lastDelivery(t, "default/once-delete")
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("once-delete")})
		if err != nil {
			apiError(t, err, "ResourceNotFoundException", 404, "does not exist")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the DELETE schedule is still there after its invocation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("once-none")}); err != nil {
		t.Errorf("the NONE schedule after its invocation: %v", err)
	}
	for range 3 {
		e.step(time.Hour)
	}
	e.targets.none(t, "at() fired already")
}

// TestRetryPolicy: failures are retried with backoff up to
// MaximumRetryAttempts and within MaximumEventAgeInSeconds; a permanent
// failure and a role that cannot be assumed are not retried; the
// dead-letter queue is reported.
func TestRetryPolicy(t *testing.T) {
	at := func(retries, age int32, dlq bool) func(*awsscheduler.CreateScheduleInput) {
		return func(in *awsscheduler.CreateScheduleInput) {
			in.ScheduleExpression = aws.String("at(2026-01-01T10:01:00)")
			in.Target.RetryPolicy = &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(retries), MaximumEventAgeInSeconds: aws.Int32(age)}
			if dlq {
				in.Target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}
			}
		}
	}
	t.Run("retried until delivered", func(t *testing.T) {
		e := newEnv(t, nil)
		e.targets.failFirst = 2
		e.mustCreate(t, "flaky", at(5, 3600, false))
		e.step(time.Minute)
		e.advanceUntil(t, "three attempts", func() bool { return e.targets.count() >= 3 })
		if d := e.lastDelivery(t, "default/flaky"); d.Status != scheduler.Delivered || d.Attempts != 3 {
			t.Errorf("delivery = %+v, want delivered on attempt 3", d)
		}
	})
	t.Run("no retries, dead letter reported", func(t *testing.T) {
		e := newEnv(t, nil)
		e.targets.err = errors.New("target down")
		e.mustCreate(t, "down", at(0, 3600, true))
		e.step(time.Minute)
		d := e.lastDelivery(t, "default/down")
		if d.Status != scheduler.Failed || d.Attempts != 1 || d.DeadLetter != "arn:aws:sqs:us-east-1:000000000000:dlq" || d.Error != "target down" {
			t.Errorf("delivery = %+v", d)
		}
	})
	t.Run("retries stop at the event's maximum age", func(t *testing.T) {
		e := newEnv(t, nil)
		e.targets.err = errors.New("target down")
		e.mustCreate(t, "aging", at(185, 60, false))
		e.step(time.Minute)
		var d scheduler.Delivery
		e.advanceUntil(t, "giving up", func() bool {
			ds := e.svc.Deliveries()
			if len(ds) == 0 {
				return false
			}
			d = ds[len(ds)-1]
			return true
		})
		// Backoff 1, 2, 4, 8, 16 s; the next wait of 32 s would pass 60 s.
		if d.Status != scheduler.Failed || d.Attempts != 6 || !strings.Contains(d.Error, "MaximumEventAgeInSeconds 60") {
			t.Errorf("delivery = %+v, want 6 attempts and the age named", d)
		}
	})
	t.Run("permanent failures are not retried", func(t *testing.T) {
		e := newEnv(t, nil)
		e.targets.err = scheduler.Permanent(errors.New("no such function"))
		e.mustCreate(t, "gone", at(185, 86400, false))
		e.step(time.Minute)
		if d := e.lastDelivery(t, "default/gone"); d.Attempts != 1 || d.Status != scheduler.Failed {
			t.Errorf("delivery = %+v, want one attempt", d)
		}
	})
	t.Run("a role that cannot be assumed", func(t *testing.T) {
		e := newEnv(t, nil)
		e.mustCreate(t, "norole", func(in *awsscheduler.CreateScheduleInput) {
			at(185, 86400, false)(in)
			in.Target.RoleArn = aws.String("arn:aws:iam::000000000000:role/untrusted")
		})
		e.step(time.Minute)
		d := e.lastDelivery(t, "default/norole")
		if d.Status != scheduler.Failed || d.Attempts != 1 || !strings.Contains(d.Error, "cannot assume the role arn:aws:iam::000000000000:role/untrusted") {
			t.Errorf("delivery = %+v", d)
		}
		if e.targets.count() != 0 {
			t.Error("the target was called without the role")
		}
	})
}

// TestFireNow: Fire delivers at once and synchronously, spends a one-time
// schedule and applies its ActionAfterCompletion.
func TestFireNow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.mustCreate(t, "later", func(in *awsscheduler.CreateScheduleInput) {
		in.ScheduleExpression = aws.String("at(2027-01-01T00:00:00)")
		in.ActionAfterCompletion = types.ActionAfterCompletionDelete
	})
	d, err := e.svc.Fire(ctx, "", "later")
	if err != nil || d.Status != scheduler.Delivered || d.Input != `{"run":"later"}` {
		t.Fatalf("Fire = %+v, %v", d, err)
	}
	_, err = e.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("later")})
	apiError(t, err, "ResourceNotFoundException", 404, "Schedule later does not exist.")
	if _, err := e.svc.Fire(ctx, "default", "later"); !errors.Is(err, scheduler.ErrNoSchedule) {
		t.Errorf("Fire of a missing schedule = %v, want ErrNoSchedule", err)
	}
	e.targets.err = errors.New("target down")
	e.mustCreate(t, "failing", nil)
	if d, err := e.svc.Fire(ctx, "", "failing"); err == nil || d.Status != scheduler.Failed {
		t.Errorf("Fire of a failing target = %+v, %v", d, err)
	}
}

// TestCloseAndResetStopDeliveries: a delivery blocked in its target ends
// when the service closes or resets, and no goroutine is left behind.
func TestCloseAndResetStopDeliveries(t *testing.T) {
	e := newEnv(t, nil)
	e.targets.block = make(chan struct{})
	e.mustCreate(t, "stuck", nil)
	e.svc.FireDue()
	e.targets.next(t)
	e.svc.Reset()
	out, err := e.c.ListSchedules(context.Background(), &awsscheduler.ListSchedulesInput{})
	if err != nil || len(out.Schedules) != 0 {
		t.Errorf("schedules after Reset = %+v, %v", out, err)
	}
	if _, err := e.c.GetScheduleGroup(context.Background(), &awsscheduler.GetScheduleGroupInput{Name: aws.String("default")}); err != nil {
		t.Errorf("default group after Reset: %v", err)
	}

	e.mustCreate(t, "stuck-again", nil)
	e.svc.FireDue()
	e.targets.next(t)
	done := make(chan error, 1)
	go func() { done <- e.svc.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited on a blocked delivery")
	}
	if err := e.svc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Nothing of the service runs any more: no loop, no delivery.
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "scheduler.(*Service)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of the service left after Close:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStatePersists: groups, tags and schedules come back after a restart
// on the same data dir, and an at() whose time passed meanwhile fires once.
func TestStatePersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newClock("2026-01-01T10:00:00Z")
	withDir := func(o *scheduler.Options) { o.DataDir, o.Clock = dir, clock }
	first := newEnv(t, withDir)
	if _, err := first.c.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{Name: aws.String("kept"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	first.mustCreate(t, "nightly", func(in *awsscheduler.CreateScheduleInput) {
		in.GroupName = aws.String("kept")
		in.ScheduleExpression = aws.String("cron(0 2 * * ? *)")
	})
	first.mustCreate(t, "missed", func(in *awsscheduler.CreateScheduleInput) {
		in.ScheduleExpression = aws.String("at(2026-01-01T10:30:00)")
	})
	if err := first.svc.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour) // down past the at() time
	second := newEnv(t, func(o *scheduler.Options) { withDir(o); o.Targets = nil })
	second.targets = first.targets
	got, err := second.c.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("nightly"), GroupName: aws.String("kept")})
	if err != nil || aws.ToString(got.ScheduleExpression) != "cron(0 2 * * ? *)" || !got.CreationDate.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("schedule after restart = %+v, %v", got, err)
	}
	tags, err := second.c.ListTagsForResource(ctx, &awsscheduler.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:scheduler:us-east-1:000000000000:schedule-group/kept")})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("tags after restart = %+v, %v", tags, err)
	}
	second.svc.FireDue()
	if d := second.lastDelivery(t, "default/missed"); d.Attempts != 1 || !strings.Contains(d.Error, "delivers to no targets") {
		t.Errorf("the missed at() after restart: %+v", d)
	}
	second.step(time.Hour)
	if n := len(second.svc.Deliveries()); n != 1 {
		t.Errorf("%d deliveries after restart, want the missed at() once", n)
	}
}
