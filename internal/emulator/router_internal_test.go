package emulator

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

func sigv4(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
}

// startInternal starts an emulator for the tests inside the package, which
// cannot use emulatortest. Nothing here needs Docker.
func startInternal(t *testing.T) *Emulator {
	t.Helper()
	e, err := Start(context.Background(), Options{TransitionDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// routed serves r and returns the service and operation the request log
// names it by.
func routed(t *testing.T, e *Emulator, r *http.Request) (service, op string) {
	t.Helper()
	e.ServeHTTP(httptest.NewRecorder(), r)
	reqs := e.Requests()
	last := reqs[len(reqs)-1]
	return last.Service, last.Operation
}

// TestRouting: which service and operation the router and the request log
// name a request by, from its SigV4 scope, X-Amz-Target, form Action or path.
func TestRouting(t *testing.T) {
	e := startInternal(t)
	form := func(body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		return r
	}
	req := func(method, target, auth string) *http.Request {
		r := httptest.NewRequest(method, target, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	target := func(auth, op string) *http.Request {
		r := req(http.MethodPost, "/", auth)
		r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921."+op)
		return r
	}
	arn := "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af"

	cases := []struct {
		name        string
		r           *http.Request
		service, op string
	}{
		{"admin", req(http.MethodGet, "/_emulator/health", ""), "admin", "GET /health"},
		{"admin faults", req(http.MethodPost, "/_emulator/faults", ""), "admin", "POST /faults"},
		{"signed iam", func() *http.Request {
			r := form("Action=GetRole&RoleName=r")
			r.Header.Set("Authorization", sigv4("iam"))
			return r
		}(), "iam", "GetRole"},
		{"signed sts", func() *http.Request {
			r := form("Action=GetCallerIdentity")
			r.Header.Set("Authorization", sigv4("sts"))
			return r
		}(), "sts", "GetCallerIdentity"},
		{"signed s3 bucket named v2", req(http.MethodGet, "/v2/key", sigv4("s3")), "s3", "GetObject"},
		{"signed ecr", target(sigv4("ecr"), "DescribeRepositories"), "ecr", "DescribeRepositories"},
		{"signed api.ecr", target(sigv4("api.ecr"), "GetAuthorizationToken"), "ecr", "GetAuthorizationToken"},
		{"signed lambda", req(http.MethodGet, "/2015-03-31/functions/f", sigv4("lambda")), "lambda", "GetFunction"},
		{"signed other", req(http.MethodPost, "/", sigv4("dynamodb")), "unknown:dynamodb", "POST /"},
		{"presigned s3", req(http.MethodGet, "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", ""), "s3", "GetObject"},
		{"registry ping", req(http.MethodGet, "/v2/", ""), "registry", "Ping"},
		{"registry blob", req(http.MethodHead, "/v2/repo/blobs/sha256:ab", "Basic QVdTOng="), "registry", "HeadBlob"},
		{"registry upload", req(http.MethodPost, "/v2/repo/blobs/uploads/", ""), "registry", "StartUpload"},
		{"registry chunk", req(http.MethodPut, "/v2/repo/blobs/uploads/123?digest=sha256:ab", ""), "registry", "CompleteUpload"},
		{"registry nested manifest", req(http.MethodPut, "/v2/a/b/manifests/latest", ""), "registry", "PutManifest"},
		{"ecr by target", target("", "DescribeRepositories"), "ecr", "DescribeRepositories"},
		{"ecr unknown target", target("", "PutLifecyclePolicy"), "ecr", "PutLifecyclePolicy"},
		{"lambda create", req(http.MethodPost, "/2015-03-31/functions", ""), "lambda", "CreateFunction"},
		{"lambda list", req(http.MethodGet, "/2015-03-31/functions/", ""), "lambda", "ListFunctions"},
		{"lambda delete", req(http.MethodDelete, "/2015-03-31/functions/f", ""), "lambda", "DeleteFunction"},
		{"lambda update configuration", req(http.MethodPut, "/2015-03-31/functions/f/configuration", ""), "lambda", "UpdateFunctionConfiguration"},
		{"lambda get configuration", req(http.MethodGet, "/2015-03-31/functions/f/configuration", ""), "lambda", "GetFunctionConfiguration"},
		{"lambda update code", req(http.MethodPut, "/2015-03-31/functions/f/code", ""), "lambda", "UpdateFunctionCode"},
		{"lambda invoke", req(http.MethodPost, "/2015-03-31/functions/f/invocations", ""), "lambda", "Invoke"},
		{"lambda tag", req(http.MethodPost, arn, ""), "lambda", "TagResource"},
		{"lambda list tags", req(http.MethodGet, arn, ""), "lambda", "ListTags"},
		{"lambda unknown", req(http.MethodGet, "/2015-03-31/functions/f/versions", ""), "lambda", "GET /2015-03-31/functions/f/versions"},
		{"signed states", func() *http.Request {
			r := req(http.MethodPost, "/", sigv4("states"))
			r.Header.Set("X-Amz-Target", "AWSStepFunctions.StartExecution")
			return r
		}(), "states", "StartExecution"},
		{"unsigned states", func() *http.Request {
			r := req(http.MethodPost, "/", "")
			r.Header.Set("X-Amz-Target", "AWSStepFunctions.DescribeExecution")
			return r
		}(), "states", "DescribeExecution"},
		{"unsigned sts form", form("Action=GetCallerIdentity&Version=2011-06-15"), "sts", "GetCallerIdentity"},
		{"unsigned iam form", form("Action=GetRole&RoleName=r&Version=2010-05-08"), "iam", "GetRole"},
		{"unsigned unknown form", form("Action=ListUsers&Version=2010-05-08"), "iam", "ListUsers"},
		{"unsigned s3", req(http.MethodGet, "/bucket/key", ""), "s3", "GetObject"},
		{"s3 put", req(http.MethodPut, "/bucket/key", ""), "s3", "PutObject"},
	}
	for _, c := range cases {
		if svc, op := routed(t, e, c.r); svc != c.service || op != c.op {
			t.Errorf("%s: logged as %s %s, want %s %s", c.name, svc, op, c.service, c.op)
		}
	}
}

func TestFaultSpread(t *testing.T) {
	s := newFaultState(Faults{}, 0)
	s.services = []string{"lambda", "registry", "s3", "iam"}
	if err := s.set(Faults{ThrottleRate: 0.5, ErrorRate: 0.25, Services: []string{"iam"}}); err != nil {
		t.Fatal(err)
	}
	counts := map[faultKind]int{}
	var pattern []faultKind
	for range 100 {
		_, k := s.decide("iam", false)
		counts[k]++
		pattern = append(pattern, k)
	}
	// Every second request is throttled; of the rest, every fourth errors.
	if counts[throttleFault] != 50 || counts[errorFault] != 12 {
		t.Errorf("counts = %v, want 50 throttles and 12 errors", counts)
	}
	for i := 1; i < len(pattern); i++ {
		if pattern[i] == throttleFault && pattern[i-1] == throttleFault {
			t.Fatalf("two throttles in a row at %d with rate 0.5", i)
		}
	}
	if _, k := s.decide("s3", false); k != noFault {
		t.Error("s3 got a fault though services names only iam")
	}

	if err := s.set(Faults{ThrottleRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, k := s.decide("lambda", false); k != throttleFault {
		t.Error("empty services should mean every API service")
	}
	if _, k := s.decide("registry", true); k != noFault {
		t.Error("the registry got a fault without being named")
	}
	if err := s.set(Faults{ErrorRate: 1, Services: []string{"registry"}}); err != nil {
		t.Fatal(err)
	}
	if _, k := s.decide("registry", true); k != errorFault {
		t.Error("the registry, named, got no fault")
	}
}

func TestFaultsValidate(t *testing.T) {
	neg := -1
	for _, f := range []Faults{
		{ThrottleRate: 1.5},
		{ErrorRate: -0.1},
		{LatencyMS: -1},
		{TransitionDelayMS: &neg},
	} {
		if f.Validate() == nil {
			t.Errorf("%+v validated", f)
		}
	}
	// Service names are the services' tables' names.
	e := startInternal(t)
	if err := e.SetFaults(Faults{Services: []string{"dynamodb"}}); err == nil || !strings.Contains(err.Error(), `unknown service "dynamodb"`) {
		t.Errorf("faults for dynamodb: %v", err)
	}
	want := []string{"lambda", "ecr", "registry", "iam", "sts", "s3", "states", "scheduler", "logs"}
	if got := e.serviceNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("services %v, want %v", got, want)
	}
	if err := e.SetFaults(Faults{ThrottleRate: 1, ErrorRate: 1, LatencyMS: 5, Services: want}); err != nil {
		t.Errorf("valid faults: %v", err)
	}
	if _, err := Start(context.Background(), Options{Faults: Faults{Services: []string{"sqs"}}}); err == nil {
		t.Error("Start took faults for a service it does not run")
	}
}

func TestTransitionDelay(t *testing.T) {
	s := newFaultState(Faults{}, DefaultTransitionDelay)
	if d := s.transitionDelay(); d != DefaultTransitionDelay {
		t.Errorf("default delay %v", d)
	}
	ms := 1500
	if err := s.set(Faults{TransitionDelayMS: &ms}); err != nil {
		t.Fatal(err)
	}
	if d := s.transitionDelay(); d.Milliseconds() != 1500 {
		t.Errorf("delay %v after transition_delay_ms 1500", d)
	}
	if err := s.set(Faults{}); err != nil {
		t.Fatal(err)
	}
	if got := *s.get().TransitionDelayMS; got != 200 {
		t.Errorf("after clearing, transition_delay_ms = %d, want the 200 default back", got)
	}
}

// wireError reads the error code a response carries, the way the
// protocol's SDK deserializer finds it, and says whether the response has
// the protocol's content type.
func wireError(t *testing.T, p awsproto.Protocol, w *httptest.ResponseRecorder) (code string, typed bool) {
	t.Helper()
	ct := w.Header().Get("Content-Type")
	body := w.Body.Bytes()
	switch p {
	case awsproto.AWSJSON10, awsproto.AWSJSON11:
		var b struct {
			Type    string `json:"__type"`
			Message *string
		}
		if json.Unmarshal(body, &b) != nil || b.Message == nil {
			t.Errorf("%s error body %q", p, body)
		}
		return b.Type, strings.HasPrefix(ct, "application/x-amz-json-1.")
	case awsproto.RESTJSON:
		var b struct{ Message, Type string }
		if json.Unmarshal(body, &b) != nil {
			t.Errorf("%s error body %q", p, body)
		}
		return w.Header().Get("X-Amzn-ErrorType"), ct == "application/json"
	case awsproto.AWSQuery:
		var b struct {
			Error struct{ Type, Code, Message string }
		}
		if xml.Unmarshal(body, &b) != nil || b.Error.Type == "" {
			t.Errorf("%s error body %q", p, body)
		}
		return b.Error.Code, ct == "text/xml"
	case awsproto.RESTXML:
		var b struct{ Code, Message string }
		if len(body) > 0 && xml.Unmarshal(body, &b) != nil {
			t.Errorf("%s error body %q", p, body)
		}
		return b.Code, ct == "application/xml"
	case awsproto.OCIDistribution:
		var b struct {
			Errors []struct{ Code, Message string }
		}
		if json.Unmarshal(body, &b) != nil || len(b.Errors) != 1 {
			t.Errorf("%s error body %q", p, body)
			return "", false
		}
		return b.Errors[0].Code, ct == "application/json"
	}
	t.Fatalf("no reader for protocol %s", p)
	return "", false
}

// unknownRequest is a request for an operation api does not have: a target
// or Action that no row names, or a method its first path does not take.
func unknownRequest(api *awsproto.API) *http.Request {
	r := api.Example(&api.Operations[0])
	switch api.Protocol {
	case awsproto.AWSJSON10, awsproto.AWSJSON11:
		r.Header.Set("X-Amz-Target", api.TargetPrefix+"NoSuchOperation")
	case awsproto.AWSQuery:
		r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=NoSuchOperation"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", sigv4(api.SigningNames[0]))
	default:
		r.Method = "PATCH"
	}
	return r
}

// TestUnknownOperationShapes: for every service, a request for an operation
// its table does not have gets that service's own error, in its protocol,
// and the log names the service.
func TestUnknownOperationShapes(t *testing.T) {
	e := startInternal(t)
	for _, api := range e.apis {
		t.Run(api.Name, func(t *testing.T) {
			r := unknownRequest(api)
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			want := api.Unknown("NoSuchOperation")
			code, typed := wireError(t, api.Protocol, w)
			if w.Code != want.Status || code != want.Code || !typed {
				t.Errorf("answered %d %q (%s), want %d %s in %s", w.Code, code, w.Header().Get("Content-Type"), want.Status, want.Code, api.Protocol)
			}
			last := e.Requests()[len(e.Requests())-1]
			if last.Service != api.Name {
				t.Errorf("logged as service %s", last.Service)
			}
		})
	}
}

// TestEveryOperationIsRouted: every row of every service's table is
// reachable through the router, which sends it to its service and row, and
// the request log names it by the row's name.
func TestEveryOperationIsRouted(t *testing.T) {
	e := startInternal(t)
	n := 0
	for _, api := range e.apis {
		for i := range api.Operations {
			op := &api.Operations[i]
			if in := op.Handler.Input(); in != nil && in.Kind() != reflect.Struct {
				t.Errorf("%s %s: input type %s is not a struct", api.Name, op.Name, in)
			}
			r := api.Example(op)
			if got, _ := e.apiFor(r); got != api {
				t.Errorf("%s %s: routed to %v", api.Name, op.Name, got)
				continue
			}
			if rt := api.Route(r); rt.Op == nil || rt.Op.Name != op.Name || rt.Op.HTTP != op.HTTP {
				t.Errorf("%s %s (%s): resolves to %+v", api.Name, op.Name, op.HTTP, rt.Op)
				continue
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, api.Example(op))
			last := e.Requests()[len(e.Requests())-1]
			if last.Service != api.Name || last.Operation != op.Name {
				t.Errorf("%s %s: logged as %s %s", api.Name, op.Name, last.Service, last.Operation)
			}
			if u := api.Unknown(op.Name); w.Code == u.Status {
				if code, _ := wireError(t, api.Protocol, w); code == u.Code {
					t.Errorf("%s %s: answered as an unknown operation", api.Name, op.Name)
				}
			}
			n++
		}
	}
	if n < 60 {
		t.Errorf("only %d operations in the tables", n)
	}
}

// TestFaultsNameEveryOperation: with every request failing, each row of each
// table gets its service's own 500 in its protocol, and the log names the
// operation and the fault.
func TestFaultsNameEveryOperation(t *testing.T) {
	e := startInternal(t)
	if err := e.SetFaults(Faults{ErrorRate: 1, Services: e.serviceNames()}); err != nil {
		t.Fatal(err)
	}
	for _, api := range e.apis {
		for i := range api.Operations {
			op := &api.Operations[i]
			w := httptest.NewRecorder()
			e.ServeHTTP(w, api.Example(op))
			last := e.Requests()[len(e.Requests())-1]
			if last.Service != api.Name || last.Operation != op.Name || last.Fault != "error" || last.Status != api.Failure.Status {
				t.Errorf("%s %s: logged %+v", api.Name, op.Name, last)
			}
			if code, typed := wireError(t, api.Protocol, w); code != api.Failure.Code && !(api.Protocol == awsproto.RESTXML && w.Body.Len() == 0) || !typed {
				t.Errorf("%s %s: fault answered %d %q", api.Name, op.Name, w.Code, w.Body)
			}
		}
	}
	// Throttles are each service's own too: Lambda's 429 carries Retry-After.
	if err := e.SetFaults(Faults{ThrottleRate: 1, Services: []string{"lambda"}}); err != nil {
		t.Fatal(err)
	}
	lambda := e.api("lambda")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, lambda.Example(&lambda.Operations[0]))
	if code, _ := wireError(t, awsproto.RESTJSON, w); w.Code != 429 || code != "TooManyRequestsException" || w.Header().Get("Retry-After") != "1" {
		t.Errorf("lambda throttle answered %d %s %v", w.Code, code, w.Header())
	}
}
