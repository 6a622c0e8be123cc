// Package ecr emulates Amazon ECR: the JSON 1.1 API calls the provider uses,
// in front of a real OCI registry (go-containerregistry's pkg/registry)
// served under /v2/ of the same address.
//
// It declares two awsproto tables: the API's (api.go: a row per
// X-Amz-Target operation, a handler taking its JSON input) and the
// registry's (registry.go: the OCI distribution endpoints, forwarded to the
// registry library). Errors are *awsproto.Error.
package ecr

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// Options configures the service.
type Options struct {
	// DataDir keeps repositories, images and blobs across restarts; "" keeps
	// everything in memory.
	DataDir string
	// Host returns the emulator's address (e.g. "127.0.0.1:4566"), used in
	// repositoryUri and proxyEndpoint. Nil means the request's Host.
	Host func() string
	// Region goes into repository ARNs; "" means us-east-1.
	Region string
}

// Service is the emulated ECR API and its registry.
type Service struct {
	opts     Options
	api      *awsproto.API
	registry *awsproto.API
	region   string
	key      []byte // signs registry passwords; kept across Reset

	mu     sync.Mutex
	repos  map[string]*repository
	reg    http.Handler // go-containerregistry's registry
	blobs  registry.BlobHandler
	closed bool
}

type repository struct {
	Name          string            `json:"name"`
	CreatedAt     time.Time         `json:"createdAt"`
	TagMutability string            `json:"tagMutability"`
	ScanOnPush    bool              `json:"scanOnPush"`
	Encryption    string            `json:"encryption"`
	KMSKey        string            `json:"kmsKey,omitempty"`
	Tags          map[string]string `json:"tags"`
	Images        map[string]*image `json:"images"`    // by digest
	ImageTags     map[string]string `json:"imageTags"` // tag -> digest
	// LifecyclePolicy is the policy text as put, "" for none.
	LifecyclePolicy  string    `json:"lifecyclePolicy,omitempty"`
	LifecycleUpdated time.Time `json:"lifecycleUpdated,omitempty"`
}

type image struct {
	Digest    string    `json:"digest"`
	MediaType string    `json:"mediaType"`
	Manifest  []byte    `json:"manifest"`
	PushedAt  time.Time `json:"pushedAt"`
	Size      int64     `json:"size"`
	// ConfigType is the config blob's media type (ECR's artifactMediaType).
	ConfigType string `json:"configType,omitempty"`
	// Refs are the sub-manifest digests of an index.
	Refs []string `json:"refs,omitempty"`
}

// tagsOf returns the image's tags, sorted.
func (r *repository) tagsOf(digest string) []string {
	var out []string
	for t, d := range r.ImageTags {
		if d == digest {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// New creates the service and, with a DataDir, loads what an earlier run kept.
func New(opts Options) (*Service, error) {
	s := &Service{opts: opts, region: opts.Region, repos: map[string]*repository{}}
	s.api, s.registry = s.newAPI(), s.newRegistryAPI()
	if s.region == "" {
		s.region = "us-east-1"
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("ecr: data dir: %w", err)
		}
		key, err := loadOrCreateKey(filepath.Join(opts.DataDir, "registry.key"))
		if err != nil {
			return nil, err
		}
		s.key = key
	} else {
		s.key = make([]byte, 32)
		_, _ = rand.Read(s.key)
	}
	if err := s.newRegistry(); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Reset drops every repository, image and blob. Tokens stay valid.
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos = map[string]*repository{}
	if s.opts.DataDir != "" {
		_ = os.RemoveAll(s.blobDir())
		_ = os.Remove(s.statePath())
	}
	if err := s.newRegistry(); err != nil {
		log.Printf("ecr: reset: %v", err)
	}
}

// Close writes the state a last time; later mutations are not persisted.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.saveLocked()
	s.closed = true
	return err
}

// API is ECR's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }

// RegistryAPI is the table of the registry's OCI distribution calls.
func (s *Service) RegistryAPI() *awsproto.API { return s.registry }

// ServeHTTP serves the registry under /v2/ and the ECR API elsewhere.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/") {
		s.registry.ServeHTTP(w, r)
		return
	}
	s.api.ServeHTTP(w, r)
}

func (s *Service) host(r *http.Request) string {
	if s.opts.Host != nil {
		if h := s.opts.Host(); h != "" {
			return h
		}
	}
	if r != nil {
		return r.Host
	}
	return ""
}

func (s *Service) repoURI(r *http.Request, name string) string {
	return s.host(r) + "/" + name
}

func (s *Service) repoARN(name string) string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.region, awsproto.AccountID, name)
}

func (s *Service) blobDir() string   { return filepath.Join(s.opts.DataDir, "blobs") }
func (s *Service) statePath() string { return filepath.Join(s.opts.DataDir, "ecr.json") }

// newRegistry replaces the registry handler with an empty one. Caller holds
// s.mu (or owns s exclusively).
func (s *Service) newRegistry() error {
	if s.opts.DataDir != "" {
		if err := os.MkdirAll(s.blobDir(), 0o755); err != nil {
			return fmt.Errorf("ecr: blob dir: %w", err)
		}
		// Uploads cut short by a crash or a digest mismatch leave temp files.
		stale, _ := filepath.Glob(filepath.Join(s.blobDir(), "upload-*"))
		for _, f := range stale {
			_ = os.Remove(f)
		}
		s.blobs = diskBlobs{disk: registry.NewDiskBlobHandler(s.blobDir()).(diskHandler), dir: s.blobDir()}
	} else {
		s.blobs = registry.NewInMemoryBlobHandler()
	}
	s.reg = registry.New(
		registry.WithBlobHandler(s.blobs),
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	return nil
}

// diskBlobs is the library's disk blob handler with a Stat that does not
// re-hash the whole blob on every HEAD: Put only renames a blob into place
// after its digest was verified.
type diskBlobs struct {
	disk diskHandler
	dir  string
}

// diskHandler is what the library's disk handler implements beyond Get.
type diskHandler interface {
	registry.BlobHandler
	registry.BlobPutHandler
	registry.BlobDeleteHandler
}

func (d diskBlobs) Get(ctx context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	return d.disk.Get(ctx, repo, h)
}

func (d diskBlobs) Put(ctx context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	return d.disk.Put(ctx, repo, h, rc)
}

func (d diskBlobs) Delete(ctx context.Context, repo string, h v1.Hash) error {
	return d.disk.Delete(ctx, repo, h)
}

func (d diskBlobs) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	fi, err := os.Stat(filepath.Join(d.dir, h.Algorithm, h.Hex))
	if errors.Is(err, os.ErrNotExist) {
		return 0, registry.ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

type persisted struct {
	Repositories []*repository `json:"repositories"`
}

// saveLocked writes the state. Caller holds s.mu.
func (s *Service) saveLocked() error {
	if s.opts.DataDir == "" || s.closed {
		return nil
	}
	var p persisted
	for _, name := range s.sortedNames() {
		p.Repositories = append(p.Repositories, s.repos[name])
	}
	if err := statefile.Save(s.statePath(), p); err != nil {
		return fmt.Errorf("ecr: save state: %w", err)
	}
	return nil
}

// save persists after a mutation; a failure is logged since the mutation
// itself has happened.
func (s *Service) save() {
	if err := s.saveLocked(); err != nil {
		log.Printf("%v", err)
	}
}

// load reads the state and replays every manifest into the registry, whose
// manifests live only in memory.
func (s *Service) load() error {
	var p persisted
	if err := statefile.Load(s.statePath(), &p); err != nil {
		return fmt.Errorf("ecr: load state: %w", err)
	}
	for _, r := range p.Repositories {
		if r.Images == nil {
			r.Images = map[string]*image{}
		}
		if r.ImageTags == nil {
			r.ImageTags = map[string]string{}
		}
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		s.repos[r.Name] = r
		s.replay(r)
	}
	return nil
}

// replay puts a repository's manifests into the registry library. Children
// go before the indexes that list them, since the library checks them; an
// image it refuses is logged and left out of the registry.
func (s *Service) replay(r *repository) {
	placed := map[string]bool{}
	for len(placed) < len(r.Images) {
		progress := false
		for d, im := range r.Images {
			if placed[d] || !allPlaced(im.Refs, placed) {
				continue
			}
			if err := s.regPut(r.Name, d, im); err != nil {
				log.Printf("%v", err)
			}
			placed[d], progress = true, true
		}
		if !progress {
			log.Printf("ecr: %s: indexes whose children are missing were not restored", r.Name)
			break
		}
	}
	for tag, d := range r.ImageTags {
		if im := r.Images[d]; im != nil {
			if err := s.regPut(r.Name, tag, im); err != nil {
				log.Printf("%v", err)
			}
		}
	}
}

func allPlaced(refs []string, placed map[string]bool) bool {
	for _, d := range refs {
		if !placed[d] {
			return false
		}
	}
	return true
}

func (s *Service) sortedNames() []string {
	names := make([]string, 0, len(s.repos))
	for n := range s.repos {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	b = make([]byte, 32)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("ecr: write key: %w", err)
	}
	return b, nil
}
