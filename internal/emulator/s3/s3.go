// Package s3 serves the S3 protocol through gofakes3, in memory or, with a
// data directory, in a bolt database that survives restarts.
package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

	mu      sync.RWMutex // write-held while the backend is swapped by Reset
	db      *bolt.DB
	handler http.Handler
}

// New opens the store.
func New(opts Options) (*Service, error) {
	s := &Service{}
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

// ServeHTTP answers one S3 request. Any credentials are accepted, but a
// presigned URL is held to its expiry as S3 holds it.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Get("X-Amz-Date") != "" && q.Get("X-Amz-Expires") != "" {
		signed, err1 := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
		switch {
		case err1 != nil || err2 != nil || secs < 0:
			WriteError(w, r, http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be a valid date and a number of seconds.")
			return
		case time.Duration(secs)*time.Second > maxPresignExpiry:
			WriteError(w, r, http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds")
			return
		case time.Now().After(signed.Add(time.Duration(secs) * time.Second)):
			WriteError(w, r, http.StatusForbidden, "AccessDenied", "Request has expired")
			return
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.handler.ServeHTTP(w, r)
}

// WriteError writes an error in S3's XML shape.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	type errorBody struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
	}
	id := awsproto.RequestID()
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", id)
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return // HEAD answers carry no body
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorBody{Code: code, Message: message, RequestID: id})
}

// Operation names the S3 operation a path-style request is, for the log.
func Operation(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucket == "":
		return "ListBuckets"
	case has("uploadId"):
		switch r.Method {
		case http.MethodPut:
			return "UploadPart"
		case http.MethodPost:
			return "CompleteMultipartUpload"
		case http.MethodDelete:
			return "AbortMultipartUpload"
		}
		return "ListParts"
	case has("uploads"):
		if r.Method == http.MethodPost {
			return "CreateMultipartUpload"
		}
		return "ListMultipartUploads"
	case key != "":
		switch r.Method {
		case http.MethodGet:
			return "GetObject"
		case http.MethodHead:
			return "HeadObject"
		case http.MethodPut:
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return "CopyObject"
			}
			return "PutObject"
		case http.MethodDelete:
			return "DeleteObject"
		}
	default:
		switch r.Method {
		case http.MethodGet:
			switch {
			case has("location"):
				return "GetBucketLocation"
			case has("versioning"):
				return "GetBucketVersioning"
			case has("versions"):
				return "ListObjectVersions"
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			}
			return "ListObjects"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPut:
			if has("versioning") {
				return "PutBucketVersioning"
			}
			return "CreateBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
			return "PostObject"
		}
	}
	return r.Method
}
