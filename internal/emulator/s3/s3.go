// Package s3 serves the S3 protocol through gofakes3, in memory or, with a
// data directory, in a bolt database that survives restarts.
//
// Its awsproto table (newAPI) names S3's operations, each row forwarding to
// gofakes3: a new operation gofakes3 serves is a row there.
package s3

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
)

// Options configures the service.
type Options struct {
	// DataDir, when set, holds the objects across restarts.
	DataDir string
}

// Service is the S3 endpoint. Requests are path-style: /bucket/key.
type Service struct {
	file string // bolt file, "" when in memory
	api  *awsproto.API

	mu      sync.RWMutex // write-held while the backend is swapped by Reset
	db      *bolt.DB
	handler http.Handler
}

// New opens the store.
func New(opts Options) (*Service, error) {
	s := &Service{}
	s.api = s.newAPI()
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("s3: %w", err)
		}
		s.file = filepath.Join(opts.DataDir, "objects.db")
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) open() error {
	var backend gofakes3.Backend
	if s.file == "" {
		backend = s3mem.New()
	} else {
		// The timeout turns a second emulator on the same directory into an
		// error instead of a hang on bolt's file lock.
		db, err := bolt.Open(s.file, 0o600, &bolt.Options{Timeout: 2 * time.Second})
		if err != nil {
			return fmt.Errorf("s3: opening %s: %w", s.file, err)
		}
		s.db = db
		backend = s3bolt.New(db)
	}
	s.handler = gofakes3.New(backend).Server()
	return nil
}

// Reset drops every bucket and object.
func (s *Service) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.closeLocked(); err != nil {
		return err
	}
	if s.file != "" {
		if err := os.Remove(s.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("s3: %w", err)
		}
	}
	return s.open()
}

// Close releases the store.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *Service) closeLocked() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// maxPresignExpiry is S3's limit on X-Amz-Expires: seven days.
const maxPresignExpiry = 7 * 24 * time.Hour

// ServeHTTP answers one S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// serveObjects hands a request to gofakes3. Any credentials are accepted,
// but a presigned URL is held to its expiry as S3 holds it.
func (s *Service) serveObjects(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Get("X-Amz-Date") != "" && q.Get("X-Amz-Expires") != "" {
		signed, err1 := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
		switch {
		case err1 != nil || err2 != nil || secs < 0:
			s3Error(w, r, http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be a valid date and a number of seconds.")
			return
		case time.Duration(secs)*time.Second > maxPresignExpiry:
			s3Error(w, r, http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds")
			return
		case time.Now().After(signed.Add(time.Duration(secs) * time.Second)):
			s3Error(w, r, http.StatusForbidden, "AccessDenied", "Request has expired")
			return
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.handler.ServeHTTP(w, r)
}

func s3Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	(&awsproto.Error{Status: status, Code: code, Message: message}).Write(w, r, awsproto.RESTXML)
}

// newAPI is S3's table of operations. Every row forwards to gofakes3, which
// does the work; the table names the operations, in the order gofakes3 tells
// them apart (a query flag before the plain bucket or object call), for the
// router, the request log and fault injection. The bindings are the @http
// traits of S3's Smithy model, path-style.
func (s *Service) newAPI() *awsproto.API {
	serve := awsproto.Forward(http.HandlerFunc(s.serveObjects))
	return &awsproto.API{
		Name:         "s3",
		Protocol:     awsproto.RESTXML,
		SigningNames: []string{"s3"},
		Operations: []awsproto.Operation{
			{Name: "ListBuckets", HTTP: "GET /", Handler: serve},
			{Name: "ListParts", HTTP: "GET /{Bucket}/{Key+}?uploadId", Handler: serve},
			{Name: "UploadPart", HTTP: "PUT /{Bucket}/{Key+}?uploadId", Handler: serve},
			{Name: "CompleteMultipartUpload", HTTP: "POST /{Bucket}/{Key+}?uploadId", Handler: serve},
			{Name: "AbortMultipartUpload", HTTP: "DELETE /{Bucket}/{Key+}?uploadId", Handler: serve},
			{Name: "CreateMultipartUpload", HTTP: "POST /{Bucket}/{Key+}?uploads", Handler: serve},
			{Name: "ListMultipartUploads", HTTP: "GET /{Bucket}?uploads", Handler: serve},
			{Name: "GetBucketVersioning", HTTP: "GET /{Bucket}?versioning", Handler: serve},
			{Name: "PutBucketVersioning", HTTP: "PUT /{Bucket}?versioning", Handler: serve},
			{Name: "ListObjectVersions", HTTP: "GET /{Bucket}?versions", Handler: serve},
			{Name: "GetObject", HTTP: "GET /{Bucket}/{Key+}", Handler: serve},
			{Name: "HeadObject", HTTP: "HEAD /{Bucket}/{Key+}", Handler: serve},
			{Name: "CopyObject", HTTP: "PUT /{Bucket}/{Key+}?x-id=CopyObject", Handler: serve},
			{Name: "PutObject", HTTP: "PUT /{Bucket}/{Key+}", Handler: serve},
			{Name: "DeleteObject", HTTP: "DELETE /{Bucket}/{Key+}", Handler: serve},
			{Name: "GetBucketLocation", HTTP: "GET /{Bucket}?location", Handler: serve},
			{Name: "ListObjectsV2", HTTP: "GET /{Bucket}?list-type=2", Handler: serve},
			{Name: "ListObjects", HTTP: "GET /{Bucket}", Handler: serve},
			{Name: "HeadBucket", HTTP: "HEAD /{Bucket}", Handler: serve},
			{Name: "CreateBucket", HTTP: "PUT /{Bucket}", Handler: serve},
			{Name: "DeleteBucket", HTTP: "DELETE /{Bucket}", Handler: serve},
			{Name: "DeleteObjects", HTTP: "POST /{Bucket}?delete", Handler: serve},
			{Name: "PostObject", HTTP: "POST /{Bucket}", Handler: serve},
		},
		Unknown: func(string) *awsproto.Error {
			return &awsproto.Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."}
		},
		Throttle: &awsproto.Error{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."},
		Failure:  &awsproto.Error{Status: http.StatusInternalServerError, Code: "InternalError", Message: "We encountered an internal error. Please try again."},
	}
}

// API is S3's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }
