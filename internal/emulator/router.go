package emulator

import (
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/iam"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/s3"
)

const ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// lambdaPathRE matches Lambda's REST paths, which all start with an API date.
var lambdaPathRE = regexp.MustCompile(`^/20\d\d-\d\d-\d\d/`)

// serviceOf tells which emulated service a request is for, as LocalStack
// does: the SigV4 credential scope first, then X-Amz-Target, then the path.
// Unsigned requests that match nothing else are S3 (presigned URLs carry
// their scope in the query, so they are caught by the first rule).
func serviceOf(r *http.Request) string {
	p := r.URL.Path
	if p == "/_emulator" || strings.HasPrefix(p, "/_emulator/") {
		return "admin"
	}
	if _, svc := awsproto.Scope(r); svc != "" {
		switch svc {
		case "s3", "iam", "sts", "lambda":
			return svc
		case "ecr", "api.ecr":
			return "ecr"
		}
		return "unknown:" + svc
	}
	if p == "/v2" || strings.HasPrefix(p, "/v2/") {
		return "registry"
	}
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), ecrTargetPrefix) {
		return "ecr"
	}
	if lambdaPathRE.MatchString(p) {
		return "lambda"
	}
	if r.Method == http.MethodPost && p == "/" {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			if iam.IsSTSAction(iam.Operation(r)) {
				return "sts"
			}
			return "iam"
		}
	}
	return "s3"
}

// operationOf names the operation for the log.
func operationOf(service string, r *http.Request) string {
	switch service {
	case "iam", "sts":
		return iam.Operation(r)
	case "ecr":
		return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecrTargetPrefix)
	case "lambda":
		return lambdaOperation(r)
	case "registry":
		return registryOperation(r)
	case "s3":
		return s3.Operation(r)
	case "admin":
		return r.Method + " " + strings.TrimPrefix(r.URL.Path, "/_emulator")
	}
	return r.Method + " " + r.URL.Path
}

var lambdaOps = []struct {
	re  *regexp.Regexp
	ops map[string]string // by method
}{
	{regexp.MustCompile(`^/2015-03-31/functions/?$`), map[string]string{"GET": "ListFunctions", "POST": "CreateFunction"}},
	{regexp.MustCompile(`^/2015-03-31/functions/[^/]+/?$`), map[string]string{"GET": "GetFunction", "DELETE": "DeleteFunction"}},
	{regexp.MustCompile(`^/2015-03-31/functions/[^/]+/configuration/?$`), map[string]string{"GET": "GetFunctionConfiguration", "PUT": "UpdateFunctionConfiguration"}},
	{regexp.MustCompile(`^/2015-03-31/functions/[^/]+/code/?$`), map[string]string{"PUT": "UpdateFunctionCode"}},
	{regexp.MustCompile(`^/2015-03-31/functions/[^/]+/invocations/?$`), map[string]string{"POST": "Invoke"}},
	{regexp.MustCompile(`^/2015-03-31/functions/[^/]+/versions/?$`), map[string]string{"GET": "ListVersionsByFunction", "POST": "PublishVersion"}},
	{regexp.MustCompile(`^/2017-03-31/tags/.+$`), map[string]string{"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}},
	{regexp.MustCompile(`^/2016-08-19/account-settings/?$`), map[string]string{"GET": "GetAccountSettings"}},
}

func lambdaOperation(r *http.Request) string {
	for _, o := range lambdaOps {
		if o.re.MatchString(r.URL.Path) {
			if op, ok := o.ops[r.Method]; ok {
				return op
			}
		}
	}
	return r.Method + " " + r.URL.Path
}

// registryOperation names OCI distribution API calls after the spec's
// endpoints.
func registryOperation(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2" || p == "/v2/":
		return "Ping"
	case p == "/v2/_catalog":
		return "Catalog"
	case strings.Contains(p, "/blobs/uploads"):
		switch r.Method {
		case http.MethodPost:
			return "StartUpload"
		case http.MethodPatch:
			return "UploadChunk"
		case http.MethodPut:
			return "CompleteUpload"
		case http.MethodDelete:
			return "CancelUpload"
		}
		return "UploadStatus"
	case strings.Contains(p, "/blobs/"):
		return map[string]string{"GET": "GetBlob", "HEAD": "HeadBlob", "DELETE": "DeleteBlob"}[r.Method]
	case strings.Contains(p, "/manifests/"):
		return map[string]string{"GET": "GetManifest", "HEAD": "HeadManifest", "PUT": "PutManifest", "DELETE": "DeleteManifest"}[r.Method]
	case strings.HasSuffix(p, "/tags/list"):
		return "ListTags"
	}
	return r.Method + " " + p
}

// ServeHTTP routes one request, injects faults and logs it.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	service := serviceOf(r)
	op := operationOf(service, r)
	rec := &recorder{ResponseWriter: w}
	var fault faultKind

	switch {
	case service == "admin":
		e.serveAdmin(rec, r)
	case strings.HasPrefix(service, "unknown:"):
		awsproto.JSON11Error(rec, http.StatusNotImplemented, "UnknownService",
			"service "+strings.TrimPrefix(service, "unknown:")+" is not emulated; emulated: lambda, ecr, s3, iam, sts")
	default:
		var latency time.Duration
		latency, fault = e.faults.decide(service)
		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
			}
		}
		if fault != noFault {
			writeFault(rec, r, service, fault)
			break
		}
		h := e.handler(service)
		if h == nil {
			awsproto.JSON11Error(rec, http.StatusNotImplemented, "ServiceUnavailable", service+" is not available in this emulator")
			break
		}
		h.ServeHTTP(rec, r)
	}

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
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// handler returns the service's handler, nil when it is not running.
func (e *Emulator) handler(service string) http.Handler {
	switch service {
	case "iam":
		return http.HandlerFunc(e.iam.ServeIAM)
	case "sts":
		return http.HandlerFunc(e.iam.ServeSTS)
	case "s3":
		return e.s3
	case "ecr", "registry":
		if e.ecr != nil {
			return e.ecr
		}
	case "lambda":
		if e.lambda != nil {
			return e.lambda
		}
	}
	return nil
}
