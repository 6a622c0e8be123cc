package scheduler_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/scheduler"
)

const (
	fnARN   = "arn:aws:lambda:us-east-1:000000000000:function:train"
	roleARN = "arn:aws:iam::000000000000:role/scheduler-invoke"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newClock(start string) *fakeClock {
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		panic(err)
	}
	return &fakeClock{now: t}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock and wakes whoever waits for a time now past.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// fakeTargets records deliveries and fails as told.
type fakeTargets struct {
	mu        sync.Mutex
	got       []call
	failFirst int   // fail this many attempts with a retryable error
	err       error // when set, every attempt fails with it
	block     chan struct{}
	calls     chan call
}

type call struct{ target, role, input string }

func newTargets() *fakeTargets { return &fakeTargets{calls: make(chan call, 100)} }

func (f *fakeTargets) Deliver(ctx context.Context, target, role, input string) error {
	f.mu.Lock()
	c := call{target, role, input}
	f.got = append(f.got, c)
	n, err, block := len(f.got), f.err, f.block
	f.mu.Unlock()
	f.calls <- c
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	switch {
	case err != nil:
		return err
	case n <= f.failFirst:
		return errors.New("target busy")
	}
	return nil
}

func (f *fakeTargets) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// next waits for the next delivery attempt.
func (f *fakeTargets) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
		return call{}
	}
}

// none checks that no delivery attempt comes within a short while.
func (f *fakeTargets) none(t *testing.T, why string) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Fatalf("%s, yet %s was delivered %q", why, c.target, c.input)
	case <-time.After(150 * time.Millisecond):
	}
}

// roles trusts every role but one.
type roles struct{}

func (roles) CheckRole(arn string) error {
	if strings.HasSuffix(arn, "/untrusted") {
		return errors.New("its trust policy does not allow scheduler.amazonaws.com")
	}
	return nil
}

type env struct {
	svc     *scheduler.Service
	c       *awsscheduler.Client
	clock   *fakeClock
	targets *fakeTargets
	url     string
}

func (e *env) endpoint() string { return e.url }

func newEnv(t *testing.T, tweak func(*scheduler.Options)) *env {
	t.Helper()
	e := &env{clock: newClock("2026-01-01T10:00:00Z"), targets: newTargets()}
	opts := scheduler.Options{Region: "us-east-1", Roles: roles{}, Targets: e.targets, Clock: e.clock, RetryBase: time.Second, Logf: t.Logf}
	if tweak != nil {
		tweak(&opts)
	}
	svc, err := scheduler.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	srv := httptest.NewServer(svc)
	e.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		if err := svc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e.c = awsscheduler.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	})
	return e
}

// create makes a schedule from a valid base that mutate edits.
func (e *env) create(t *testing.T, name string, mutate func(*awsscheduler.CreateScheduleInput)) (*awsscheduler.CreateScheduleOutput, error) {
	t.Helper()
	in := &awsscheduler.CreateScheduleInput{
		Name:               aws.String(name),
		ScheduleExpression: aws.String("rate(5 minutes)"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target:             &types.Target{Arn: aws.String(fnARN), RoleArn: aws.String(roleARN), Input: aws.String(`{"run":"` + name + `"}`)},
	}
	if mutate != nil {
		mutate(in)
	}
	return e.c.CreateSchedule(context.Background(), in)
}

func (e *env) mustCreate(t *testing.T, name string, mutate func(*awsscheduler.CreateScheduleInput)) string {
	t.Helper()
	out, err := e.create(t, name, mutate)
	if err != nil {
		t.Fatalf("CreateSchedule %s: %v", name, err)
	}
	return aws.ToString(out.ScheduleArn)
}

// apiError checks err is the service's code and status and its message
// holds want.
func apiError(t *testing.T, err error, code string, status int, want string) {
	t.Helper()
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("err = %v, want %s %d", err, code, status)
	}
	if ae.ErrorCode() != code || re.HTTPStatusCode() != status || !strings.Contains(ae.ErrorMessage(), want) {
		t.Errorf("got %s %d %q, want %s %d containing %q", ae.ErrorCode(), re.HTTPStatusCode(), ae.ErrorMessage(), code, status, want)
	}
}

func names(list []types.ScheduleSummary) []string {
	var out []string
	for _, s := range list {
		out = append(out, aws.ToString(s.GroupName)+"/"+aws.ToString(s.Name))
	}
	sort.Strings(out)
	return out
}
