package awsproto

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// API is one emulated service's table of operations, and what the router,
// the fault injector and the request log know of the service. A service
// declares one API (ECR declares two: its API and its registry) and gets
// routing, input decoding, output encoding and its errors' wire shape from
// here.
type API struct {
	// Name names the service in the request log, in fault settings and in
	// /_emulator/health: lambda, ecr, registry, s3, iam, sts.
	Name     string
	Protocol Protocol
	// SigningNames are the SigV4 credential-scope service names that route
	// a signed request here (ECR: ecr and api.ecr). The registry has none.
	SigningNames []string
	// TargetPrefix is what X-Amz-Target starts with, for the awsJson
	// protocols (ECR: "AmazonEC2ContainerRegistry_V20150921.",
	// Step Functions: "AWSStepFunctions."); the operation's name follows it.
	TargetPrefix string
	// XMLNamespace is the xmlns of awsQuery results.
	XMLNamespace string
	// Operations is the table: one row per operation.
	Operations []Operation
	// Unknown answers a request that no row matches; asked is what the
	// request asked for (the target's operation, the Action, or method and
	// path).
	Unknown func(asked string) *Error
	// BadInput answers a request whose input cannot be decoded; nil means
	// SerializationException, 400.
	BadInput func(err error) *Error
	// Throttle and Failure are the service's own throttling error and 500,
	// which fault injection answers with. Failure also answers a handler
	// error that is not an *Error, with that error's text.
	Throttle, Failure *Error
	// FaultsOnlyWhenNamed keeps faults off this service unless the fault
	// settings name it (the registry: Docker has retry rules of its own).
	FaultsOnlyWhenNamed bool

	once     sync.Once
	bindings []binding // by operation index, REST protocols only
	byName   map[string]int
}

// Operation is one row of an API's table.
type Operation struct {
	// Name is the operation as AWS names it, e.g. CreateFunction. It is
	// matched against X-Amz-Target (awsJson) or Action (awsQuery), and it
	// names the request in the log and in fault decisions.
	Name string
	// HTTP is the REST binding, copied from the @http trait of the
	// service's Smithy model: "POST /2015-03-31/functions/{FunctionName}/invocations".
	// Labels are {Name}, a greedy label {Name+}; ?key and ?key=value are
	// query literals the request must carry. REST protocols only. When two
	// rows match, the earlier wins.
	HTTP string
	// Code is the HTTP status of a REST success; zero means 200.
	Code int
	// Handler serves the operation; see Handle and Forward.
	Handler Handler
}

// Handler serves one operation. Make one with Handle or Forward.
type Handler struct {
	input   reflect.Type // nil for Forward
	serve   func(c *Call, in any) (any, error)
	forward http.Handler
}

// Handle makes the handler of an operation whose input is In, which the
// API's protocol decodes from the request before h runs:
//
//   - awsJson: In is the JSON body.
//   - restJson: the JSON body, and fields tagged `http:"label=Name"`,
//     `http:"query=Name"` (string or []string), `http:"header=Name"`, or
//     `http:"payload"` ([]byte: the raw body, instead of JSON).
//   - awsQuery: fields tagged `query:"Name"` (strings), and lists of
//     structs tagged `query:"Name.member"`, read from Name.member.N.Field.
//
// h returns the output, which the protocol encodes (nil: an empty output),
// or an error, best an *Error. A handler that answers in its own way
// (Lambda's Invoke and its raw payload) writes to c.Writer and returns nil,
// nil.
func Handle[In any](h func(c *Call, in *In) (any, error)) Handler {
	return Handler{
		input: reflect.TypeFor[In](),
		serve: func(c *Call, in any) (any, error) { return h(c, in.(*In)) },
	}
}

// Forward makes the handler of an operation served by a library that reads
// the request and writes the answer itself (S3's gofakes3, the registry).
func Forward(h http.Handler) Handler { return Handler{forward: h} }

// Input is the operation's input type; nil for a forwarded operation.
func (h Handler) Input() reflect.Type { return h.input }

// Call is one request to an operation, as its handler sees it.
type Call struct {
	Request *http.Request
	// Writer is for handlers that answer in their own way; once they
	// write, the protocol writes nothing more.
	Writer http.ResponseWriter
	Op     *Operation
}

// Route is the operation a request asks for.
type Route struct {
	// Op is the row the request matches; nil when none does.
	Op *Operation
	// Name is Op.Name, or what the request asked for when no row matched.
	Name   string
	labels map[string]string
}

func (a *API) compile() {
	a.once.Do(func() {
		a.byName = map[string]int{}
		rest := a.rest()
		for i, op := range a.Operations {
			if op.Name == "" || (op.Handler.serve == nil && op.Handler.forward == nil) {
				panic(fmt.Sprintf("awsproto: %s operation %d has no name or no handler", a.Name, i))
			}
			if rest != (op.HTTP != "") {
				panic(fmt.Sprintf("awsproto: %s %s: HTTP bindings belong to REST protocols, and REST operations need one", a.Name, op.Name))
			}
			if _, dup := a.byName[op.Name]; dup && !rest {
				panic(fmt.Sprintf("awsproto: %s lists %s twice", a.Name, op.Name))
			}
			if _, dup := a.byName[op.Name]; !dup {
				a.byName[op.Name] = i
			}
			if rest {
				b, err := parseBinding(op.HTTP)
				if err != nil {
					panic(fmt.Sprintf("awsproto: %s %s: %v", a.Name, op.Name, err))
				}
				a.bindings = append(a.bindings, b)
			}
		}
	})
}

// rest reports whether the protocol routes by method and path.
func (a *API) rest() bool {
	return a.Protocol == RESTJSON || a.Protocol == RESTXML || a.Protocol == OCIDistribution
}

// Route finds the row a request asks for.
func (a *API) Route(r *http.Request) Route {
	a.compile()
	switch a.Protocol {
	case AWSJSON10, AWSJSON11:
		target := r.Header.Get("X-Amz-Target")
		name, ok := strings.CutPrefix(target, a.TargetPrefix)
		if i, found := a.byName[name]; ok && found && r.Method == http.MethodPost {
			return Route{Op: &a.Operations[i], Name: name}
		}
		return Route{Name: name}
	case AWSQuery:
		action := action(r)
		if i, ok := a.byName[action]; ok {
			return Route{Op: &a.Operations[i], Name: action}
		}
		return Route{Name: action}
	}
	for i := range a.bindings {
		if labels, ok := a.bindings[i].match(r); ok {
			return Route{Op: &a.Operations[i], Name: a.Operations[i].Name, labels: labels}
		}
	}
	return Route{Name: r.Method + " " + r.URL.Path}
}

// action is an awsQuery request's Action.
func action(r *http.Request) string {
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.Form.Get("Action")
}

// Claims reports whether a request that carries no SigV4 scope is for this
// API, by what its protocol routes on: an X-Amz-Target with the API's
// prefix, a form Action in its table, or a path whose first segment is the
// first literal segment of one of its bindings (Lambda's API dates, the
// registry's v2).
func (a *API) Claims(r *http.Request) bool {
	a.compile()
	switch a.Protocol {
	case AWSJSON10, AWSJSON11:
		return a.TargetPrefix != "" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), a.TargetPrefix)
	case AWSQuery:
		if !IsForm(r) {
			return false
		}
		_, ok := a.byName[action(r)]
		return ok
	}
	first := ""
	if parts := splitPath(r.URL.EscapedPath()); len(parts) > 0 {
		first = parts[0]
	}
	for i := range a.bindings {
		if lit := a.bindings[i].firstLiteral(); lit != "" && lit == first {
			return true
		}
	}
	return false
}

// IsForm reports whether r is a form POST to /, the shape of every awsQuery
// request.
func IsForm(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// ServeHTTP routes and serves one request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.Serve(w, r, a.Route(r)) }

// Serve serves a routed request: the service's unknown-operation error when
// no row matched, else the row's handler with its decoded input, then the
// output or the error in the API's protocol.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, rt Route) {
	if rt.Op == nil {
		a.unknown(rt.Name).Write(w, r, a.Protocol)
		return
	}
	h := rt.Op.Handler
	if h.forward != nil {
		h.forward.ServeHTTP(w, r)
		return
	}
	in := reflect.New(h.input)
	if err := decode(a.Protocol, r, rt.labels, in); err != nil {
		a.badInput(err).Write(w, r, a.Protocol)
		return
	}
	tw := &trackingWriter{ResponseWriter: w}
	out, err := h.serve(&Call{Request: r, Writer: tw, Op: rt.Op}, in.Interface())
	if tw.wrote {
		return
	}
	if e := a.asError(err); e != nil {
		e.Write(w, r, a.Protocol)
		return
	}
	a.writeOutput(w, rt.Op, out)
}

func (a *API) unknown(asked string) *Error {
	if a.Unknown != nil {
		return a.Unknown(asked)
	}
	return Errorf(http.StatusBadRequest, "UnknownOperationException", "%s is not an operation of the emulated %s", asked, a.Name)
}

func (a *API) badInput(err error) *Error {
	if a.BadInput != nil {
		return a.BadInput(err)
	}
	return Errorf(http.StatusBadRequest, "SerializationException", "%s", err.Error())
}

// asError turns a handler's error into the Error it answers with; nil for
// none, including a nil *Error in a non-nil error.
func (a *API) asError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e // may be nil
	}
	f := a.Failure
	if f == nil {
		f = &Error{Status: http.StatusInternalServerError, Code: "InternalFailure"}
	}
	return &Error{Status: f.Status, Code: f.Code, Message: err.Error()}
}

// writeOutput encodes a handler's output in the API's protocol.
func (a *API) writeOutput(w http.ResponseWriter, op *Operation, out any) {
	h := w.Header()
	switch a.Protocol {
	case AWSJSON10, AWSJSON11:
		h.Set("Content-Type", a.Protocol.jsonContentType())
		requestID(h, amznRequestID)
		if out == nil {
			out = struct{}{}
		}
		_ = json.NewEncoder(w).Encode(out)
	case RESTJSON:
		code := op.Code
		if code == 0 {
			code = http.StatusOK
		}
		requestID(h, amznRequestID)
		if out == nil {
			w.WriteHeader(code)
			return
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(out)
	case AWSQuery:
		writeQueryResult(w, a.XMLNamespace, op.Name, out)
	default:
		// restXml and the registry forward; there is no output to encode.
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeQueryResult wraps result as <ActionResponse><ActionResult>, which is
// where the SDK's awsQuery deserializer looks for it.
func writeQueryResult(w http.ResponseWriter, xmlns, action string, result any) {
	h := w.Header()
	id := requestID(h, amznRequestID)
	h.Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	resp := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}},
	}
	res := xml.StartElement{Name: xml.Name{Local: action + "Result"}}
	_ = enc.EncodeToken(resp)
	if result != nil {
		_ = enc.EncodeElement(result, res)
	} else {
		_ = enc.EncodeToken(res)
		_ = enc.EncodeToken(res.End())
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{id}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(resp.End())
	_ = enc.Flush()
}

// trackingWriter notes whether a handler wrote its own answer.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Example returns a request that asks for op, each label filled in with
// its own name and signed with the API's first signing name (no signature,
// only the scope the router reads). Tests use it to reach every row.
func (a *API) Example(op *Operation) *http.Request {
	a.compile()
	var r *http.Request
	switch a.Protocol {
	case AWSJSON10, AWSJSON11:
		r, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.Header.Set("Content-Type", a.Protocol.jsonContentType())
		r.Header.Set("X-Amz-Target", a.TargetPrefix+op.Name)
	case AWSQuery:
		r, _ = http.NewRequest(http.MethodPost, "/", strings.NewReader("Action="+op.Name))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	default:
		i := slices.IndexFunc(a.Operations, func(o Operation) bool { return o.Name == op.Name && o.HTTP == op.HTTP })
		b := a.bindings[i]
		r, _ = http.NewRequest(b.method, b.example(), nil)
	}
	if len(a.SigningNames) > 0 {
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/"+a.SigningNames[0]+"/aws4_request, SignedHeaders=host, Signature=0")
	}
	return r
}
