package emulator

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Faults are the failures the emulator injects on purpose, so that a
// client's retries and waiters meet the real thing. Rates are spread evenly
// per service rather than drawn at random (0.5 faults every second request),
// so a retry test behaves the same on every run.
type Faults struct {
	// ThrottleRate is the share of requests, 0..1, answered with the
	// service's own throttling error.
	ThrottleRate float64 `json:"throttle_rate"`
	// ErrorRate is the share of requests, 0..1, answered with a 500 in the
	// service's error shape.
	ErrorRate float64 `json:"error_rate"`
	// LatencyMS is added before each request is handled.
	LatencyMS int `json:"latency_ms"`
	// TransitionDelayMS, when set, replaces Options.TransitionDelay for
	// Lambda's Pending→Active and InProgress→Successful transitions.
	TransitionDelayMS *int `json:"transition_delay_ms,omitempty"`
	// Services limits the faults to these services, by the names of their
	// operation tables (lambda, ecr, registry, s3, iam, sts, states,
	// scheduler); empty means every AWS API service. The OCI registry under /v2/ gets faults only
	// when named here: Docker and the registry client have retry rules of
	// their own that AWS's do not describe.
	Services []string `json:"services"`
}

// Validate reports rates and delays that make no sense. Service names are
// checked against the services an emulator runs, by Start and SetFaults.
func (f Faults) Validate() error {
	switch {
	case f.ThrottleRate < 0 || f.ThrottleRate > 1:
		return fmt.Errorf("throttle_rate %v is not between 0 and 1", f.ThrottleRate)
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("error_rate %v is not between 0 and 1", f.ErrorRate)
	case f.LatencyMS < 0:
		return fmt.Errorf("latency_ms %d is negative", f.LatencyMS)
	case f.TransitionDelayMS != nil && *f.TransitionDelayMS < 0:
		return fmt.Errorf("transition_delay_ms %d is negative", *f.TransitionDelayMS)
	}
	return nil
}

// validateServices reports a service name that is not one of known.
func (f Faults) validateServices(known []string) error {
	for _, s := range f.Services {
		if !slices.Contains(known, s) {
			return fmt.Errorf("unknown service %q in services (known: %v)", s, known)
		}
	}
	return nil
}

// applies says whether faults apply to a service; onlyWhenNamed is its
// table's FaultsOnlyWhenNamed.
func (f Faults) applies(service string, onlyWhenNamed bool) bool {
	if len(f.Services) == 0 {
		return !onlyWhenNamed
	}
	return slices.Contains(f.Services, service)
}

type faultKind int

const (
	noFault faultKind = iota
	throttleFault
	errorFault
)

func (k faultKind) String() string {
	switch k {
	case throttleFault:
		return "throttle"
	case errorFault:
		return "error"
	}
	return ""
}

// faultState holds the current settings. Rates are spread evenly rather than
// drawn at random: a rate of 0.5 faults every second request of a service, so
// a test of the SDK's retryer passes or fails the same way every run.
type faultState struct {
	baseDelay time.Duration
	services  []string // the services' names, once they run; set checks against them

	mu  sync.Mutex
	f   Faults
	acc map[string]*[2]float64 // per service: throttle, error accumulators
}

func newFaultState(f Faults, baseDelay time.Duration) *faultState {
	return &faultState{f: f, baseDelay: baseDelay, acc: map[string]*[2]float64{}}
}

func (s *faultState) get() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.f
	f.Services = slices.Clone(f.Services)
	ms := int(s.transitionDelayLocked() / time.Millisecond)
	f.TransitionDelayMS = &ms
	return f
}

func (s *faultState) set(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := f.validateServices(s.services); err != nil {
		return err
	}
	f.Services = slices.Clone(f.Services)
	s.f = f
	s.acc = map[string]*[2]float64{}
	return nil
}

func (s *faultState) transitionDelay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transitionDelayLocked()
}

func (s *faultState) transitionDelayLocked() time.Duration {
	if s.f.TransitionDelayMS != nil {
		return time.Duration(*s.f.TransitionDelayMS) * time.Millisecond
	}
	return s.baseDelay
}

// decide says what to do to one request for service; onlyWhenNamed is its
// table's FaultsOnlyWhenNamed. The fault itself is the service's own error,
// from its table (awsproto.API's Throttle and Failure).
func (s *faultState) decide(service string, onlyWhenNamed bool) (time.Duration, faultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.f.applies(service, onlyWhenNamed) {
		return 0, noFault
	}
	latency := time.Duration(s.f.LatencyMS) * time.Millisecond
	a := s.acc[service]
	if a == nil {
		a = new([2]float64)
		s.acc[service] = a
	}
	a[0] += s.f.ThrottleRate
	if a[0] >= 1 {
		a[0]--
		return latency, throttleFault
	}
	a[1] += s.f.ErrorRate
	if a[1] >= 1 {
		a[1]--
		return latency, errorFault
	}
	return latency, noFault
}
