package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Delivery is one invocation of a schedule's target, as the service
// records it on the schedule and in Deliveries.
type Delivery struct {
	Schedule      string    `json:"schedule"` // group/name
	ScheduledTime time.Time `json:"scheduled_time"`
	Target        string    `json:"target"`
	RoleArn       string    `json:"role_arn"`
	Input         string    `json:"input"`
	Attempts      int       `json:"attempts"`
	// Status is delivered or failed.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// DeadLetter is the dead-letter queue the failed event would have gone
	// to; the emulator has no SQS and only reports it.
	DeadLetter string    `json:"dead_letter,omitempty"`
	Finished   time.Time `json:"finished"`
}

// Delivery statuses.
const (
	Delivered = "delivered"
	Failed    = "failed"
)

// permanentError is a delivery failure that retrying cannot mend.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks a delivery error as one not to retry, such as a target
// kind the emulator does not deliver to or a function that does not exist.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// maxWait bounds how long the loop sleeps with nothing due: a clock that
// jumps (a suspended laptop) is noticed within it.
const maxWait = time.Minute

// loop fires each enabled schedule when it is due, until Close.
func (s *Service) loop() {
	defer close(s.loopDone)
	for {
		wait := s.fireDue(s.clock.Now())
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-s.clock.After(wait):
		}
	}
}

// fireDue starts the delivery of every enabled schedule due at now and
// moves it to its next time; it returns how long until the next is due.
// A schedule that fell behind (the emulator was down) fires once, not once
// per missed time. A disabled schedule's times pass without firing.
func (s *Service) fireDue(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return maxWait
	}
	wait := maxWait
	changed := false
	for _, sc := range s.schedules {
		if sc.Next.IsZero() {
			continue
		}
		if sc.Next.After(now) {
			wait = min(wait, sc.Next.Sub(now))
			continue
		}
		due := sc.Next
		next, ok := sc.timing.Next(now)
		sc.Next = time.Time{}
		if ok {
			sc.Next = next
			wait = min(wait, next.Sub(now))
		}
		changed = true
		if sc.State != "ENABLED" {
			continue
		}
		s.startDelivery(sc, due, !ok)
	}
	if changed {
		s.saveLocked()
	}
	return max(wait, time.Millisecond)
}

// startDelivery delivers sc's invocation for due in the background, with
// retries; last says it is the schedule's final invocation, after which
// ActionAfterCompletion applies. Holds s.mu.
func (s *Service) startDelivery(sc *schedule, due time.Time, last bool) {
	d := s.newDelivery(sc, due)
	ctx, gen, key, rp, dlq := s.ctx, sc.gen, sc.key(), *sc.Target.RetryPolicy, sc.Target.DeadLetterConfig
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		s.deliverWithRetries(ctx, &d, rp)
		if d.Status == Failed && dlq != nil && dlq.Arn != nil {
			d.DeadLetter = *dlq.Arn
		}
		s.finish(key, gen, d, last)
	}()
}

func (s *Service) newDelivery(sc *schedule, due time.Time) Delivery {
	return Delivery{
		Schedule: sc.key(), ScheduledTime: due, Target: deref(sc.Target.Arn, ""),
		RoleArn: deref(sc.Target.RoleArn, ""), Input: deref(sc.Target.Input, ""),
	}
}

// deliverWithRetries tries the delivery, then retries it with exponential
// backoff while the retry policy allows: at most MaximumRetryAttempts
// retries, none once the event is older than MaximumEventAgeInSeconds.
func (s *Service) deliverWithRetries(ctx context.Context, d *Delivery, rp retryPolicy) {
	maxAge := time.Duration(deref(rp.MaximumEventAgeInSeconds, defaultEventAge)) * time.Second
	retries := deref(rp.MaximumRetryAttempts, defaultRetries)
	backoff := s.opts.RetryBase
	for {
		err := s.attempt(ctx, d)
		if err == nil || IsPermanent(err) || ctx.Err() != nil || d.Attempts > retries {
			return
		}
		wait := min(backoff, 5*time.Minute)
		if s.clock.Now().Add(wait).Sub(d.ScheduledTime) > maxAge {
			d.Error += fmt.Sprintf(" (no retry: the event would be older than MaximumEventAgeInSeconds %d)", int(maxAge/time.Second))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(wait):
		}
		backoff *= 2
	}
}

// attempt makes one delivery: assume the role, then hand the target its
// input. It records the outcome in d.
func (s *Service) attempt(ctx context.Context, d *Delivery) error {
	d.Attempts++
	err := s.deliver(ctx, d.Target, d.RoleArn, d.Input)
	d.Finished = s.clock.Now()
	if err != nil {
		d.Status, d.Error = Failed, err.Error()
		s.opts.Logf("scheduler: %s: delivery %d to %s failed: %v", d.Schedule, d.Attempts, d.Target, err)
		return err
	}
	d.Status, d.Error = Delivered, ""
	s.opts.Logf("scheduler: %s: delivered to %s", d.Schedule, d.Target)
	return nil
}

func (s *Service) deliver(ctx context.Context, targetARN, roleARN, input string) error {
	if s.opts.Roles != nil {
		if err := s.opts.Roles.CheckRole(roleARN); err != nil {
			return Permanent(fmt.Errorf("EventBridge Scheduler cannot assume the role %s: %w", roleARN, err))
		}
	}
	if s.opts.Targets == nil {
		return Permanent(fmt.Errorf("the emulator delivers to no targets"))
	}
	return s.opts.Targets.Deliver(ctx, targetARN, roleARN, input)
}

// finish records a delivery on its schedule and in the log, then deletes a
// completed schedule whose ActionAfterCompletion is DELETE, unless it
// changed meanwhile.
func (s *Service) finish(key string, gen int, d Delivery, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(d)
	sc, ok := s.schedules[key]
	if !ok || sc.gen != gen {
		return
	}
	sc.LastDelivery = &d
	if last && sc.ActionAfterCompletion == "DELETE" {
		delete(s.schedules, key)
		s.opts.Logf("scheduler: %s: deleted after its last invocation (ActionAfterCompletion DELETE)", key)
	}
	s.saveLocked()
}

// record adds d to the delivery log. Holds s.mu.
func (s *Service) record(d Delivery) {
	s.deliveries = append(s.deliveries, d)
	if len(s.deliveries) > maxDeliveries {
		s.deliveries = s.deliveries[len(s.deliveries)-maxDeliveries:]
	}
}

// Deliveries returns the latest deliveries, oldest first.
func (s *Service) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// ErrNoSchedule is Fire's answer for a schedule that does not exist.
var ErrNoSchedule = errors.New("no such schedule")

// Fire delivers one invocation of a schedule now, synchronously, with one
// attempt and whatever its state: the test's way to run a schedule without
// waiting for it. A one-time schedule's invocation is then spent (and
// ActionAfterCompletion applies); a recurring schedule keeps its times. The
// error is the delivery's failure, or ErrNoSchedule.
func (s *Service) Fire(ctx context.Context, group, name string) (Delivery, error) {
	if group == "" {
		group = defaultGroup
	}
	s.mu.Lock()
	sc, ok := s.schedules[group+"/"+name]
	if !ok {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("%w: %s in group %s", ErrNoSchedule, name, group)
	}
	d := s.newDelivery(sc, s.clock.Now())
	key, gen, oneTime, dlq := sc.key(), sc.gen, sc.timing.Expr.OneTime(), sc.Target.DeadLetterConfig
	if oneTime {
		sc.Next = time.Time{}
	}
	s.mu.Unlock()
	err := s.attempt(ctx, &d)
	if err != nil && dlq != nil && dlq.Arn != nil {
		d.DeadLetter = *dlq.Arn
	}
	s.finish(key, gen, d, oneTime)
	return d, err
}
