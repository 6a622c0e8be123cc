package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/emulatortest"
	sfnemu "github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/sfn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/statemachine"
)

// Server-side runs (event version 2) of the real runtime against the
// emulator's S3, run by the emulator's Step Functions (package
// emulator/sfn): the definition statemachine.Compile makes, executed through
// the aws-sdk-go-v2 sfn client, its Tasks invoking the runtime processes of
// pyInvoker. Every S3 request the runtime makes goes through sigV4Proxy,
// which checks its signature with the AWS SDK's own signer before the
// emulator (which takes any credentials) gets it. The run executor
// (Execute) reads the same store through artifacts.Store, so each side must
// find what the other cached.

const (
	serverAccessKey = "ASIASERVERCONTRACT01"
	serverSecret    = "server/contract+Secret/wJalrXUtnFEMI/K7MDENG"
	serverToken     = "IQoJb3JpZ2luX2VjEPT//////////wEaCXNlcnZlci90b2tlbi8rPQ=="
	serverBucket    = "artifacts"
	serverPrefix    = "aqueduct/engines/ml-0123456789ab"
)

// serverEnv is an emulator, a bucket in it, the store on that bucket, the
// signature-checking proxy the runtime reaches it through, and Step
// Functions invoking the test's functions.
type serverEnv struct {
	t      *testing.T
	api    *s3.Client
	store  *artifacts.Store
	proxy  *sigV4Proxy
	region string
	states *awssfn.Client
	fns    *pyFunctions
}

func newServerEnv(t *testing.T) *serverEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the emulator and python3 processes")
	}
	e := emulatortest.Start(t)
	// The store's client gets a transport of its own, closed before the
	// emulator: a connection it dialed but never used would hold the
	// emulator's Shutdown for 5 s.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	api := s3.NewFromConfig(emulatortest.Config(t, e), emulatortest.S3PathStyle, func(o *s3.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	if _, err := api.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(serverBucket)}); err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: serverAccessKey, SecretAccessKey: serverSecret, SessionToken: serverToken}
	// The emulator's own Step Functions invokes its Lambda, which runs
	// images in Docker; this one, on its own endpoint, invokes pyInvoker.
	fns := &pyFunctions{}
	svc, err := sfnemu.New(sfnemu.Options{Region: e.Region(), Roles: trustedRole(serverRole), Functions: fns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	srv := httptest.NewServer(svc.API())
	t.Cleanup(srv.Close)
	states := awssfn.NewFromConfig(emulatortest.Config(t, e), func(o *awssfn.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return &serverEnv{
		t: t, api: api, store: artifacts.NewStore(api, serverBucket, serverPrefix), proxy: newSigV4Proxy(t, e.URL(), e.Region(), creds),
		region: e.Region(), states: states, fns: fns,
	}
}

// invoker runs the functions with the role's credentials in their
// environment, as Lambda does; secret replaces the right secret.
func (env *serverEnv) invoker(handlers map[string]string, secret string) *pyInvoker {
	inv := newPyInvoker(env.t, handlers)
	inv.env = []string{
		"AWS_ACCESS_KEY_ID=" + serverAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_SESSION_TOKEN=" + serverToken,
		"AWS_REGION=" + env.region,
	}
	env.fns.inv.Store(inv)
	return inv
}

// putWorkflow writes a workflow's manifests as the provider does, each
// operator with its own image and the lineage artifacts.LineageOf gives it.
func (env *serverEnv) putWorkflow(wf string, defaults map[string]string, ops map[string][]string) map[string]*artifacts.OperatorManifest {
	env.t.Helper()
	ctx := context.Background()
	w := artifacts.WorkflowManifest{Name: wf, Engine: "ml", Parameters: map[string]json.RawMessage{}}
	for k, v := range defaults {
		w.Parameters[k] = json.RawMessage(v)
	}
	if err := env.store.PutJSON(ctx, artifacts.WorkflowKey(serverPrefix, wf), w); err != nil {
		env.t.Fatal(err)
	}
	ms := map[string]*artifacts.OperatorManifest{}
	for op, inputs := range ops {
		ms[op] = &artifacts.OperatorManifest{
			Name: op, Workflow: wf, FunctionName: fnName(wf, op),
			ImageURI: "123.dkr.ecr.us-east-1.amazonaws.com/ops@sha256:" + sha256Hex(op),
			Function: "ops:" + strings.ToLower(op), Inputs: inputs, MemoryMB: 512, TimeoutS: 60, Architecture: "x86_64",
		}
	}
	lineages(ms)
	for _, m := range ms {
		env.putOperator(*m)
	}
	return ms
}

func (env *serverEnv) putOperator(m artifacts.OperatorManifest) {
	env.t.Helper()
	if err := env.store.PutJSON(context.Background(), artifacts.OperatorKey(serverPrefix, m.Workflow, m.Name), m); err != nil {
		env.t.Fatal(err)
	}
}

// serverInput is an execution's input, as the provider starts one.
func serverInput(t *testing.T, id, wf string, params map[string]string, ms map[string]*artifacts.OperatorManifest) statemachine.ExecutionInput {
	in := statemachine.ExecutionInput{
		Run:        statemachine.Run{ID: id, Workflow: wf, Identity: "sha256:" + sha256Hex("identity of "+id), StartedBy: "terraform"},
		Parameters: map[string]json.RawMessage{}, ParameterHashes: map[string]string{}, Lineages: map[string]string{},
		Cached: map[string]runtime.ServerResult{},
	}
	for k, v := range params {
		c, err := canonicalJSON(json.RawMessage(v))
		if err != nil {
			t.Fatal(err)
		}
		in.Parameters[k], in.ParameterHashes[k] = c, valueHash(c)
	}
	for name, m := range ms {
		in.Lineages[name] = m.Lineage
	}
	return in
}

// record reads a run's record as written, refusing any field run.Record
// does not have.
func (env *serverEnv) record(wf, id string) (*Record, []byte) {
	env.t.Helper()
	raw := env.object(artifacts.RunKey(serverPrefix, wf, id))
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		env.t.Fatalf("the record of %s is not a run.Record: %v\n%s", id, err, raw)
	}
	return &rec, raw
}

func (env *serverEnv) object(key string) []byte {
	env.t.Helper()
	out, err := env.api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(serverBucket), Key: aws.String(key)})
	if err != nil {
		env.t.Fatalf("reading %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	return b
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ---------------------------------------------------------------- the signature check

// sigV4Proxy forwards to the emulator only what is signed as S3 wants it
// with the role's credentials: the AWS SDK's signer, given the headers the
// request says it signed, must compute the same Authorization, and the
// body must have the signed SHA-256. Anything else is refused as S3 refuses
// it, with the canonical request (token and all) in the body, as S3 writes
// it, so that a runtime that echoed it would leak the token.
type sigV4Proxy struct {
	*httptest.Server
	t      *testing.T
	region string
	creds  aws.Credentials
	mu     sync.Mutex
	passed int
	failed []string
}

func newSigV4Proxy(t *testing.T, target, region string, creds aws.Credentials) *sigV4Proxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &sigV4Proxy{t: t, region: region, creds: creds}
	forward := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if code := p.check(r, body); code != "" {
			p.mu.Lock()
			p.failed = append(p.failed, r.Method+" "+r.URL.Path+": "+code)
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "<Error><Code>%s</Code><Message>The request signature we calculated does not match the signature you provided.</Message>"+
				"<AWSAccessKeyId>%s</AWSAccessKeyId><CanonicalRequest>x-amz-security-token:%s</CanonicalRequest></Error>", code, serverAccessKey, serverToken)
			return
		}
		p.mu.Lock()
		p.passed++
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *sigV4Proxy) check(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	_, signedList, ok := strings.Cut(auth, "SignedHeaders=")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !ok {
		return "AccessDenied"
	}
	signedList, _, _ = strings.Cut(signedList, ",")
	signed := strings.Split(signedList, ";")
	for _, h := range []string{"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"} {
		if !slices.Contains(signed, h) {
			return "SignatureDoesNotMatch" // S3 wants these signed
		}
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if sum := sha256.Sum256(body); payload != hex.EncodeToString(sum[:]) {
		return "XAmzContentSHA256Mismatch"
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(at).Abs() > 15*time.Minute {
		return "RequestTimeTooSkewed"
	}
	// The request as it was signed: its signed headers only.
	again := &http.Request{Method: r.Method, Host: r.Host, Header: http.Header{},
		URL: &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}}
	for _, h := range signed {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }) // S3 escapes paths once
	if err := signer.SignHTTP(context.Background(), p.creds, again, payload, "s3", p.region, at); err != nil {
		p.t.Errorf("signing again: %v", err)
		return "InternalError"
	}
	if again.Header.Get("Authorization") != auth {
		return "SignatureDoesNotMatch"
	}
	return ""
}

// counts are the requests passed on and refused so far.
func (p *sigV4Proxy) counts() (passed int, failed []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed, slices.Clone(p.failed)
}

// ---------------------------------------------------------------- Step Functions

// serverRole is the role the state machines run as.
const serverRole = "arn:aws:iam::000000000000:role/aqueduct-runs"

// wireSlack is how far a time read back through the Step Functions API may
// be from the service's own: awsJson carries epoch seconds as a float.
const wireSlack = time.Millisecond

// trustedRole is a fake IAM: Step Functions may assume the test's role and
// no other.
type trustedRole string

func (r trustedRole) AssumableBy(roleARN, principal string) bool {
	return roleARN == string(r) && principal == "states.amazonaws.com"
}

// pyFunctions is Lambda as the emulated Step Functions invokes it: the
// runtime processes of the test's pyInvoker.
type pyFunctions struct{ inv atomic.Pointer[pyInvoker] }

func (f *pyFunctions) InvokeFunction(ctx context.Context, name string, payload []byte) (*sfnemu.Invocation, error) {
	inv := f.inv.Load()
	if inv == nil || inv.handlers[name] == "" {
		// Lambda's answer, which no Task retries: a wrong name fails fast.
		return nil, awsproto.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", name)
	}
	res, err := inv.Invoke(ctx, name, payload)
	if err != nil {
		return nil, err
	}
	return &sfnemu.Invocation{Payload: res.Payload, FunctionError: res.FunctionError, StatusCode: http.StatusOK}, nil
}

// machine creates the state machine statemachine.Compile makes for a run
// of targets, and returns its ARN.
func (env *serverEnv) machine(wf string, ms map[string]*artifacts.OperatorManifest, targets ...string) string {
	env.t.Helper()
	spec := statemachine.Spec{Workflow: wf, Targets: targets, Store: statemachine.Store{
		Bucket: serverBucket, Region: env.region, Root: serverPrefix, Workflow: wf, Endpoint: env.proxy.URL,
	}}
	for _, name := range sortedKeys(ms) {
		m := ms[name]
		spec.Operators = append(spec.Operators, statemachine.Operator{Name: name, FunctionName: m.FunctionName, Inputs: m.Inputs, TimeoutS: m.TimeoutS})
	}
	def, err := statemachine.Compile(spec)
	if err != nil {
		env.t.Fatal(err)
	}
	out, err := env.states.CreateStateMachine(context.Background(), &awssfn.CreateStateMachineInput{
		Name: aws.String("aqueduct-runs-" + wf), Definition: aws.String(string(def)), RoleArn: aws.String(serverRole),
	})
	if err != nil {
		env.t.Fatalf("CreateStateMachine: %v", err)
	}
	return aws.ToString(out.StateMachineArn)
}

// execution is how an execution ended, as Step Functions tells it.
type execution struct {
	Status      sfntypes.ExecutionStatus
	Error       string // a failed execution's error
	Start, Stop time.Time
	Answer      runtime.RecordAnswer            // the record Task's answer
	Results     map[string]runtime.ServerResult // what the record Task was given
	History     []sfntypes.HistoryEvent
}

// execute starts an execution of machine, waits for its end and reads its
// history.
func (env *serverEnv) execute(ctx context.Context, machine string, in statemachine.ExecutionInput, name string) execution {
	t := env.t
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	started, err := env.states.StartExecution(ctx, &awssfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(string(input)),
	})
	if err != nil {
		t.Fatalf("StartExecution %s: %v", name, err)
	}
	var d *awssfn.DescribeExecutionOutput
	for {
		if d, err = env.states.DescribeExecution(ctx, &awssfn.DescribeExecutionInput{ExecutionArn: started.ExecutionArn}); err != nil {
			t.Fatalf("DescribeExecution %s: %v", name, err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("execution %s still running: %v", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	ex := execution{Status: d.Status, Error: aws.ToString(d.Error), Start: aws.ToTime(d.StartDate), Stop: aws.ToTime(d.StopDate)}
	pages := awssfn.NewGetExecutionHistoryPaginator(env.states, &awssfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetExecutionHistory %s: %v", name, err)
		}
		ex.History = append(ex.History, page.Events...)
	}
	scheduled, exited := false, ""
	for _, ev := range ex.History {
		switch {
		case ev.Type == sfntypes.HistoryEventTypeTaskScheduled && stateOf(ex.History, ev) == "Record":
			var params struct {
				Payload struct {
					Results map[string]runtime.ServerResult `json:"results"`
				}
			}
			if err := json.Unmarshal([]byte(aws.ToString(ev.TaskScheduledEventDetails.Parameters)), &params); err != nil {
				t.Fatalf("the record Task's parameters: %v", err)
			}
			ex.Results, scheduled = params.Payload.Results, true
		case ev.Type == sfntypes.HistoryEventTypeTaskStateExited && aws.ToString(ev.StateExitedEventDetails.Name) == "Record":
			exited = aws.ToString(ev.StateExitedEventDetails.Output)
			if err := json.Unmarshal([]byte(exited), &ex.Answer); err != nil {
				t.Fatalf("the record Task's answer %s: %v", exited, err)
			}
		}
	}
	if !scheduled {
		t.Fatalf("execution %s (%s %s %s) never scheduled its record Task", name, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if d.Status == sfntypes.ExecutionStatusSucceeded {
		// A succeeded run's output is the record Task's answer.
		var out runtime.RecordAnswer
		if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || out.Status != ex.Answer.Status || !slices.Equal(out.Failed, ex.Answer.Failed) {
			t.Errorf("execution %s output %s (%v), the record Task answered %s", name, aws.ToString(d.Output), err, exited)
		}
	}
	return ex
}

// stateOf is the state an event belongs to: the StateEntered event its
// chain of previous events leads back to (Parallel branches interleave).
func stateOf(history []sfntypes.HistoryEvent, ev sfntypes.HistoryEvent) string {
	byID := make(map[int64]sfntypes.HistoryEvent, len(history))
	for _, e := range history {
		byID[e.Id] = e
	}
	for ev.StateEnteredEventDetails == nil {
		prev, ok := byID[ev.PreviousEventId]
		if !ok {
			return ""
		}
		ev = prev
	}
	return aws.ToString(ev.StateEnteredEventDetails.Name)
}

// taskFailures are the errors the Task of state had, attempt by attempt.
func taskFailures(history []sfntypes.HistoryEvent, state string) []*sfntypes.TaskFailedEventDetails {
	var out []*sfntypes.TaskFailedEventDetails
	for _, ev := range history {
		if ev.Type == sfntypes.HistoryEventTypeTaskFailed && stateOf(history, ev) == state {
			out = append(out, ev.TaskFailedEventDetails)
		}
	}
	return out
}

// scheduledStates are the states whose Tasks were scheduled, with how
// many times.
func scheduledStates(history []sfntypes.HistoryEvent) map[string]int {
	out := map[string]int{}
	for _, ev := range history {
		if ev.Type == sfntypes.HistoryEventTypeTaskScheduled {
			out[stateOf(history, ev)]++
		}
	}
	return out
}

// ---------------------------------------------------------------- the tests

var diamondOps = map[string][]string{"A": nil, "B": {"A"}, "C": {"A"}, "D": {"B", "C"}}

func diamondHandlers(wf string) map[string]string {
	return map[string]string{fnName(wf, "A"): "ops:a", fnName(wf, "B"): "ops:b", fnName(wf, "C"): "ops:c", fnName(wf, "D"): "ops:d"}
}

// A diamond run as a state machine runs it: every operator invoked, its
// output, what it takes and its result stored where the executor stores
// them, and a record the executor's run.Record reads field by field. Run
// again, everything is cached from the first run; run with the cache found
// before the start in the input, no operator is invoked; and the run
// executor then finds the same cache, invoking nothing.
func TestServerContract_diamondThenCachedAndSharedWithTheExecutor(t *testing.T) {
	env := newServerEnv(t)
	const wf = "diamond"
	params := map[string]string{"base": "4", "scale": "3"}
	ms := env.putWorkflow(wf, params, diamondOps)
	inv := env.invoker(diamondHandlers(wf), serverSecret)
	machine := env.machine(wf, ms, "D")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	in := serverInput(t, "sfn-1", wf, params, ms)
	first := env.execute(ctx, machine, in, "exec-1")
	if first.Status != sfntypes.ExecutionStatusSucceeded || first.Answer.Status != StatusSucceeded || len(first.Answer.Failed) != 0 {
		t.Fatalf("first execution: %s %s, answer %+v", first.Status, first.Error, first.Answer)
	}
	// One Task per operator, and the record Task on the target's function.
	wantInvoked := map[string]int{fnName(wf, "A"): 1, fnName(wf, "B"): 1, fnName(wf, "C"): 1, fnName(wf, "D"): 2}
	if got := inv.take(); fmt.Sprint(got) != fmt.Sprint(wantInvoked) {
		t.Errorf("invoked %v, want %v", got, wantInvoked)
	}

	rec, raw := env.record(wf, "sfn-1")
	if rec.ID != "sfn-1" || rec.Workflow != wf || rec.Operator != "" || !slices.Equal(rec.Targets, []string{"D"}) ||
		rec.Identity != in.Run.Identity || rec.Status != StatusSucceeded || rec.Invoked != 4 || rec.Warnings != nil || rec.Reused {
		t.Errorf("record: %+v", rec)
	}
	// The record's start is the execution's; its end is measured, after
	// every operator's and before the execution's.
	var lastOp time.Time
	for _, op := range rec.Operators {
		if op.FinishedAt.After(lastOp) {
			lastOp = op.FinishedAt
		}
	}
	if rec.StartedAt.Sub(first.Start).Abs() > wireSlack || lastOp.IsZero() || rec.FinishedAt.Before(lastOp) || rec.FinishedAt.After(first.Stop.Add(wireSlack)) {
		t.Errorf("record started %s, finished %s; the execution ran from %s to %s, its operators until %s", rec.StartedAt, rec.FinishedAt, first.Start, first.Stop, lastOp)
	}
	if d := rec.DurationMS - rec.FinishedAt.Sub(rec.StartedAt).Milliseconds(); d < -1 || d > 1 {
		t.Errorf("record duration %d ms from %s to %s", rec.DurationMS, rec.StartedAt, rec.FinishedAt)
	}
	if len(rec.Parameters) != 2 || string(rec.Parameters["base"]) != "4" || string(rec.Parameters["scale"]) != "3" {
		t.Errorf("record parameters %s", rec.Parameters)
	}

	outputs := map[string]string{"A": `{"n":4}`, "B": "12", "C": "", "D": `{"b":12,"c":5,"c_type":"Box"}`}
	types := map[string]string{"A": runtime.ContentTypeJSON, "B": runtime.ContentTypeJSON, "C": runtime.ContentTypePickle, "D": runtime.ContentTypeJSON}
	takes := map[string]runtime.Accepts{"A": {Names: []string{"base"}}, "B": {Names: []string{"scale"}}, "C": {Names: []string{}}, "D": {Names: []string{}}}
	for _, name := range sortedKeys(ms) {
		m, op, res := ms[name], rec.Operators[name], first.Results[name]
		accepts := takes[name]
		var upstream []string
		for _, up := range m.Inputs {
			upstream = append(upstream, rec.Operators[up].CacheKey)
		}
		// The key is the executor's own, for the same inputs.
		key := cacheKey(m.Lineage, &accepts, in.Parameters, nil, upstream)
		// What it takes was not known yet: the output is in the run's folder.
		outKey := artifacts.RunOutputKey(serverPrefix, wf, "sfn-1", name)
		stored := env.object(outKey)
		if op == nil || op.Status != StatusSucceeded || op.FunctionName != m.FunctionName || op.ImageURI != m.ImageURI || op.Lineage != m.Lineage ||
			op.CacheKey != key || op.CachedFrom != "" || op.OutputKey != outKey || op.OutputURI != env.store.URI(outKey) ||
			op.ContentType != types[name] || op.SizeBytes != int64(len(stored)) || string(op.Output) != outputs[name] ||
			op.Error != nil || op.SkippedBecause != "" || op.LogTail != "" || op.Warning != "" {
			t.Errorf("%s: %+v, want key %s and output %s", name, op, key, outputs[name])
			continue
		}
		if op.StartedAt.IsZero() || op.StartedAt.Before(first.Start.Add(-wireSlack)) || op.FinishedAt.Before(op.StartedAt) || !op.StartedAt.Equal(res.StartedAt) ||
			!op.FinishedAt.Equal(res.FinishedAt) || op.DurationMS != res.DurationMS || op.FinishedAt.After(rec.FinishedAt) {
			t.Errorf("%s ran from %s to %s (%d ms); its result says %s to %s", name, op.StartedAt, op.FinishedAt, op.DurationMS, res.StartedAt, res.FinishedAt)
		}
		if res.Status != StatusSucceeded || res.CacheKey != key || res.OutputKey != outKey || res.ContentType != types[name] || res.SizeBytes != op.SizeBytes {
			t.Errorf("%s's result: %+v", name, res)
		}
		var got runtime.Accepts
		if found, err := env.store.GetJSON(ctx, artifacts.AcceptsKey(serverPrefix, wf, m.Lineage), &got); err != nil || !found ||
			got.All != accepts.All || !slices.Equal(got.Names, accepts.Names) {
			t.Errorf("%s takes %+v (found %v, %v), want %+v", name, got, found, err, accepts)
		}
		var cached artifacts.CachedResult
		if found, err := env.store.GetJSON(ctx, artifacts.ResultKey(serverPrefix, wf, key), &cached); err != nil || !found ||
			cached.RunID != "sfn-1" || cached.OutputKey != outKey || cached.ContentType != types[name] || cached.SizeBytes != op.SizeBytes ||
			string(cached.Preview) != outputs[name] || !cached.FinishedAt.Equal(op.FinishedAt) || cached.DurationMS != op.DurationMS {
			t.Errorf("%s's cached result: %+v (found %v, %v)", name, cached, found, err)
		}
	}
	if !bytes.Contains(raw, []byte(`"output": {"b":12,"c":5,"c_type":"Box"}`)) {
		t.Errorf("D's output is not in the record as stored:\n%s", raw)
	}

	// Again: every operator is answered from the first run's cache.
	second := env.execute(ctx, machine, serverInput(t, "sfn-2", wf, params, ms), "exec-2")
	if second.Status != sfntypes.ExecutionStatusSucceeded || second.Answer.Status != StatusSucceeded {
		t.Fatalf("second execution: %s %s, answer %+v", second.Status, second.Error, second.Answer)
	}
	if got := inv.take(); fmt.Sprint(got) != fmt.Sprint(wantInvoked) {
		t.Errorf("second execution invoked %v, want %v", got, wantInvoked)
	}
	again, _ := env.record(wf, "sfn-2")
	if statuses(again) != "A=cached B=cached C=cached D=cached" || again.Invoked != 0 {
		t.Errorf("second execution: %s, invoked %d", statuses(again), again.Invoked)
	}
	for name, op := range again.Operators {
		was := rec.Operators[name]
		if op.CachedFrom != "sfn-1" || op.CacheKey != was.CacheKey || op.OutputKey != was.OutputKey || op.SizeBytes != was.SizeBytes ||
			!bytes.Equal(op.Output, was.Output) || op.ImageURI != was.ImageURI || second.Results[name].CachedFrom != "sfn-1" {
			t.Errorf("%s the second time: %+v", name, op)
		}
	}

	// Third, with what the cache held before the start in the input, as
	// sfnrun.Runner.Run starts runs: only the record Task invokes a function.
	p, err := Prepare(ctx, env.store, Request{Workflow: wf})
	if err != nil {
		t.Fatal(err)
	}
	found, err := p.Cached(ctx, env.store)
	if err != nil {
		t.Fatal(err)
	}
	in3 := serverInput(t, "sfn-3", wf, params, ms)
	in3.Cached = ServerResults(found)
	if len(in3.Cached) != len(ms) {
		t.Fatalf("found cached before the start: %v", sortedKeys(found))
	}
	third := env.execute(ctx, machine, in3, "exec-3")
	if third.Status != sfntypes.ExecutionStatusSucceeded || third.Answer.Status != StatusSucceeded {
		t.Fatalf("third execution: %s %s, answer %+v", third.Status, third.Error, third.Answer)
	}
	if got, want := inv.take(), map[string]int{fnName(wf, "D"): 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("third execution invoked %v, want %v: the record Task only", got, want)
	}
	if got := scheduledStates(third.History); fmt.Sprint(got) != "map[Record:1]" {
		t.Errorf("third execution scheduled the Tasks of %v", got)
	}
	rec3, _ := env.record(wf, "sfn-3")
	if statuses(rec3) != "A=cached B=cached C=cached D=cached" || rec3.Invoked != 0 || rec3.Status != StatusSucceeded {
		t.Errorf("third execution: %s, invoked %d", statuses(rec3), rec3.Invoked)
	}
	for name, op := range rec3.Operators {
		was := rec.Operators[name]
		if op.CachedFrom != "sfn-1" || op.CacheKey != was.CacheKey || op.OutputKey != was.OutputKey || op.SizeBytes != was.SizeBytes ||
			!bytes.Equal(op.Output, was.Output) || third.Results[name] != in3.Cached[name] {
			t.Errorf("%s the third time: %+v; the record Task got %+v", name, op, third.Results[name])
		}
	}

	// The run executor reads the same cache.
	goRec, err := Execute(ctx, env.store, inv, Request{Workflow: wf})
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.take(); len(got) != 0 {
		t.Errorf("the executor invoked %v; the server runs cached everything", got)
	}
	if statuses(goRec) != "A=cached B=cached C=cached D=cached" || goRec.Status != StatusSucceeded {
		t.Errorf("the executor's run: %s", statuses(goRec))
	}
	for name, op := range goRec.Operators {
		was := rec.Operators[name]
		if op.CachedFrom != "sfn-1" || op.CacheKey != was.CacheKey || op.OutputKey != was.OutputKey || !bytes.Equal(op.Output, was.Output) {
			t.Errorf("%s in the executor's run: %+v, the server's: %+v", name, op, was)
		}
	}
	if passed, failed := env.proxy.counts(); passed == 0 || len(failed) != 0 {
		t.Errorf("%d requests signed right, refused: %v", passed, failed)
	}
}

// The runtime finds what the run executor cached: a server run after an
// executor run answers every operator from it and stores nothing new.
func TestServerContract_runtimeUsesTheExecutorsCache(t *testing.T) {
	env := newServerEnv(t)
	const wf = "vice"
	params := map[string]string{"base": "7", "scale": "2"}
	ms := env.putWorkflow(wf, params, diamondOps)
	inv := env.invoker(diamondHandlers(wf), serverSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	goRec, err := Execute(ctx, env.store, inv, Request{Workflow: wf})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(goRec) != "A=succeeded B=succeeded C=succeeded D=succeeded" {
		t.Fatalf("the executor's run: %s", statuses(goRec))
	}
	inv.take()

	ex := env.execute(ctx, env.machine(wf, ms, "D"), serverInput(t, "sfn-after", wf, params, ms), "exec-after")
	rec, _ := env.record(wf, "sfn-after")
	if ex.Status != sfntypes.ExecutionStatusSucceeded || ex.Answer.Status != StatusSucceeded || statuses(rec) != "A=cached B=cached C=cached D=cached" || rec.Invoked != 0 {
		t.Fatalf("the server run after the executor's: %s", statuses(rec))
	}
	for name, op := range rec.Operators {
		made := goRec.Operators[name]
		if op.CachedFrom != goRec.ID || op.CacheKey != made.CacheKey || op.OutputKey != made.OutputKey || op.ContentType != made.ContentType ||
			op.SizeBytes != made.SizeBytes || !bytes.Equal(op.Output, made.Output) {
			t.Errorf("%s: the server run has %+v, the executor made %+v", name, op, made)
		}
		if found, err := env.store.Exists(ctx, artifacts.RunOutputKey(serverPrefix, wf, "sfn-after", name)); err != nil || found {
			t.Errorf("the server run stored an output for %s (%v)", name, err)
		}
	}
	if got := string(rec.Operators["D"].Output); got != `{"b":14,"c":8,"c_type":"Box"}` {
		t.Errorf("D: %s", got)
	}
}

// A failing operator is caught into the record with its error document
// parsed; what follows it is skipped; and an operator changed after the run
// was planned fails with Aqueduct.StaleLineage rather than run.
func TestServerContract_failuresSkipsAndStaleLineageReachTheRecord(t *testing.T) {
	env := newServerEnv(t)
	const wf = "fails"
	params := map[string]string{"base": "4"}
	ms := env.putWorkflow(wf, params, map[string][]string{"A": nil, "E": {"A"}, "F": {"E"}})
	inv := env.invoker(map[string]string{fnName(wf, "A"): "ops:a", fnName(wf, "E"): "ops:boom", fnName(wf, "F"): "ops:after"}, serverSecret)
	machine := env.machine(wf, ms, "F")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ex := env.execute(ctx, machine, serverInput(t, "sfn-fail", wf, params, ms), "exec-fail")
	if ex.Status != sfntypes.ExecutionStatusFailed || ex.Error != "Aqueduct.RunFailed" || ex.Answer.Status != StatusFailed || !slices.Equal(ex.Answer.Failed, []string{"E"}) {
		t.Fatalf("execution: %s %s, answer %+v", ex.Status, ex.Error, ex.Answer)
	}
	if e := ex.Results["E"]; e.Error == nil || e.Error.Error != "KeyError" {
		t.Errorf("E's result: %+v", e)
	}
	rec, _ := env.record(wf, "sfn-fail")
	if rec.Status != StatusFailed || statuses(rec) != "A=succeeded E=failed F=skipped" || rec.Invoked != 1 || !slices.Equal(rec.FailedOperators(), []string{"E"}) {
		t.Fatalf("record: %s, invoked %d", statuses(rec), rec.Invoked)
	}
	e := rec.Operators["E"]
	if e.Error == nil || e.Error.Type != "KeyError" || e.Error.Message != "'no key 4'" ||
		!strings.HasPrefix(e.Error.Traceback, "Traceback (most recent call last):\n") ||
		!strings.Contains(e.Error.Traceback, `raise KeyError("no key %d" % a["n"])`) ||
		!strings.HasSuffix(e.Error.Traceback, "KeyError: 'no key 4'") ||
		e.OutputKey != "" || e.CacheKey != "" || e.FunctionName != fnName(wf, "E") || e.Lineage != ms["E"].Lineage || e.ImageURI != ms["E"].ImageURI {
		t.Errorf("E: %+v, error %+v", e, e.Error)
	}
	if f := rec.Operators["F"]; f.SkippedBecause != "an upstream operator did not succeed" || f.Error != nil {
		t.Errorf("F: %+v", f)
	}

	// A changes after the run is planned: its Task refuses to run it.
	planned := serverInput(t, "sfn-stale", wf, params, ms)
	changed := *ms["A"]
	newImage("b")(&changed)
	changed.Lineage = artifacts.LineageOf(&changed, changed.InputLineages)
	env.putOperator(changed)
	inv.take()
	ex = env.execute(ctx, machine, planned, "exec-stale")
	if ex.Status != sfntypes.ExecutionStatusFailed || !slices.Equal(ex.Answer.Failed, []string{"A"}) {
		t.Fatalf("stale execution: %s %s, answer %+v", ex.Status, ex.Error, ex.Answer)
	}
	rec, _ = env.record(wf, "sfn-stale")
	a := rec.Operators["A"]
	if statuses(rec) != "A=failed E=skipped F=skipped" || a.Error == nil || a.Error.Type != "Aqueduct.StaleLineage" ||
		!strings.Contains(a.Error.Message, changed.Lineage) || !strings.Contains(a.Error.Message, ms["A"].Lineage) ||
		a.ImageURI != "" || rec.Invoked != 0 {
		t.Errorf("stale run: %s, A %+v, error %+v", statuses(rec), a, a.Error)
	}
	if found, err := env.store.Exists(ctx, artifacts.RunOutputKey(serverPrefix, wf, "sfn-stale", "A")); err != nil || found {
		t.Errorf("the stale operator stored an output (%v)", err)
	}
}

// A function whose credentials S3 does not take fails with
// Aqueduct.StoreError naming the object and S3's code, and neither its
// error, its log nor the execution's history holds a credential, though
// S3's answer holds the token.
func TestServerContract_refusedSignatureIsAStoreErrorWithoutCredentials(t *testing.T) {
	env := newServerEnv(t)
	const wf = "creds"
	ms := env.putWorkflow(wf, nil, map[string][]string{"A": nil})
	const wrong = "not/the+role-secret"
	inv := env.invoker(map[string]string{fnName(wf, "A"): "ops:a"}, wrong)
	machine := env.machine(wf, ms, "A")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ex := env.execute(ctx, machine, serverInput(t, "sfn-creds", wf, nil, ms), "exec-creds")
	failures := taskFailures(ex.History, "A")
	if ex.Status != sfntypes.ExecutionStatusFailed || len(failures) != 1 || aws.ToString(failures[0].Error) != "Aqueduct.StoreError" {
		t.Fatalf("execution %s %s; A's Task failed with %+v", ex.Status, ex.Error, failures)
	}
	cause := aws.ToString(failures[0].Cause)
	var fe runtime.FunctionError
	if err := json.Unmarshal([]byte(cause), &fe); err != nil {
		t.Fatal(err)
	}
	manifest := env.store.URI(artifacts.OperatorKey(serverPrefix, wf, "A"))
	if !strings.Contains(fe.ErrorMessage, "GET "+manifest) || !strings.Contains(fe.ErrorMessage, "SignatureDoesNotMatch") {
		t.Errorf("error message %q does not name the object and S3's code", fe.ErrorMessage)
	}
	logs := inv.fns[fnName(wf, "A")].logs.String()
	history, err := json.Marshal(ex.History)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{wrong, serverSecret, serverToken, serverAccessKey, "Signature="} {
		if strings.Contains(cause, secret) || strings.Contains(logs, secret) || strings.Contains(string(history), secret) {
			t.Errorf("the error, the log or the history holds %q:\n%s\n%s\n%s", secret, cause, logs, history)
		}
	}
	if _, failed := env.proxy.counts(); len(failed) == 0 {
		t.Error("the proxy refused nothing")
	}
}
