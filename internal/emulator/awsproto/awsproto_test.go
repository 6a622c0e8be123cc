package awsproto

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestErrorWire pins the bytes each protocol puts on the wire for an Error:
// they are what the SDKs' deserializers read.
func TestErrorWire(t *testing.T) {
	throttle := &Error{
		Status: 429, Code: "TooManyRequestsException", Message: "Rate Exceeded.",
		Header: http.Header{"Retry-After": {"1"}}, Fields: map[string]string{"Reason": "ConcurrentInvocationLimitExceeded"},
	}
	cases := []struct {
		name    string
		p       Protocol
		method  string
		e       *Error
		status  int
		headers map[string]string
		body    string // with the request id replaced by ID
	}{
		{"awsJson1_1", AWSJSON11, "POST", &Error{Status: 400, Code: "RepositoryNotFoundException", Message: "no repo"}, 400,
			map[string]string{"Content-Type": "application/x-amz-json-1.1"},
			`{"__type":"RepositoryNotFoundException","message":"no repo"}` + "\n"},
		{"awsJson1_0", AWSJSON10, "POST", &Error{Status: 400, Code: "ExecutionAlreadyExists", Message: "exists"}, 400,
			map[string]string{"Content-Type": "application/x-amz-json-1.0"},
			`{"__type":"ExecutionAlreadyExists","message":"exists"}` + "\n"},
		{"restJson1", RESTJSON, "GET", &Error{Status: 404, Code: "ResourceNotFoundException", Message: "Function not found: f"}, 404,
			map[string]string{"Content-Type": "application/json", "X-Amzn-ErrorType": "ResourceNotFoundException"},
			`{"Message":"Function not found: f","Type":"User","message":"Function not found: f"}` + "\n"},
		{"restJson1 server fault", RESTJSON, "GET", &Error{Status: 500, Code: "ServiceException", Message: "boom"}, 500,
			map[string]string{"X-Amzn-ErrorType": "ServiceException"},
			`{"Message":"boom","Type":"Service","message":"boom"}` + "\n"},
		{"restJson1 with header and fields", RESTJSON, "POST", throttle, 429,
			map[string]string{"Retry-After": "1", "X-Amzn-ErrorType": "TooManyRequestsException"},
			`{"Message":"Rate Exceeded.","Reason":"ConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}` + "\n"},
		{"awsQuery", AWSQuery, "POST", &Error{Status: 404, Code: "NoSuchEntity", Message: "The role with name r cannot be found."}, 404,
			map[string]string{"Content-Type": "text/xml"},
			`<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message></Error><RequestId>ID</RequestId></ErrorResponse>`},
		{"awsQuery receiver", AWSQuery, "POST", &Error{Status: 500, Code: "ServiceFailure", Message: "x"}, 500, nil,
			`<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>x</Message></Error><RequestId>ID</RequestId></ErrorResponse>`},
		{"restXml", RESTXML, "GET", &Error{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."}, 503,
			map[string]string{"Content-Type": "application/xml"},
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>ID</RequestId></Error>`},
		{"restXml HEAD has no body", RESTXML, "HEAD", &Error{Status: 404, Code: "NoSuchKey", Message: "gone"}, 404, nil, ``},
		{"OCI distribution", OCIDistribution, "GET", &Error{Status: 404, Code: "NAME_UNKNOWN", Message: "no repo"}, 404,
			map[string]string{"Content-Type": "application/json"},
			`{"errors":[{"code":"NAME_UNKNOWN","message":"no repo"}]}` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c.e.Write(w, httptest.NewRequest(c.method, "/", nil), c.p)
			if w.Code != c.status {
				t.Errorf("status %d, want %d", w.Code, c.status)
			}
			for k, v := range c.headers {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			id := w.Header().Get("X-Amzn-RequestId") + w.Header().Get("X-Amz-Request-Id")
			if c.p != OCIDistribution && id == "" {
				t.Error("no request id header")
			}
			body := w.Body.String()
			if id != "" {
				body = strings.ReplaceAll(body, id, "ID")
			}
			if body != c.body {
				t.Errorf("body\n%s\nwant\n%s", body, c.body)
			}
		})
	}
}

func TestBinding(t *testing.T) {
	cases := []struct {
		binding, method, target string
		labels                  map[string]string // nil: no match
	}{
		{"GET /2015-03-31/functions/{FunctionName}", "GET", "/2015-03-31/functions/f", map[string]string{"FunctionName": "f"}},
		{"GET /2015-03-31/functions/{FunctionName}", "GET", "/2015-03-31/functions/f/", map[string]string{"FunctionName": "f"}},
		{"GET /2015-03-31/functions/{FunctionName}", "PUT", "/2015-03-31/functions/f", nil},
		{"GET /2015-03-31/functions/{FunctionName}", "GET", "/2015-03-31/functions/f/code", nil},
		{"GET /2015-03-31/functions/", "GET", "/2015-03-31/functions", map[string]string{}},
		// An ARN's escaped colons and slashes stay in its label.
		{"GET /2017-03-31/tags/{Resource}", "GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Af%2Fx",
			map[string]string{"Resource": "arn:aws:lambda:us-east-1:0:function:f/x"}},
		{"GET /", "GET", "/", map[string]string{}},
		{"GET /", "GET", "/b", nil},
		{"GET /{Bucket}/{Key+}", "GET", "/b/a/b/c.json", map[string]string{"Bucket": "b", "Key": "a/b/c.json"}},
		{"GET /{Bucket}/{Key+}", "GET", "/b", nil},
		{"GET /{Bucket}?list-type=2", "GET", "/b?list-type=2&prefix=p", map[string]string{"Bucket": "b"}},
		{"GET /{Bucket}?list-type=2", "GET", "/b?list-type=1", nil},
		{"GET /{Bucket}?location", "GET", "/b?location", map[string]string{"Bucket": "b"}},
		{"GET /{Bucket}?location", "GET", "/b", nil},
		// A greedy label in the middle.
		{"PUT /v2/{name+}/manifests/{reference}", "PUT", "/v2/ops/train/manifests/v1", map[string]string{"name": "ops/train", "reference": "v1"}},
		{"PUT /v2/{name+}/manifests/{reference}", "PUT", "/v2/manifests/v1", nil},
		{"POST /v2/{name+}/blobs/uploads/", "POST", "/v2/a/b/c/blobs/uploads/", map[string]string{"name": "a/b/c"}},
	}
	for _, c := range cases {
		b, err := parseBinding(c.binding)
		if err != nil {
			t.Fatalf("%s: %v", c.binding, err)
		}
		labels, ok := b.match(httptest.NewRequest(c.method, c.target, nil))
		if ok != (c.labels != nil) || (ok && !reflect.DeepEqual(labels, c.labels)) {
			t.Errorf("%s on %s %s: %v %v, want %v", c.binding, c.method, c.target, labels, ok, c.labels)
		}
		// Every binding matches its own example.
		if _, ok := b.match(httptest.NewRequest(b.method, b.example(), nil)); !ok {
			t.Errorf("%s does not match its example %s", c.binding, b.example())
		}
	}
	for _, bad := range []string{"/no/method", "GET no-slash", "GET /{a+}/{b+}", "GET /x{a}", "GET /{}"} {
		if _, err := parseBinding(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

type restInput struct {
	Name    string   `http:"label=Name"`
	Q       string   `http:"query=Qualifier"`
	Keys    []string `http:"query=tagKeys"`
	Type    string   `http:"header=X-Amz-Invocation-Type"`
	Memory  int      `json:"MemorySize"`
	Payload []byte
}

type payloadInput struct {
	Name    string `http:"label=Name"`
	Payload []byte `http:"payload"`
}

type formInput struct {
	RoleName string `query:"RoleName"`
	Tags     []struct {
		Key   string `query:"Key"`
		Value string `query:"Value"`
	} `query:"Tags.member"`
}

// TestHandle: the protocols decode each input type's bindings before the
// handler runs, and encode its output or error.
func TestHandle(t *testing.T) {
	var gotREST restInput
	var gotPayload payloadInput
	var gotForm formInput
	api := &API{
		Name: "test", Protocol: RESTJSON,
		Operations: []Operation{
			{Name: "Rest", HTTP: "PUT /f/{Name}", Code: 201, Handler: Handle(func(_ *Call, in *restInput) (any, error) {
				gotREST = *in
				return map[string]int{"MemorySize": in.Memory}, nil
			})},
			{Name: "Payload", HTTP: "POST /f/{Name}/invocations", Handler: Handle(func(c *Call, in *payloadInput) (any, error) {
				gotPayload = *in
				c.Writer.WriteHeader(http.StatusAccepted) // answers itself
				return nil, nil
			})},
			{Name: "NoContent", HTTP: "DELETE /f/{Name}", Code: 204, Handler: Handle(func(*Call, *struct{}) (any, error) {
				var e *Error
				return nil, e // a nil *Error is no error
			})},
			{Name: "Fails", HTTP: "GET /fail", Handler: Handle(func(*Call, *struct{}) (any, error) {
				return nil, errors.New("disk full")
			})},
		},
		Unknown:  func(asked string) *Error { return Errorf(404, "UnknownOperationException", "no %s", asked) },
		BadInput: func(err error) *Error { return Errorf(400, "InvalidRequestContentException", "bad: %v", err) },
		Failure:  &Error{Status: 500, Code: "ServiceException", Message: "internal"},
	}
	do := func(a *API, method, target, body string, header ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w
	}

	w := do(api, "PUT", "/f/fn?Qualifier=q&tagKeys=a&tagKeys=b", `{"MemorySize":512}`, "X-Amz-Invocation-Type", "Event")
	if w.Code != 201 || w.Body.String() != `{"MemorySize":512}`+"\n" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("Rest answered %d %q", w.Code, w.Body)
	}
	if want := (restInput{Name: "fn", Q: "q", Keys: []string{"a", "b"}, Type: "Event", Memory: 512}); !reflect.DeepEqual(gotREST, want) {
		t.Errorf("Rest input %+v, want %+v", gotREST, want)
	}
	if w := do(api, "POST", "/f/fn/invocations", `not json`); w.Code != 202 || string(gotPayload.Payload) != "not json" || gotPayload.Name != "fn" {
		t.Errorf("Payload answered %d with input %+v", w.Code, gotPayload)
	}
	if w := do(api, "DELETE", "/f/fn", ""); w.Code != 204 || w.Body.Len() != 0 || w.Header().Get("X-Amzn-RequestId") == "" {
		t.Errorf("NoContent answered %d %q", w.Code, w.Body)
	}
	if w := do(api, "GET", "/fail", ""); w.Code != 500 || w.Header().Get("X-Amzn-ErrorType") != "ServiceException" || !strings.Contains(w.Body.String(), `"message":"disk full"`) {
		t.Errorf("Fails answered %d %q", w.Code, w.Body)
	}
	if w := do(api, "PUT", "/f/fn", `{"MemorySize":`); w.Code != 400 || w.Header().Get("X-Amzn-ErrorType") != "InvalidRequestContentException" {
		t.Errorf("bad JSON answered %d %q", w.Code, w.Body)
	}
	if w := do(api, "PATCH", "/f/fn", ""); w.Code != 404 || !strings.Contains(w.Body.String(), "no PATCH /f/fn") {
		t.Errorf("unknown answered %d %q", w.Code, w.Body)
	}

	query := &API{
		Name: "q", Protocol: AWSQuery, XMLNamespace: "https://example.com/doc/",
		Operations: []Operation{{Name: "CreateRole", Handler: Handle(func(_ *Call, in *formInput) (any, error) {
			gotForm = *in
			return struct {
				RoleName string `xml:"RoleName"`
			}{in.RoleName}, nil
		})}},
	}
	w = do(query, "POST", "/", "Action=CreateRole&RoleName=r&Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2&Tags.member.2.Value=",
		"Content-Type", "application/x-www-form-urlencoded")
	id := w.Header().Get("X-Amzn-RequestId")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<CreateRoleResponse xmlns="https://example.com/doc/"><CreateRoleResult><RoleName>r</RoleName></CreateRoleResult><ResponseMetadata><RequestId>` + id + `</RequestId></ResponseMetadata></CreateRoleResponse>`
	if w.Code != 200 || w.Body.String() != want {
		t.Errorf("query answered %d\n%s\nwant\n%s", w.Code, w.Body, want)
	}
	if gotForm.RoleName != "r" || len(gotForm.Tags) != 2 || gotForm.Tags[0].Key != "k1" || gotForm.Tags[0].Value != "v1" || gotForm.Tags[1].Key != "k2" {
		t.Errorf("form input %+v", gotForm)
	}

	type jsonIn struct {
		Name string `json:"name"`
	}
	jsonAPI := &API{
		Name: "j", Protocol: AWSJSON10, TargetPrefix: "AWSStepFunctions.",
		Operations: []Operation{{Name: "DescribeExecution", Handler: Handle(func(_ *Call, in *jsonIn) (any, error) {
			return map[string]string{"name": in.Name}, nil
		})}},
	}
	w = do(jsonAPI, "POST", "/", `{"name":"run-1"}`, "X-Amz-Target", "AWSStepFunctions.DescribeExecution")
	if w.Code != 200 || w.Body.String() != `{"name":"run-1"}`+"\n" || w.Header().Get("Content-Type") != "application/x-amz-json-1.0" {
		t.Errorf("awsJson answered %d %q %s", w.Code, w.Body, w.Header().Get("Content-Type"))
	}
	w = do(jsonAPI, "POST", "/", `{}`, "X-Amz-Target", "AWSStepFunctions.StartExecution")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"__type":"UnknownOperationException"`) {
		t.Errorf("awsJson unknown answered %d %q", w.Code, w.Body)
	}
}

func TestTableMistakesPanic(t *testing.T) {
	h := Handle(func(*Call, *struct{}) (any, error) { return nil, nil })
	for name, api := range map[string]*API{
		"REST row without binding": {Name: "x", Protocol: RESTJSON, Operations: []Operation{{Name: "A", Handler: h}}},
		"JSON row with binding":    {Name: "x", Protocol: AWSJSON11, Operations: []Operation{{Name: "A", HTTP: "GET /a", Handler: h}}},
		"row without handler":      {Name: "x", Protocol: AWSQuery, Operations: []Operation{{Name: "A"}}},
		"row listed twice":         {Name: "x", Protocol: AWSQuery, Operations: []Operation{{Name: "A", Handler: h}, {Name: "A", Handler: h}}},
		"bad binding":              {Name: "x", Protocol: RESTJSON, Operations: []Operation{{Name: "A", HTTP: "GET nope", Handler: h}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			api.Route(httptest.NewRequest("GET", "/", nil))
		}()
	}
}
