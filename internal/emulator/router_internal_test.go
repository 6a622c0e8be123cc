package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sigv4(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
}

func TestServiceOf(t *testing.T) {
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
	ecrTarget := req(http.MethodPost, "/", "")
	ecrTarget.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")

	cases := []struct {
		name string
		r    *http.Request
		want string
	}{
		{"admin", req(http.MethodGet, "/_emulator/health", ""), "admin"},
		{"signed iam", req(http.MethodPost, "/", sigv4("iam")), "iam"},
		{"signed sts", req(http.MethodPost, "/", sigv4("sts")), "sts"},
		{"signed s3 bucket named v2", req(http.MethodGet, "/v2/key", sigv4("s3")), "s3"},
		{"signed ecr", req(http.MethodPost, "/", sigv4("ecr")), "ecr"},
		{"signed lambda", req(http.MethodGet, "/2015-03-31/functions/f", sigv4("lambda")), "lambda"},
		{"signed other", req(http.MethodPost, "/", sigv4("dynamodb")), "unknown:dynamodb"},
		{"presigned s3", req(http.MethodGet, "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", ""), "s3"},
		{"registry ping", req(http.MethodGet, "/v2/", ""), "registry"},
		{"registry blob", req(http.MethodHead, "/v2/repo/blobs/sha256:ab", "Basic QVdTOng="), "registry"},
		{"ecr by target", ecrTarget, "ecr"},
		{"lambda by path", req(http.MethodPost, "/2015-03-31/functions/f/invocations", ""), "lambda"},
		{"unsigned sts form", form("Action=GetCallerIdentity&Version=2011-06-15"), "sts"},
		{"unsigned iam form", form("Action=GetRole&RoleName=r&Version=2010-05-08"), "iam"},
		{"unsigned s3", req(http.MethodGet, "/bucket/key", ""), "s3"},
	}
	for _, c := range cases {
		if got := serviceOf(c.r); got != c.want {
			t.Errorf("%s: serviceOf = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestOperationOf(t *testing.T) {
	cases := []struct {
		service, method, target, want string
	}{
		{"lambda", "POST", "/2015-03-31/functions", "CreateFunction"},
		{"lambda", "GET", "/2015-03-31/functions/", "ListFunctions"},
		{"lambda", "GET", "/2015-03-31/functions/f", "GetFunction"},
		{"lambda", "DELETE", "/2015-03-31/functions/f", "DeleteFunction"},
		{"lambda", "PUT", "/2015-03-31/functions/f/configuration", "UpdateFunctionConfiguration"},
		{"lambda", "GET", "/2015-03-31/functions/f/configuration", "GetFunctionConfiguration"},
		{"lambda", "PUT", "/2015-03-31/functions/f/code", "UpdateFunctionCode"},
		{"lambda", "POST", "/2015-03-31/functions/f/invocations", "Invoke"},
		{"lambda", "POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:f", "TagResource"},
		{"lambda", "GET", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:f", "ListTags"},
		{"registry", "GET", "/v2/", "Ping"},
		{"registry", "POST", "/v2/repo/blobs/uploads/", "StartUpload"},
		{"registry", "PUT", "/v2/repo/blobs/uploads/123?digest=sha256:ab", "CompleteUpload"},
		{"registry", "HEAD", "/v2/repo/blobs/sha256:ab", "HeadBlob"},
		{"registry", "PUT", "/v2/a/b/manifests/latest", "PutManifest"},
		{"s3", "PUT", "/bucket/key", "PutObject"},
		{"admin", "POST", "/_emulator/faults", "POST /faults"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, nil)
		if got := operationOf(c.service, r); got != c.want {
			t.Errorf("%s %s %s: operation %q, want %q", c.service, c.method, c.target, got, c.want)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")
	if got := operationOf("ecr", r); got != "GetAuthorizationToken" {
		t.Errorf("ecr operation = %q", got)
	}
}

func TestFaultSpread(t *testing.T) {
	s := newFaultState(Faults{}, 0)
	if err := s.set(Faults{ThrottleRate: 0.5, ErrorRate: 0.25, Services: []string{"iam"}}); err != nil {
		t.Fatal(err)
	}
	counts := map[faultKind]int{}
	var pattern []faultKind
	for range 100 {
		_, k := s.decide("iam")
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
	if _, k := s.decide("s3"); k != noFault {
		t.Error("s3 got a fault though services names only iam")
	}

	if err := s.set(Faults{ThrottleRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, k := s.decide("lambda"); k != throttleFault {
		t.Error("empty services should mean every API service")
	}
	if _, k := s.decide("registry"); k != noFault {
		t.Error("the registry got a fault without being named")
	}
	if err := s.set(Faults{ErrorRate: 1, Services: []string{"registry"}}); err != nil {
		t.Fatal(err)
	}
	if _, k := s.decide("registry"); k != errorFault {
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
		{Services: []string{"dynamodb"}},
	} {
		if f.Validate() == nil {
			t.Errorf("%+v validated", f)
		}
	}
	if err := (Faults{ThrottleRate: 1, ErrorRate: 1, LatencyMS: 5, Services: faultServices}).Validate(); err != nil {
		t.Errorf("valid faults: %v", err)
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
