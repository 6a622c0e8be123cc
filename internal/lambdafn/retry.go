package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// ErrNotFound matches (errors.Is) any error of this package that Lambda
// answered with ResourceNotFoundException.
var ErrNotFound = errors.New("Lambda function not found")

// ErrAlreadyExists matches a Create that failed because a function of that
// name exists, so a caller can point at import instead.
var ErrAlreadyExists = errors.New("Lambda function already exists")

// retryable is a set of transient failures a call may be repeated for.
type retryable uint8

const (
	// retryThrottle: TooManyRequestsException once the SDK retryer gave up.
	retryThrottle retryable = 1 << iota
	// retryIAM: a role Lambda cannot use yet because IAM is eventually
	// consistent; only meaningful for calls that pass a role.
	retryIAM
	// retryConflict: ResourceConflictException from an update in progress;
	// wait for it to finish, then repeat.
	retryConflict
	// retryNotReady: an invoke of a function that is Pending or Inactive;
	// wait for Active, then repeat.
	retryNotReady
)

// IAM messages seen while a new role (or a policy just attached to it)
// propagates; the AWS provider retries on the same ones.
var iamPropagationMessages = []string{
	"cannot be assumed by Lambda",
	"execution role does not have permissions",
}

// classify says which transient failure err is, or 0 when it is final.
func classify(err error) retryable {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return 0
	}
	msg := ae.ErrorMessage()
	switch ae.ErrorCode() {
	case "TooManyRequestsException":
		return retryThrottle
	case "InvalidParameterValueException":
		for _, m := range iamPropagationMessages {
			if strings.Contains(msg, m) {
				return retryIAM
			}
		}
	case "ResourceNotReadyException":
		return retryNotReady
	case "ResourceConflictException":
		// An invoke of a Pending or Inactive function is rejected with a
		// conflict that names the state; anything else is an update in
		// progress. "already exist" is final and never matches here because
		// CreateFunction does not retry conflicts.
		if strings.Contains(msg, "Pending") || strings.Contains(msg, "Inactive") {
			return retryNotReady | retryConflict
		}
		// Any other state named (Failed) will not pass by waiting.
		if strings.Contains(msg, "following state") {
			return 0
		}
		return retryConflict
	}
	return 0
}

// call repeats fn while it fails with one of the transient failures in
// allowed, within bounds: MaxAttempts for throttling, conflicts and readiness,
// IAMPropagationTimeout for IAM. ctx ends it at any point.
func (c *Client) call(ctx context.Context, name string, allowed retryable, fn func() error) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		kind := classify(err) & allowed
		switch {
		case kind == 0:
			return &apiError{err: err}
		case kind == retryIAM:
			if time.Since(start) >= c.opts.IAMPropagationTimeout {
				return &apiError{err: err, note: fmt.Sprintf("still rejected after %s; check that the role exists and its trust policy allows lambda.amazonaws.com", c.opts.IAMPropagationTimeout.Round(time.Second))}
			}
		case attempt >= c.opts.MaxAttempts:
			return &apiError{err: err, note: fmt.Sprintf("still failing after %d attempts", attempt)}
		}
		var werr error
		switch {
		case kind&retryNotReady != 0:
			_, werr = c.waitActive(ctx, name)
		case kind&retryConflict != 0:
			werr = c.waitIdle(ctx, name)
		}
		if werr != nil {
			return errors.Join(&apiError{err: err}, werr)
		}
		// Once the function was waited for, go again at once; back off only
		// if that was not enough, so that a conflict the waiters cannot see
		// does not become a tight loop.
		if kind&(retryNotReady|retryConflict) != 0 && attempt == 1 {
			continue
		}
		if serr := sleep(ctx, c.backoff(attempt)); serr != nil {
			return &apiError{err: err, note: "gave up: " + serr.Error()}
		}
	}
}

// backoff is exponential with jitter in [d/2, d], capped at RetryMaxDelay.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.RetryMinDelay << min(attempt-1, 20)
	if d <= 0 || d > c.opts.RetryMaxDelay {
		d = c.opts.RetryMaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiError wraps an SDK error so that its message is AWS's code and reason
// rather than the SDK's operation/HTTP preamble, while errors.As still
// reaches the typed exception.
type apiError struct {
	err  error
	note string // why retrying stopped, if it did
}

func (e *apiError) Error() string {
	msg := e.err.Error()
	var ae smithy.APIError
	if errors.As(e.err, &ae) {
		msg = ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	if e.note != "" {
		msg += " (" + e.note + ")"
	}
	return msg
}

func (e *apiError) Unwrap() error { return e.err }

func (e *apiError) Is(target error) bool {
	var ae smithy.APIError
	if !errors.As(e.err, &ae) {
		return false
	}
	switch target {
	case ErrNotFound:
		return ae.ErrorCode() == "ResourceNotFoundException"
	case ErrAlreadyExists:
		return ae.ErrorCode() == "ResourceConflictException" && strings.Contains(ae.ErrorMessage(), "already exist")
	}
	return false
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
