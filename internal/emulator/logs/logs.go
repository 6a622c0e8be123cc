// Package logs emulates Amazon CloudWatch Logs over its awsJson1_1 protocol
// (X-Amz-Target Logs_20140328.<Operation>, signing name logs), so the
// unchanged aws-sdk-go-v2 cloudwatchlogs client works against it.
//
// It keeps log groups (retention, KMS key id, tags) and their streams of
// events: what the provider manages, and what the emulated Lambda writes
// (Append) for every invocation of a function whose log group exists, as
// Lambda does on AWS. Retention is recorded, not enforced: nothing expires.
// FilterLogEvents understands the empty pattern, terms (every one must
// appear) and "quoted phrases", not CloudWatch's JSON or metric patterns.
// State persists in DataDir when there is one.
package logs

import (
	"fmt"
	"log"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/awsproto"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/emulator/statefile"
)

// Options configures the service.
type Options struct {
	// DataDir keeps log groups and their events across restarts; "" keeps
	// them in memory.
	DataDir string
	// Region goes into ARNs; "" means us-east-1.
	Region string
	// Logf logs background problems; nil discards.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the emulated CloudWatch Logs.
type Service struct {
	opts Options
	api  *awsproto.API

	mu     sync.Mutex
	groups map[string]*group // by name
}

type group struct {
	Name      string             `json:"name"`
	Created   int64              `json:"created"` // epoch ms
	Retention *int               `json:"retention,omitempty"`
	KMSKeyID  string             `json:"kms_key_id,omitempty"`
	Class     string             `json:"class"`
	Tags      map[string]string  `json:"tags,omitempty"`
	Streams   map[string]*stream `json:"streams,omitempty"`
}

type stream struct {
	Name          string  `json:"name"`
	Created       int64   `json:"created"`
	LastIngestion int64   `json:"last_ingestion,omitempty"`
	Events        []Event `json:"events,omitempty"`
}

// Event is one log event.
type Event struct {
	Timestamp int64  `json:"timestamp"` // epoch ms
	Message   string `json:"message"`
	Ingestion int64  `json:"ingestion"` // epoch ms
}

// New creates the service and loads what an earlier run kept in DataDir.
func New(opts Options) (*Service, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{opts: opts, groups: map[string]*group{}}
	s.api = s.newAPI()
	if opts.DataDir != "" {
		var st persisted
		if err := statefile.Load(s.stateFile(), &st); err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
		for _, g := range st.Groups {
			if g.Streams == nil {
				g.Streams = map[string]*stream{}
			}
			s.groups[g.Name] = g
		}
	}
	return s, nil
}

// API is the service's table of operations, for the emulator's router.
func (s *Service) API() *awsproto.API { return s.api }

// Reset drops every log group.
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = map[string]*group{}
	s.save()
}

// Close writes the state a last time.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// Append writes lines as events to a stream of a group, creating the stream
// when it is new, as Lambda writes a function's output. It reports whether
// the group exists: without one, Lambda's log is dropped, as on AWS when
// the role may not create the group (the provider creates it).
func (s *Service) Append(groupName, streamName string, lines []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupName]
	if !ok {
		return false
	}
	now := s.opts.Now().UnixMilli()
	st, ok := g.Streams[streamName]
	if !ok {
		st = &stream{Name: streamName, Created: now}
		g.Streams[streamName] = st
	}
	for _, l := range lines {
		st.Events = append(st.Events, Event{Timestamp: now, Message: l, Ingestion: now})
	}
	st.LastIngestion = now
	s.save()
	return true
}

type persisted struct {
	Groups []*group `json:"groups"`
}

func (s *Service) stateFile() string { return filepath.Join(s.opts.DataDir, "logs.json") }

// saveLocked writes every group. Holds s.mu.
// save persists after a mutation, with the lock held; a failure is logged,
// since the mutation itself has happened (as ECR's emulator does).
func (s *Service) save() {
	if err := s.saveLocked(); err != nil {
		log.Printf("logs: %v", err)
	}
}

func (s *Service) saveLocked() error {
	if s.opts.DataDir == "" {
		return nil
	}
	var st persisted
	for _, g := range s.groups {
		st.Groups = append(st.Groups, g)
	}
	sort.Slice(st.Groups, func(i, j int) bool { return st.Groups[i].Name < st.Groups[j].Name })
	err := statefile.Save(s.stateFile(), st)
	if err != nil {
		s.opts.Logf("logs: saving state: %v", err)
	}
	return err
}

func (s *Service) groupARN(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.opts.Region, awsproto.AccountID, name)
}
