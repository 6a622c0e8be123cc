// Package emulator runs local stand-ins for the AWS APIs the provider uses
// (Lambda, ECR and its registry, S3, IAM, STS, Step Functions, EventBridge
// Scheduler, CloudWatch Logs) on one HTTP address, over their real wire protocols, so
// unchanged aws-sdk-go-v2 clients reach it through an endpoint override. It
// accepts any credentials, without checking signatures, as the account
// 000000000000's root; the exception is a role session STS issued
// (AssumeRole, AssumeRoleWithWebIdentity): requests signed with its key are
// that session (the request log's Principal), and an unknown or expired
// session token is refused with InvalidClientTokenId or ExpiredToken.
//
// Every service declares one table of operations, an awsproto.API (ECR
// declares two: its API and its registry). A row is the operation's name,
// how it is matched (X-Amz-Target for awsJson, Action for awsQuery, an
// @http binding such as "GET /2015-03-31/functions/{FunctionName}" for the
// REST protocols) and its handler, whose input type the protocol decodes.
// Handlers return *awsproto.Error, the one error type, which writes itself
// in the service's protocol. The router, the fault injector and the request
// log all go by the row's name, so a route exists in exactly one place.
//
// Routing, as LocalStack does it: /_emulator/* is the admin API; otherwise
// the SigV4 credential scope's service (Authorization header or presigned
// X-Amz-Credential) picks the table whose SigningNames hold it; an unsigned
// request goes to the table that claims it (API.Claims: its X-Amz-Target
// prefix, its Actions, the first segment of its paths); a form POST no table
// claims is IAM's, and anything else is path-style S3. The table then picks
// the row. (Scheduler claims unsigned /schedules, /schedule-groups and
// /tags, so an anonymous request to an S3 bucket of one of those names must
// be signed or presigned.)
//
// Step Functions (package sfn, table "states", awsJson1_0) runs STANDARD
// state machines in the Amazon States Language subset the provider
// generates (package sfn/asl); its lambda:invoke Tasks call the emulated
// Lambda in-process (wire_sfn.go), and its roles must trust
// states.amazonaws.com in the emulated IAM.
//
// To add an operation: a row in the service's table and its handler. To add
// a service (package sfn is an awsJson1_0 example, package scheduler a
// restJson1 one): a package with its state and an API() returning its
// table, with SigningNames, its Unknown, Throttle and Failure errors; then
// one line in Start's list of tables. Its faults, request counts and health
// entry follow from the table.
//
// Admin API:
//
//	GET|POST /_emulator/faults   {"throttle_rate","error_rate","latency_ms","transition_delay_ms","services"}
//	POST     /_emulator/reset    drop all state, executions stopped first (fault settings stay)
//	GET      /_emulator/health   status and services (lambda, ecr, registry, iam, sts, s3, states, scheduler, logs)
//	GET      /_emulator/invocations  Lambda invocations per function
//	GET      /_emulator/requests counts by service, operation and status
//	POST     /_emulator/scheduler/fire?name=NAME[&group=GROUP]
//	                             fire one schedule now (group default), one
//	                             attempt, whatever its state: 200 {"delivery"},
//	                             502 {"error","delivery"} when the target
//	                             failed, 404 for no such schedule
//	GET      /_emulator/scheduler/deliveries  the latest scheduled deliveries
//
// EventBridge Scheduler fires on the real clock and delivers to the
// emulated services by the target ARN's service (scheduler_wiring.go: a
// Lambda function is invoked asynchronously with the schedule's Input);
// the target's role must exist in IAM and trust scheduler.amazonaws.com.
//
// STS issues role sessions (package iam, sts.go): AssumeRole checks that
// the role exists and that its trust policy allows the caller (an AWS
// principal: "*", the account, its root, the caller's ARN or, for a role
// session, its role) with sts:ExternalId; AssumeRoleWithWebIdentity reads
// the token's iss, aud, sub and exp and matches a Federated principal
// (arn:aws:iam::000000000000:oidc-provider/<issuer>) and conditions on
// <issuer>:aud and <issuer>:sub. Conditions support StringEquals,
// StringNotEquals, StringEqualsIgnoreCase, StringLike and StringNotLike; a
// statement with another operator never matches. Limits: JWT signatures
// are not verified, sessions live in memory only (a restart forgets them),
// and session policies, session tags and role permissions are not enforced.
//
// Faults answer with each service's own errors, the Throttle and Failure of
// its table, which the SDK's standard retryer retries: Lambda
// TooManyRequestsException 429 and ServiceException 500, ECR
// ThrottlingException 400 and ServerException 500, IAM/STS Throttling 400
// and ServiceFailure/InternalFailure 500, S3 SlowDown 503 and InternalError
// 500, Step Functions ThrottlingException 400 and InternalFailure 500,
// Scheduler ThrottlingException 429 and InternalServerException 500,
// CloudWatch Logs ThrottlingException 400 and ServiceUnavailableException 500.
// The status codes are AWS's own, not one 429 for all. Admin paths never get
// faults; the registry gets them only when "registry" is named in services
// (its table's FaultsOnlyWhenNamed).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/lambda"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/logs"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/s3"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/scheduler"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn"
)

// Options configures an emulator.
type Options struct {
	// Addr is the listen address; default 127.0.0.1:0 (a free port).
	Addr string
	// DataDir, when set, keeps state across restarts, one subdirectory per
	// service (iam, s3, ecr, lambda, sfn, scheduler, logs). Empty keeps everything
	// in memory.
	DataDir string
	// Region is the emulated region; default us-east-1.
	Region string
	// Faults are injected from the start; see also SetFaults.
	Faults Faults
	// TransitionDelay is how long Lambda functions stay Pending or
	// InProgress; default 200ms, negative for none.
	TransitionDelay time.Duration
	// IdleTimeout stops warm Lambda containers unused for this long; zero
	// lets the lambda service choose.
	IdleTimeout time.Duration
	// RIEPath is the aws-lambda-rie binary mounted into function
	// containers; empty lets the lambda service build or find it.
	RIEPath string
	// Logger gets one line per request; nil discards.
	Logger *slog.Logger
}

// DefaultTransitionDelay is Options.TransitionDelay's default.
const DefaultTransitionDelay = 200 * time.Millisecond

// Emulator is a running emulator.
type Emulator struct {
	opts     Options
	log      *slog.Logger
	ln       net.Listener
	srv      *http.Server
	url      string
	faults   *faultState
	requests requestLog
	// apis are the services' operation tables, in the order unsigned
	// requests are matched against them. Routing, fault injection and the
	// request log go by them.
	apis []*awsproto.API

	iam    *iam.Service
	s3     *s3.Service
	ecr    ecrBackend    // nil only while Start is still wiring
	lambda lambdaBackend // nil only while Start is still wiring

	lambdaSvc *lambda.Service
	logs      *logs.Service      // nil only while Start is still wiring
	sfn       *sfn.Service       // nil only while Start is still wiring
	scheduler *scheduler.Service // nil only while Start is still wiring

	connMu    sync.Mutex
	serving   map[net.Conn]bool // connections serving a request
	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
}

// ecrBackend is what the root needs of the ECR service.
type ecrBackend interface {
	API() *awsproto.API
	RegistryAPI() *awsproto.API
	Reset()
	Close() error
}

// lambdaBackend is what the root needs of the Lambda service.
type lambdaBackend interface {
	API() *awsproto.API
	Reset()
	Close() error
	Invocations() map[string]int
}

// Start listens on opts.Addr and serves until Close. ctx bounds start-up
// only.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	delay := opts.TransitionDelay
	switch {
	case delay == 0:
		delay = DefaultTransitionDelay
	case delay < 0:
		delay = 0
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("emulator: faults: %w", err)
	}
	e := &Emulator{
		opts: opts,
		log:  opts.Logger,
		// The faults are set once the services run: their names are
		// checked against the services' tables.
		faults: newFaultState(Faults{}, delay),
		served: make(chan struct{}),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}

	var err error
	if e.iam, err = iam.New(iam.Options{DataDir: e.dataDir("iam")}); err != nil {
		return nil, err
	}
	if e.s3, err = s3.New(s3.Options{DataDir: e.dataDir("s3")}); err != nil {
		return nil, errors.Join(err, e.iam.Close())
	}

	var lc net.ListenConfig
	e.ln, err = lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("emulator: %w", err), e.closeServices())
	}
	e.url = "http://" + hostPort(e.ln.Addr().(*net.TCPAddr))

	if err := e.wire(ctx); err != nil {
		_ = e.ln.Close()
		return nil, errors.Join(err, e.closeServices())
	}
	// Every service's table, in the order unsigned requests are matched. A
	// new service is one entry here.
	e.apis = []*awsproto.API{
		e.lambda.API(), e.ecr.API(), e.ecr.RegistryAPI(), e.iam.IAMAPI(), e.iam.STSAPI(), e.s3.API(),
		e.sfn.API(), e.scheduler.API(), e.logs.API(),
	}
	e.faults.services = e.serviceNames()
	if err := e.faults.set(opts.Faults); err != nil {
		_ = e.ln.Close()
		return nil, errors.Join(fmt.Errorf("emulator: faults: %w", err), e.closeServices())
	}

	e.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		ConnState:         e.countActive,
	}
	go func() {
		defer close(e.served)
		if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("emulator: serve", "err", err)
		}
	}()
	e.log.Info("emulator listening", "url", e.url, "data", opts.DataDir, "region", opts.Region)
	return e, nil
}

// hostPort is the address clients and containers should use: an unspecified
// listen address (0.0.0.0, ::) is reached on the loopback.
func hostPort(a *net.TCPAddr) string {
	ip := a.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(a.Port))
}

func (e *Emulator) dataDir(service string) string {
	if e.opts.DataDir == "" {
		return ""
	}
	return filepath.Join(e.opts.DataDir, service)
}

// URL is the endpoint for every service, e.g. http://127.0.0.1:4566.
func (e *Emulator) URL() string { return e.url }

// Addr is the host:port the emulator is reached on.
func (e *Emulator) Addr() string { return e.url[len("http://"):] }

// Region is the emulated region.
func (e *Emulator) Region() string { return e.opts.Region }

// Faults returns the current fault settings, with the effective transition
// delay filled in.
func (e *Emulator) Faults() Faults { return e.faults.get() }

// SetFaults replaces the fault settings.
func (e *Emulator) SetFaults(f Faults) error { return e.faults.set(f) }

// SessionSecrets are the secret keys and session tokens of the role
// sessions STS has issued, for tests that check they leak nowhere.
func (e *Emulator) SessionSecrets() []string { return e.iam.SessionSecrets() }

// Requests returns the latest handled requests, oldest first.
func (e *Emulator) Requests() []Request { return e.requests.all() }

// Reset drops all state of every service (schedules and executions, which
// it stops first, state machines, functions and their containers,
// repositories and images, objects, roles) and the request log. Fault
// settings are configuration, not state, and stay.
func (e *Emulator) Reset() error {
	// Schedules first: they start executions; then executions: they invoke Lambda.
	if e.scheduler != nil {
		e.scheduler.Reset()
	}
	if e.sfn != nil {
		e.sfn.Reset()
	}
	if e.lambda != nil {
		e.lambda.Reset()
	}
	if e.ecr != nil {
		e.ecr.Reset()
	}
	if e.logs != nil {
		e.logs.Reset()
	}
	err := e.s3.Reset()
	e.iam.Reset()
	e.requests.clear()
	return err
}

// Close stops serving and closes every service, which removes the function
// containers. It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		// In-flight requests get a moment; a long Invoke is cut short, as
		// closing Lambda stops its container anyway. Shutdown would also
		// wait up to 5 s for a connection a client opened and never used;
		// once no request is in flight, Close ends those at once.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- e.srv.Shutdown(ctx) }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case err := <-done:
				if err != nil {
					_ = e.srv.Close()
				}
				break wait
			case <-tick.C:
				e.connMu.Lock()
				idle := len(e.serving) == 0
				e.connMu.Unlock()
				if idle {
					_ = e.srv.Close()
					<-done
					break wait
				}
			}
		}
		<-e.served
		e.closeErr = e.closeServices()
		e.log.Info("emulator stopped", "url", e.url)
	})
	return e.closeErr
}

// countActive tracks the connections serving a request.
func (e *Emulator) countActive(c net.Conn, state http.ConnState) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	if e.serving == nil {
		e.serving = map[net.Conn]bool{}
	}
	if state == http.StateActive {
		e.serving[c] = true
	} else {
		delete(e.serving, c)
	}
}

func (e *Emulator) closeServices() error {
	var errs []error
	if e.scheduler != nil { // first: its deliveries start executions and invoke Lambda
		errs = append(errs, e.scheduler.Close())
	}
	if e.sfn != nil { // before Lambda: executions invoke it
		errs = append(errs, e.sfn.Close())
	}
	if e.lambda != nil {
		errs = append(errs, e.lambda.Close())
	}
	if e.ecr != nil {
		errs = append(errs, e.ecr.Close())
	}
	if e.logs != nil { // after Lambda, which writes to it
		errs = append(errs, e.logs.Close())
	}
	if e.s3 != nil {
		errs = append(errs, e.s3.Close())
	}
	if e.iam != nil {
		errs = append(errs, e.iam.Close())
	}
	return errors.Join(errs...)
}
