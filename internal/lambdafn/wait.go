package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

type retryableFunc = func(context.Context, *lambda.GetFunctionInput, *lambda.GetFunctionOutput, error) (bool, error)

// observe wraps a waiter's own state rules: it keeps the last output, so a
// failure can carry Lambda's reason, and keeps waiting through throttling,
// which would otherwise end the wait once the SDK retryer gives up.
func observe(last **lambda.GetFunctionOutput, next retryableFunc) retryableFunc {
	return func(ctx context.Context, in *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
		if err == nil && out != nil {
			*last = out
		}
		if err != nil && classify(err)&retryThrottle != 0 && ctx.Err() == nil {
			return true, nil
		}
		return next(ctx, in, out, err)
	}
}

// waitActive waits for State Active (from Pending, or Inactive waking up).
func (c *Client) waitActive(ctx context.Context, name string) (*lambda.GetFunctionOutput, error) {
	var last *lambda.GetFunctionOutput
	w := lambda.NewFunctionActiveV2Waiter(c.api, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opts.WaiterMinDelay, c.opts.WaiterMaxDelay
		o.Retryable = observe(&last, o.Retryable)
	})
	max := c.waitFor(ctx)
	out, err := w.WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, max)
	if err != nil {
		return nil, waitError(name, "become Active", max, last, err)
	}
	return out, nil
}

// waitUpdated waits for LastUpdateStatus Successful.
func (c *Client) waitUpdated(ctx context.Context, name string) (*lambda.GetFunctionOutput, error) {
	var last *lambda.GetFunctionOutput
	w := lambda.NewFunctionUpdatedV2Waiter(c.api, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opts.WaiterMinDelay, c.opts.WaiterMaxDelay
		o.Retryable = observe(&last, o.Retryable)
	})
	max := c.waitFor(ctx)
	out, err := w.WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, max)
	if err != nil {
		return nil, waitError(name, "finish updating", max, last, err)
	}
	return out, nil
}

// waitIdle waits until the function accepts changes again: no update in
// progress and not Pending.
func (c *Client) waitIdle(ctx context.Context, name string) error {
	out, err := c.waitUpdated(ctx, name)
	if err != nil {
		return err
	}
	if out.Configuration != nil && out.Configuration.State == "Pending" {
		_, err = c.waitActive(ctx, name)
	}
	return err
}

// waitFor is the waiter's budget: what is left of ctx, else WaitTimeout.
func (c *Client) waitFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		// The SDK rejects a budget <= 0; the expired ctx then ends the wait.
		return max(time.Until(dl), time.Millisecond)
	}
	return c.opts.WaitTimeout
}

// waitError turns a waiter's error into one that says what the function was
// doing and why, with Lambda's own reason when it has given one.
func waitError(name, goal string, budget time.Duration, last *lambda.GetFunctionOutput, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("waiting for Lambda function %q to %s: %w", name, goal, &apiError{err: err})
	}
	fn := &Function{}
	if last != nil {
		fn = toFunction(last)
	}
	switch {
	case fn.State == "Failed":
		return fmt.Errorf("Lambda function %q failed to %s: state Failed: %s", name, goal, orUnknown(fn.StateReason))
	case fn.LastUpdateStatus == "Failed":
		return fmt.Errorf("Lambda function %q failed to %s: last update Failed: %s", name, goal, orUnknown(fn.LastUpdateStatusReason))
	}
	seen := "never read"
	if last != nil {
		seen = fmt.Sprintf("state %s, last update %s", orUnknown(fn.State), orUnknown(fn.LastUpdateStatus))
		if r := fn.StateReason + fn.LastUpdateStatusReason; r != "" {
			seen += ": " + r
		}
	}
	return fmt.Errorf("Lambda function %q did not %s within %s (%s): %w", name, goal, budget.Round(time.Second), seen, err)
}

func orUnknown(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
