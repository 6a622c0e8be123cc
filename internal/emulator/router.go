package emulator

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// apiFor tells which emulated service a request is for, as LocalStack does:
// the SigV4 credential scope first (the Authorization header, or a presigned
// URL's X-Amz-Credential), then what each service's protocol routes on (its
// X-Amz-Target prefix, its form Actions, the first segment of its paths);
// a form POST that no table claims is IAM's, anything else is path-style
// S3. A signed request for a service that is not emulated returns nil and
// the scope's service name.
func (e *Emulator) apiFor(r *http.Request) (api *awsproto.API, unknown string) {
	if _, svc := awsproto.Scope(r); svc != "" {
		for _, a := range e.apis {
			if slices.Contains(a.SigningNames, svc) {
				return a, ""
			}
		}
		return nil, svc
	}
	for _, a := range e.apis {
		if a.Claims(r) {
			return a, ""
		}
	}
	if awsproto.IsForm(r) {
		return e.api("iam"), ""
	}
	return e.api("s3"), ""
}

// api returns the table of the named service.
func (e *Emulator) api(name string) *awsproto.API {
	for _, a := range e.apis {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// serviceNames are the services the emulator runs, by their tables' names.
func (e *Emulator) serviceNames() []string {
	names := make([]string, 0, len(e.apis))
	for _, a := range e.apis {
		names = append(names, a.Name)
	}
	return names
}

func isAdmin(r *http.Request) bool {
	return r.URL.Path == "/_emulator" || strings.HasPrefix(r.URL.Path, "/_emulator/")
}

// ServeHTTP routes one request, injects faults and logs it.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	service, op, fault := e.serve(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	req := Request{
		Time:      start,
		Service:   service,
		Operation: op,
		Status:    rec.status,
		Duration:  time.Since(start),
		Fault:     fault.String(),
		Principal: rec.principal,
	}
	e.requests.add(req)
	attrs := []slog.Attr{
		slog.String("service", req.Service),
		slog.String("operation", req.Operation),
		slog.Int("status", req.Status),
		slog.Duration("duration", req.Duration),
	}
	if req.Fault != "" {
		attrs = append(attrs, slog.String("fault", req.Fault))
	}
	if strings.Contains(req.Principal, ":assumed-role/") {
		attrs = append(attrs, slog.String("principal", req.Principal))
	}
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// serve answers one request and names it for the log: the service, and the
// operation from the service's table (or what the request asked for, when
// the table has no such row).
func (e *Emulator) serve(w *recorder, r *http.Request) (service, op string, fault faultKind) {
	if isAdmin(r) {
		e.serveAdmin(w, r)
		return "admin", r.Method + " " + strings.TrimPrefix(r.URL.Path, "/_emulator"), noFault
	}
	api, unknown := e.apiFor(r)
	if api == nil {
		var signed []string
		for _, a := range e.apis {
			if len(a.SigningNames) > 0 {
				signed = append(signed, a.Name)
			}
		}
		awsproto.Errorf(http.StatusNotImplemented, "UnknownService", "service %s is not emulated; emulated: %s",
			unknown, strings.Join(signed, ", ")).Write(w, r, awsproto.AWSJSON11)
		return "unknown:" + unknown, r.Method + " " + r.URL.Path, noFault
	}
	rt := api.Route(r)
	latency, fault := e.faults.decide(api.Name, api.FaultsOnlyWhenNamed)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}
	// Signed AWS APIs learn who is calling: a role session STS issued, or
	// the account's root; a session token that is unknown or expired is
	// refused as AWS refuses it.
	if len(api.SigningNames) > 0 && fault == noFault {
		p, err := e.iam.Caller(r)
		if err != nil {
			err.Write(w, r, api.Protocol)
			return api.Name, rt.Name, fault
		}
		w.principal = p.Arn
	}
	switch fault {
	case throttleFault:
		api.Throttle.Write(w, r, api.Protocol)
	case errorFault:
		api.Failure.Write(w, r, api.Protocol)
	default:
		api.Serve(w, r, rt)
	}
	return api.Name, rt.Name, fault
}
