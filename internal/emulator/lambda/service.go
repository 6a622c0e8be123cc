// Package lambda emulates AWS Lambda's REST-JSON API (2015-03-31) for
// container-image functions, and runs their invocations in the local Docker
// engine under AWS's Runtime Interface Emulator (see package runner).
//
// Its operations are the rows of one awsproto table (api.go), each a name,
// the @http binding of Lambda's Smithy model and a handler whose input type
// binds the path labels, query strings, headers and JSON body. A new call is
// a row there plus its handler; errors are *awsproto.Error (errors.go).
package lambda

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda/runner"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// RoleChecker is the emulated IAM: nil if the role exists and trusts
// lambda.amazonaws.com, else an error whose message is AWS's.
type RoleChecker interface{ CheckLambdaRole(roleARN string) error }

// ImageResolver is the emulated ECR: it resolves an image URI (tag or
// digest) to its repository and manifest digest.
type ImageResolver interface {
	ResolveImage(imageURI string) (repo, digest string, err error)
}

// RegistryAuth gives the credentials the Docker engine pulls with.
type RegistryAuth interface {
	PullAuth() (username, password string)
}

// Options configures the service.
type Options struct {
	DataDir  string // functions persist here when set
	Region   string
	Roles    RoleChecker
	Images   ImageResolver
	Registry RegistryAuth
	// TransitionDelay is how long Pending and InProgress last; read at every
	// create and update. Nil means 200 ms.
	TransitionDelay func() time.Duration
	IdleTimeout     time.Duration // warm containers idle longer are removed; 0 means 5 minutes
	RIEPath         string        // empty means EnsureRIE
	// Endpoint is the URL functions reach the emulator at, set as their
	// AWS_ENDPOINT_URL unless they set one.
	Endpoint string
	// Logs receives each invocation's log, in the function's log group
	// when that exists; nil drops logs.
	Logs Logs
	Logf func(format string, args ...any)
}

// accountConcurrency is the concurrent-execution quota of a new AWS account;
// it also keeps a laptop from starting unbounded containers.
var accountConcurrency = 10

// Service is the emulated Lambda.
type Service struct {
	opts     Options
	api      *awsproto.API
	region   string
	instance string
	docker   *client.Client
	run      *runner.Runner
	slots    chan struct{} // concurrent executions

	mu          sync.Mutex
	functions   map[string]*function
	invocations map[string]int
	running     map[string]int  // invocations in flight, for reserved concurrency
	ctx         context.Context // cancelled by Reset and Close: ends async invocations
	cancel      context.CancelFunc
	closed      bool
	async       sync.WaitGroup
}

// New builds the service and loads persisted functions from DataDir.
func New(opts Options) (*Service, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.TransitionDelay == nil {
		opts.TransitionDelay = func() time.Duration { return 200 * time.Millisecond }
	}
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	s := &Service{
		opts:        opts,
		region:      opts.Region,
		instance:    randomHex(4),
		docker:      docker,
		slots:       make(chan struct{}, accountConcurrency),
		functions:   map[string]*function{},
		invocations: map[string]int{},
		running:     map[string]int{},
	}
	s.api = s.newAPI()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.load(); err != nil {
		docker.Close()
		return nil, err
	}
	rie := func(ctx context.Context) (string, error) {
		if opts.RIEPath != "" {
			return opts.RIEPath, nil
		}
		return EnsureRIE(ctx)
	}
	var auth func() (string, string)
	if opts.Registry != nil {
		auth = opts.Registry.PullAuth
	}
	s.run = runner.New(runner.Config{
		Docker:      docker,
		Instance:    s.instance,
		IdleTimeout: opts.IdleTimeout,
		RIEPath:     rie,
		ShimPath:    runner.EnsureShim,
		PullAuth:    auth,
		Credentials: sandboxCredentials,
		Endpoint:    opts.Endpoint,
		Logf:        opts.Logf,
	})
	return s, nil
}

// Instance is the value of the runner.LabelInstance label on this service's containers.
func (s *Service) Instance() string { return s.instance }

// Invocations counts invocations per function name since start or Reset.
func (s *Service) Invocations() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.invocations))
	for k, v := range s.invocations {
		out[k] = v
	}
	return out
}

// Reset drops every function and removes their containers.
func (s *Service) Reset() {
	s.mu.Lock()
	for _, f := range s.functions {
		stopTimer(f)
	}
	s.functions = map[string]*function{}
	s.invocations = map[string]int{}
	s.cancel()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.saveLocked(); err != nil {
		s.opts.Logf("lambda: saving state: %v", err)
	}
	s.mu.Unlock()
	s.run.DiscardAll()
}

// Close removes every container and stops the service; nothing is left running.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, f := range s.functions {
		stopTimer(f)
	}
	s.cancel()
	s.mu.Unlock()
	err := s.run.Close()
	s.async.Wait()
	return errors.Join(err, s.docker.Close())
}

func stopTimer(f *function) {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}

// beginTransition puts f into Pending (create) or InProgress (update) and
// schedules the transition's end after TransitionDelay. Holds s.mu.
func (s *Service) beginTransition(f *function, create bool) {
	stopTimer(f)
	f.gen++
	gen := f.gen
	if create {
		f.State, f.StateReason, f.StateReasonCode = statePending, reasonCreating, reasonCodeCreating
		f.LastUpdateStatus, f.LastUpdateStatusReason, f.LastUpdateStatusReasonCode = "", "", ""
	} else {
		// Lambda reports an image update with the creation reason.
		f.LastUpdateStatus, f.LastUpdateStatusReason, f.LastUpdateStatusReasonCode = updateInProgress, reasonCreating, reasonCodeCreating
	}
	name := f.Name
	f.timer = time.AfterFunc(max(s.opts.TransitionDelay(), 0), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		cur, ok := s.functions[name]
		if !ok || cur != f || cur.gen != gen || s.closed {
			return
		}
		s.completeTransition(cur)
		if err := s.saveLocked(); err != nil {
			s.opts.Logf("lambda: saving state: %v", err)
		}
	})
}

// completeTransition makes f Active and its update Successful. Holds s.mu.
func (s *Service) completeTransition(f *function) {
	f.timer = nil
	// A function recovering from a deleted image is Active again.
	f.State, f.StateReason, f.StateReasonCode = stateActive, "", ""
	f.LastUpdateStatus, f.LastUpdateStatusReason, f.LastUpdateStatusReasonCode = updateSuccessful, "", ""
	f.Live = s.spec(f)
	// Warm containers run the old configuration.
	go s.run.Discard(f.Name)
}

func (s *Service) stateFile() string {
	return filepath.Join(s.opts.DataDir, "functions.json")
}

// persisted is what functions.json holds.
type persisted struct {
	Functions []*function `json:"functions"`
}

// saveLocked writes every function to DataDir. Holds s.mu.
func (s *Service) saveLocked() error {
	if s.opts.DataDir == "" {
		return nil
	}
	names := make([]string, 0, len(s.functions))
	for n := range s.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	st := persisted{Functions: make([]*function, 0, len(names))}
	for _, n := range names {
		st.Functions = append(st.Functions, s.functions[n])
	}
	return statefile.Save(s.stateFile(), st)
}

// load reads persisted functions. A transition cut short by the restart is
// complete by now.
func (s *Service) load() error {
	if s.opts.DataDir == "" {
		return nil
	}
	var st persisted
	if err := statefile.Load(s.stateFile(), &st); err != nil {
		return fmt.Errorf("lambda: %w", err)
	}
	for _, f := range st.Functions {
		if f.State == statePending || f.LastUpdateStatus == updateInProgress {
			f.State, f.StateReason, f.StateReasonCode = stateActive, "", ""
			f.LastUpdateStatus, f.LastUpdateStatusReason, f.LastUpdateStatusReasonCode = updateSuccessful, "", ""
			f.Live = s.spec(f)
		}
		if f.Live == nil {
			f.Live = s.spec(f)
		}
		s.functions[f.Name] = f
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRevisionID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sandboxCredentials mints a sandbox's temporary credentials in the shape
// STS gives them (ASIA key id, 40-character secret, opaque token). The
// emulator does not check signatures, so they only need to look real to an
// SDK; each sandbox gets its own, as on Lambda.
func sandboxCredentials(runner.Spec) runner.Credentials {
	const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 16+30+64)
	_, _ = rand.Read(b)
	id := make([]byte, 16)
	for i := range id {
		id[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return runner.Credentials{
		AccessKeyID:     "ASIA" + string(id),
		SecretAccessKey: base64.StdEncoding.EncodeToString(b[16:46]),
		SessionToken:    base64.StdEncoding.EncodeToString(b[46:]),
	}
}
