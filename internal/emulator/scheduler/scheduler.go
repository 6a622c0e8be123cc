// Package scheduler emulates Amazon EventBridge Scheduler (API 2021-06-30,
// restJson1, signing name "scheduler"): schedules and schedule groups, and a
// loop that fires each enabled schedule at its times and delivers its Input
// to its target.
//
// Its operations are the rows of one awsproto table (api.go); a new call is
// a row there plus its handler. Errors are *awsproto.Error with
// Scheduler's codes and statuses (errors.go).
//
// Expressions (expr.go, cron.go) are at(yyyy-mm-ddThh:mm:ss), rate(value
// unit) and six-field cron(), read in ScheduleExpressionTimezone (an IANA
// name, default UTC); Timing.Next is the pure function that says when a
// schedule fires next.
//
// Firing (fire.go): the service assumes the target's role through
// Options.Roles (the emulated IAM: the role must exist and trust
// scheduler.amazonaws.com), then hands the target ARN and Input to
// Options.Targets, which the emulator wires to its services by the ARN's
// service. Failures are retried as the target's RetryPolicy allows, with
// exponential backoff, and recorded on the schedule and in Deliveries; a
// DeadLetterConfig is kept and reported (the emulator has no SQS), not
// written to. The emulator fires at the scheduled instant: a flexible time
// window is accepted and reported, and its start is when the emulator fires.
//
// Where the emulator chooses, AWS not saying: an at() time already past when
// the schedule is created or updated never fires; a schedule whose time
// passed while the emulator was down fires once on restart, not once per
// missed time; a rate's first occurrence moves to the update time when an
// update changes the expression or the StartDate; DeleteScheduleGroup
// removes the group and its schedules at once rather than after a DELETING
// state; ServiceQuotaExceededException is never raised.
//
// Fire and Deliveries are the emulator's test hooks, served on its admin
// API: fire one schedule now, and list the latest deliveries.
package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// Targets delivers a schedule's invocation: the target's ARN, the role the
// scheduler assumed for it, and the schedule's Input. An error wrapped by
// Permanent is not retried; any other is, as the target's RetryPolicy
// allows.
type Targets interface {
	Deliver(ctx context.Context, targetARN, roleARN, input string) error
}

// RoleChecker is the emulated IAM: nil if the role exists and trusts
// scheduler.amazonaws.com, else an error saying why it cannot be assumed.
type RoleChecker interface{ CheckRole(roleARN string) error }

// Clock is the time the scheduler fires by; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// After is time.After.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configures the service.
type Options struct {
	DataDir string // schedules and groups persist here when set
	Region  string
	Roles   RoleChecker // nil: every role can be assumed
	Targets Targets     // nil: every delivery fails
	Clock   Clock       // nil: real time
	// RetryBase is the first retry's delay, doubling after each; zero means
	// one second.
	RetryBase time.Duration
	Logf      func(format string, args ...any)
}

// Service is the emulated EventBridge Scheduler.
type Service struct {
	opts  Options
	api   *awsproto.API
	clock Clock

	mu         sync.Mutex
	groups     map[string]*group
	schedules  map[string]*schedule // by group + "/" + name
	deleted    map[string]bool      // DeleteSchedule client tokens that succeeded
	deliveries []Delivery           // the latest, oldest first
	ctx        context.Context      // cancelled by Reset and Close: ends deliveries
	cancel     context.CancelFunc
	closed     bool

	wake     chan struct{} // a schedule changed: the loop recomputes its wait
	stop     chan struct{}
	loopDone chan struct{}
	inflight sync.WaitGroup // deliveries
}

const defaultGroup = "default"

// maxDeliveries bounds the delivery log.
const maxDeliveries = 1000

// New builds the service, loads persisted state and starts the firing loop.
func New(opts Options) (*Service, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	s := &Service{
		opts:     opts,
		clock:    opts.Clock,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	s.api = s.newAPI()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.clear()
	if err := s.load(); err != nil {
		return nil, err
	}
	go s.loop()
	return s, nil
}

// clear drops every schedule and group but default. Holds s.mu or runs
// before the service is shared.
func (s *Service) clear() {
	now := s.clock.Now()
	s.groups = map[string]*group{defaultGroup: {Name: defaultGroup, Created: now, Modified: now}}
	s.schedules = map[string]*schedule{}
	s.deleted = map[string]bool{}
	s.deliveries = nil
}

// Reset drops every schedule and group and ends deliveries under way.
func (s *Service) Reset() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.inflight.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.clear()
	s.saveLocked()
	s.poke()
}

// Close stops the firing loop and the deliveries under way, and returns
// when none is left running. It is safe to call more than once.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	close(s.stop)
	s.mu.Unlock()
	<-s.loopDone
	s.inflight.Wait()
	return nil
}

// API is the service's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }

// poke wakes the loop after a change to the schedules.
func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) groupARN(name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule-group/%s", s.opts.Region, awsproto.AccountID, name)
}

func (s *Service) scheduleARN(group, name string) string {
	return fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", s.opts.Region, awsproto.AccountID, group, name)
}

// state is what persists.
type state struct {
	Groups    []*group    `json:"groups"`
	Schedules []*schedule `json:"schedules"`
}

func (s *Service) stateFile() string { return filepath.Join(s.opts.DataDir, "schedules.json") }

// saveLocked writes the groups and schedules. Holds s.mu.
func (s *Service) saveLocked() {
	if s.opts.DataDir == "" {
		return
	}
	var st state
	for _, g := range s.groups {
		st.Groups = append(st.Groups, g)
	}
	sort.Slice(st.Groups, func(i, j int) bool { return st.Groups[i].Name < st.Groups[j].Name })
	for _, sc := range s.schedules {
		st.Schedules = append(st.Schedules, sc)
	}
	sort.Slice(st.Schedules, func(i, j int) bool { return st.Schedules[i].key() < st.Schedules[j].key() })
	if err := statefile.Save(s.stateFile(), st); err != nil {
		s.opts.Logf("scheduler: saving state: %v", err)
	}
}

// load reads persisted state. A schedule whose fire time passed while the
// emulator was down fires once when the loop starts, not once per missed
// time.
func (s *Service) load() error {
	if s.opts.DataDir == "" {
		return nil
	}
	var st state
	if err := statefile.Load(s.stateFile(), &st); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	for _, g := range st.Groups {
		s.groups[g.Name] = g
	}
	for _, sc := range st.Schedules {
		if err := sc.compile(); err != nil {
			return fmt.Errorf("scheduler state %s: schedule %s: %w", s.stateFile(), sc.key(), err)
		}
		s.schedules[sc.key()] = sc
	}
	return nil
}
