package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/scheduler"
)

// schedulerTargets are the kinds of target EventBridge Scheduler delivers
// to, by the service in the target's ARN. A new kind is one entry here.
func (e *Emulator) schedulerTargets() targetRouter {
	return targetRouter{
		"lambda": e.invokeLambdaTarget,
		"states": e.startExecutionTarget,
	}
}

// wireScheduler starts EventBridge Scheduler, which assumes roles in IAM
// and delivers to the services of schedulerTargets. Lambda must be wired.
func (e *Emulator) wireScheduler() error {
	svc, err := scheduler.New(scheduler.Options{
		DataDir: e.dataDir("scheduler"),
		Region:  e.opts.Region,
		Roles:   schedulerRoles{roleTrust{e.iam}},
		Targets: e.schedulerTargets(),
		Logf:    e.logf("scheduler"),
	})
	if err != nil {
		return err
	}
	e.scheduler = svc
	return nil
}

// Scheduler is the emulated EventBridge Scheduler, for tests that look
// inside it.
func (e *Emulator) Scheduler() *scheduler.Service { return e.scheduler }

// targetRouter delivers a scheduled invocation to the emulated service the
// target ARN names; a target of any other service fails, and is not retried.
type targetRouter map[string]func(ctx context.Context, targetARN, input string) error

func (t targetRouter) Deliver(ctx context.Context, targetARN, _, input string) error {
	service := ""
	if parts := strings.SplitN(targetARN, ":", 4); len(parts) == 4 && parts[0] == "arn" {
		service = parts[2]
	}
	deliver, ok := t[service]
	if !ok {
		kinds := make([]string, 0, len(t))
		for k := range t {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		return scheduler.Permanent(fmt.Errorf("the emulator delivers scheduled invocations to %s targets, not to %s", strings.Join(kinds, ", "), targetARN))
	}
	return deliver(ctx, targetARN, input)
}

// invokeLambdaTarget invokes a function asynchronously with the schedule's
// Input, as Scheduler's templated Lambda target does. Lambda's client errors
// (no such function, bad payload) are not retried; its throttling, a
// function still Pending (409) and its 500s are.
func (e *Emulator) invokeLambdaTarget(_ context.Context, arn, input string) error {
	payload := []byte(input)
	if input == "" {
		payload = []byte("{}")
	}
	_, err := e.lambdaSvc.InvokeAsync(arn, payload)
	var ae *awsproto.Error
	if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusConflict {
		return scheduler.Permanent(err)
	}
	return err
}

// startExecutionTarget starts an execution of a state machine with the
// schedule's Input, as Scheduler's templated Step Functions target does:
// Scheduler names the execution. A missing machine or an input it refuses
// is not retried; anything else (throttling, a 500) is.
func (e *Emulator) startExecutionTarget(_ context.Context, arn, input string) error {
	if input == "" {
		input = "{}"
	}
	_, _, err := e.sfn.StartExecution(arn, "", input)
	var ae *awsproto.Error
	if errors.As(err, &ae) && ae.Status < 500 && ae.Code != "ThrottlingException" {
		return scheduler.Permanent(err)
	}
	return err
}

// schedulerRoles is IAM as Scheduler sees it: a target's role must exist and
// trust scheduler.amazonaws.com.
type schedulerRoles struct{ roles roleTrust }

func (r schedulerRoles) CheckRole(roleARN string) error {
	if !r.roles.AssumableBy(roleARN, "scheduler.amazonaws.com") {
		return errors.New("it does not exist in IAM, or its trust policy does not let scheduler.amazonaws.com assume it")
	}
	return nil
}
