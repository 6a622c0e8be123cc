// Package sfn emulates AWS Step Functions for STANDARD state machines over
// its awsJson1_0 protocol (X-Amz-Target AWSStepFunctions.<Operation>,
// signing name states), so the unchanged aws-sdk-go-v2 sfn client works
// against it.
//
// Its operations are the rows of one awsproto table (api.go): state
// machines (machines.go), their tags, and executions (executions.go), which
// run in the background through the interpreter of package asl. A Task's
// lambda:invoke calls the emulated Lambda in-process (tasks.go) with the
// state machine's role; errors are *awsproto.Error.
//
// The role of a state machine must exist in the emulated IAM and trust
// states.amazonaws.com (or the regional states.<region>.amazonaws.com), as
// on AWS. State machines and finished executions persist in DataDir when
// there is one; an execution still running when the service closes is
// recorded as ABORTED (the emulator, unlike AWS, does not carry it on).
package sfn

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn/asl"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// Roles is the emulated IAM: whether a service principal may assume a role.
type Roles interface {
	AssumableBy(roleARN, principal string) bool
}

// Functions is the emulated Lambda, invoked in-process as Step Functions
// calls it. Lambda's own refusals come back as *awsproto.Error; a function
// error is an Invocation with FunctionError set.
type Functions interface {
	InvokeFunction(ctx context.Context, functionName string, payload []byte) (*Invocation, error)
}

// Invocation is a synchronous Lambda invocation's answer.
type Invocation struct {
	Payload         []byte
	FunctionError   string
	ExecutedVersion string
	RequestID       string
	StatusCode      int
}

// Options configures the service.
type Options struct {
	// DataDir keeps state machines and executions across restarts; "" keeps
	// them in memory.
	DataDir string
	// Region goes into ARNs; "" means us-east-1.
	Region string
	// Roles checks state machine roles; nil accepts any.
	Roles Roles
	// Functions runs lambda:invoke Tasks; nil fails them with
	// Lambda.ServiceException.
	Functions Functions
	// Logf logs what happens in the background; nil discards.
	Logf func(format string, args ...any)
}

// Service is the emulated Step Functions.
type Service struct {
	opts   Options
	region string
	api    *awsproto.API

	mu         sync.Mutex
	machines   map[string]*stateMachine // by ARN
	executions map[string]*execution    // by ARN
	closed     bool
	running    sync.WaitGroup // executions in flight
}

// New creates the service and loads what an earlier run kept in DataDir.
func New(opts Options) (*Service, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &Service{opts: opts, region: opts.Region, machines: map[string]*stateMachine{}, executions: map[string]*execution{}}
	s.api = s.newAPI()
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

// API is the service's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }

// Reset stops every execution and drops every state machine and execution.
func (s *Service) Reset() {
	s.stopAll(errReset)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.machines = map[string]*stateMachine{}
	s.executions = map[string]*execution{}
	s.saveLocked()
}

// Close stops the running executions, recording them ABORTED, and writes
// the state a last time. It is safe to call more than once.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopAll(errClosing)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// stopAll ends every running execution with cause and waits for them.
func (s *Service) stopAll(cause error) {
	s.mu.Lock()
	for _, x := range s.executions {
		if x.cancel != nil {
			x.cancel(cause)
		}
	}
	s.mu.Unlock()
	s.running.Wait()
}

// Errors that end an execution's context, telling why it ended.
var (
	errStopped   = errors.New("stopped by StopExecution")
	errTimedOut  = errors.New("the execution timed out")
	errReset     = errors.New("the emulator was reset")
	errClosing   = errors.New("the emulator stopped while the execution ran")
	errDeleted   = errors.New("the state machine was deleted")
	errNotLoaded = errors.New("the emulator restarted while the execution ran")
)

type persisted struct {
	StateMachines []*stateMachine `json:"state_machines"`
	Executions    []*execution    `json:"executions"`
}

func (s *Service) stateFile() string { return filepath.Join(s.opts.DataDir, "states.json") }

// saveLocked writes every state machine and execution. Holds s.mu.
func (s *Service) saveLocked() error {
	if s.opts.DataDir == "" {
		return nil
	}
	var st persisted
	for _, m := range s.machines {
		st.StateMachines = append(st.StateMachines, m)
	}
	for _, x := range s.executions {
		st.Executions = append(st.Executions, x)
	}
	sort.Slice(st.StateMachines, func(i, j int) bool { return st.StateMachines[i].ARN < st.StateMachines[j].ARN })
	sort.Slice(st.Executions, func(i, j int) bool { return st.Executions[i].ARN < st.Executions[j].ARN })
	err := statefile.Save(s.stateFile(), st)
	if err != nil {
		s.opts.Logf("sfn: saving state: %v", err)
	}
	return err
}

// load reads the persisted state. An execution that was running when the
// emulator died is recorded as aborted.
func (s *Service) load() error {
	if s.opts.DataDir == "" {
		return nil
	}
	var st persisted
	if err := statefile.Load(s.stateFile(), &st); err != nil {
		return fmt.Errorf("sfn: %w", err)
	}
	for _, m := range st.StateMachines {
		def, err := asl.Parse(m.Definition)
		if err != nil {
			return fmt.Errorf("sfn: state machine %s in %s: %w", m.ARN, s.stateFile(), err)
		}
		m.def = def
		s.machines[m.ARN] = m
	}
	for _, x := range st.Executions {
		if x.Status == statusRunning {
			x.finish(statusAborted, time.Now(), event{Type: "ExecutionAborted", Cause: ptr(errNotLoaded.Error())})
		}
		s.executions[x.ARN] = x
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
