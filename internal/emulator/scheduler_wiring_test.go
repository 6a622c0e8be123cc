package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
)

const schedulerTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func createRoleWith(t *testing.T, c *awsiam.Client, name, trust string) string {
	t.Helper()
	out, err := c.CreateRole(context.Background(), &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	return aws.ToString(out.Role.Arn)
}

func atIn(d time.Duration) string {
	return "at(" + time.Now().UTC().Add(d).Format("2006-01-02T15:04:05") + ")"
}

func schedule(name, expr, target, role, input string) *awsscheduler.CreateScheduleInput {
	return &awsscheduler.CreateScheduleInput{
		Name:               aws.String(name),
		ScheduleExpression: aws.String(expr),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target:             &schedtypes.Target{Arn: aws.String(target), RoleArn: aws.String(role), Input: aws.String(input)},
	}
}

type fired struct {
	Delivery struct {
		Schedule string
		Target   string
		Input    string
		Attempts int
		Status   string
		Error    string
	}
	Error string
}

func fire(t *testing.T, e *emulator.Emulator, query string) (int, fired) {
	t.Helper()
	status, body := adminDo(t, e, http.MethodPost, "/_emulator/scheduler/fire?"+query, "")
	var f fired
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("fire %s = %d %s", query, status, body)
	}
	return status, f
}

// TestSchedulerWiring checks what the root gives EventBridge Scheduler:
// IAM's roles (which must trust scheduler.amazonaws.com), Lambda as a
// target and a failure for targets it does not deliver to, the admin fire
// and deliveries endpoints, Scheduler's own throttling and internal errors
// as faults, the request log, health and reset. No function runs here;
// TestSchedulerFiresALambdaOnTheRealClock runs one.
func TestSchedulerWiring(t *testing.T) {
	ctx := context.Background()
	e := emulatortest.Start(t)
	cfg := emulatortest.Config(t, e)
	ic := awsiam.NewFromConfig(cfg)
	invoke := createRoleWith(t, ic, "scheduler-invoke", schedulerTrust)
	lambdaOnly := createRoleWith(t, ic, "lambda-only", lambdaTrust)
	sc := awsscheduler.NewFromConfig(cfg)
	ghost := "arn:aws:lambda:us-east-1:000000000000:function:ghost"
	for _, in := range []*awsscheduler.CreateScheduleInput{
		schedule("no-function", "rate(1 day)", ghost, invoke, `{}`),
		schedule("untrusted", "rate(1 day)", ghost, lambdaOnly, `{}`),
		schedule("missing-role", "rate(1 day)", ghost, "arn:aws:iam::000000000000:role/nobody", `{}`),
		schedule("queue", "rate(1 day)", "arn:aws:sqs:us-east-1:000000000000:jobs", invoke, "hello"),
	} {
		in.State = schedtypes.ScheduleStateDisabled // fired by hand only
		if _, err := sc.CreateSchedule(ctx, in); err != nil {
			t.Fatalf("CreateSchedule %s: %v", aws.ToString(in.Name), err)
		}
	}

	cases := []struct{ name, want string }{
		{"no-function", "Function not found: " + ghost},
		{"untrusted", "cannot assume the role " + lambdaOnly + ": it does not exist in IAM, or its trust policy does not let scheduler.amazonaws.com assume it"},
		{"missing-role", "cannot assume the role arn:aws:iam::000000000000:role/nobody: it does not exist in IAM"},
		{"queue", "the emulator delivers scheduled invocations to lambda, states targets, not to arn:aws:sqs:us-east-1:000000000000:jobs"},
	}
	for _, c := range cases {
		status, f := fire(t, e, "name="+c.name)
		if status != http.StatusBadGateway || f.Delivery.Status != "failed" || f.Delivery.Attempts != 1 || !strings.Contains(f.Error, c.want) {
			t.Errorf("fire %s = %d %+v, want 502 failed once with %q", c.name, status, f, c.want)
		}
	}
	if status, f := fire(t, e, "name=nope&group=default"); status != http.StatusNotFound || !strings.Contains(f.Error, "no such schedule") {
		t.Errorf("fire of a missing schedule = %d %+v", status, f)
	}
	if status, _ := adminDo(t, e, http.MethodPost, "/_emulator/scheduler/fire", ""); status != http.StatusBadRequest {
		t.Errorf("fire without a name = %d, want 400", status)
	}
	if status, _ := adminDo(t, e, http.MethodGet, "/_emulator/scheduler/fire?name=queue", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("GET fire = %d, want 405", status)
	}
	status, body := adminDo(t, e, http.MethodGet, "/_emulator/scheduler/deliveries", "")
	var deliveries []map[string]any
	if status != http.StatusOK || json.Unmarshal([]byte(body), &deliveries) != nil || len(deliveries) != len(cases) {
		t.Errorf("deliveries = %d %s", status, body)
	}

	// Faults: Scheduler's own throttling error, which the SDK retries, and
	// its internal error.
	if err := e.SetFaults(emulator.Faults{ThrottleRate: 0.5, Services: []string{"scheduler"}}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := sc.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("queue")}); err != nil {
			t.Fatalf("GetSchedule under throttling: %v", err)
		}
	}
	if n := count(e, func(r emulator.Request) bool {
		return r.Service == "scheduler" && r.Operation == "GetSchedule" && r.Fault == "throttle" && r.Status == http.StatusTooManyRequests
	}); n < 2 {
		t.Errorf("%d throttled GetSchedule logged, want ThrottlingException 429s", n)
	}
	if err := e.SetFaults(emulator.Faults{ErrorRate: 1, Services: []string{"scheduler"}}); err != nil {
		t.Fatal(err)
	}
	_, err := sc.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{})
	var ise *schedtypes.InternalServerException
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ise) || !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("ListSchedules with error_rate 1 = %v, want InternalServerException 500", err)
	}
	if err := e.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}

	if n := count(e, func(r emulator.Request) bool {
		return r.Service == "scheduler" && r.Operation == "CreateSchedule" && r.Status == 200
	}); n != 4 {
		t.Errorf("%d CreateSchedule 200 in the request log, want 4", n)
	}
	if _, body := adminDo(t, e, http.MethodGet, "/_emulator/health", ""); !strings.Contains(body, `"scheduler": "running"`) {
		t.Errorf("health = %s", body)
	}
	if e.Scheduler() == nil {
		t.Error("Scheduler() is nil")
	}

	// An operation the table lacks answers in Scheduler's shape.
	req, _ := http.NewRequest(http.MethodGet, e.URL()+"/schedules/x/history", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/scheduler/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("unknown Scheduler operation = %s %s", resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}

	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	list, err := sc.ListSchedules(ctx, &awsscheduler.ListSchedulesInput{})
	if err != nil || len(list.Schedules) != 0 {
		t.Errorf("schedules after reset = %+v, %v", list, err)
	}
}

// TestSchedulerPersistsAcrossRestart: groups, tags and schedules are in the
// data dir.
func TestSchedulerPersistsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := emulator.Start(ctx, emulator.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sc := awsscheduler.NewFromConfig(emulatortest.Config(t, first))
	if _, err := sc.CreateScheduleGroup(ctx, &awsscheduler.CreateScheduleGroupInput{Name: aws.String("pipelines"), Tags: []schedtypes.Tag{{Key: aws.String("team"), Value: aws.String("ml")}}}); err != nil {
		t.Fatal(err)
	}
	in := schedule("nightly", "cron(0 2 * * ? *)", "arn:aws:lambda:us-east-1:000000000000:function:train", "arn:aws:iam::000000000000:role/r", `{"n":1}`)
	in.GroupName = aws.String("pipelines")
	in.ScheduleExpressionTimezone = aws.String("Europe/Paris")
	if _, err := sc.CreateSchedule(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := emulatortest.Start(t, emulatortest.WithDataDir(dir))
	sc = awsscheduler.NewFromConfig(emulatortest.Config(t, second))
	got, err := sc.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("nightly"), GroupName: aws.String("pipelines")})
	if err != nil || aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" || aws.ToString(got.Target.Input) != `{"n":1}` {
		t.Fatalf("schedule after restart = %+v, %v", got, err)
	}
	tags, err := sc.ListTagsForResource(ctx, &awsscheduler.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:scheduler:us-east-1:000000000000:schedule-group/pipelines")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "ml" {
		t.Errorf("group tags after restart = %+v, %v", tags, err)
	}
}

// TestSchedulerFiresALambdaOnTheRealClock: an at() schedule two seconds
// ahead fires on the real clock, invokes a real function with its Input
// (the function calls back to the test with it), and is deleted after, as
// its ActionAfterCompletion says; a DISABLED one for the same time does not
// fire.
func TestSchedulerFiresALambdaOnTheRealClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var addr string
	t.Cleanup(func() { emulatortest.RemoveLocalImages(addr) }) // after the emulator's own clean-up
	e := emulatortest.Start(t, emulatortest.NeedDocker())
	addr = e.Addr()
	cfg := emulatortest.Config(t, e)
	ic := awsiam.NewFromConfig(cfg)
	execRole := createRoleWith(t, ic, "fn-exec", lambdaTrust)
	invokeRole := createRoleWith(t, ic, "scheduler-invoke", schedulerTrust)

	uri := emulatortest.PushImage(t, e, "sched/echo", emulatortest.FunctionImage(t, "./lambda/testdata/fn"))
	lc := lambda.NewFromConfig(cfg)
	fn, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("echo"),
		PackageType:  lambdatypes.PackageTypeImage,
		Code:         &lambdatypes.FunctionCode{ImageUri: aws.String(uri)},
		Role:         aws.String(execRole),
		Timeout:      aws.Int32(30),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := lambda.NewFunctionActiveV2Waiter(lc, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo")}, time.Minute); err != nil {
		t.Fatal(err)
	}

	got := make(chan string, 10)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer cb.Close()
	input := func(msg string) string {
		b, _ := json.Marshal(map[string]string{"mode": "callback", "url": cb.URL, "msg": msg})
		return string(b)
	}

	sc := awsscheduler.NewFromConfig(cfg)
	when := atIn(3 * time.Second)
	on := schedule("soon", when, aws.ToString(fn.FunctionArn), invokeRole, input("scheduled"))
	on.ActionAfterCompletion = schedtypes.ActionAfterCompletionDelete
	off := schedule("soon-disabled", when, aws.ToString(fn.FunctionArn), invokeRole, input("disabled"))
	off.State = schedtypes.ScheduleStateDisabled
	for _, in := range []*awsscheduler.CreateScheduleInput{on, off} {
		if _, err := sc.CreateSchedule(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	select {
	case msg := <-got:
		if msg != "scheduled" {
			t.Fatalf("the function called back with %q, want the enabled schedule's Input", msg)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("the function was not invoked by %s; deliveries: %+v", when, e.Scheduler().Deliveries())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := sc.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("soon")})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule with ActionAfterCompletion DELETE is still there: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case msg := <-got:
		t.Errorf("a second callback %q: the DISABLED schedule fired, or the enabled one twice", msg)
	case <-time.After(2 * time.Second):
	}
	if n := e.Lambda().Invocations()["echo"]; n != 1 {
		t.Errorf("echo invoked %d times, want 1", n)
	}
	if _, err := sc.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String("soon-disabled")}); err != nil {
		t.Errorf("the DISABLED schedule: %v", err)
	}
}
