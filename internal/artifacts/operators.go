package artifacts

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
)

// Reader is what listing manifests needs of a store; *Store satisfies it,
// and so do the run package's fakes.
type Reader interface {
	GetJSON(ctx context.Context, key string, v any) (found bool, err error)
	List(ctx context.Context, prefix string) ([]string, error)
	URI(key string) string
	Prefix() string
}

// readParallel bounds manifest reads, which are one small GET each.
const readParallel = 16

// Operators reads every operator manifest of a workflow, sorted by name.
// A manifest deleted between the listing and its read is left out.
func Operators(ctx context.Context, s Reader, workflow string) ([]*OperatorManifest, error) {
	opsPrefix := OperatorsPrefix(s.Prefix(), workflow)
	keys, err := s.List(ctx, opsPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing the operators of workflow %q under %s: %w", workflow, s.URI(opsPrefix), err)
	}
	var manifestKeys []string
	for _, k := range keys {
		rest := strings.TrimPrefix(k, opsPrefix)
		if rest != k && strings.HasSuffix(rest, ".json") && !strings.Contains(rest, "/") {
			manifestKeys = append(manifestKeys, k)
		}
	}
	sort.Strings(manifestKeys)

	ops := make([]*OperatorManifest, len(manifestKeys))
	errs := make([]error, len(manifestKeys))
	sem := make(chan struct{}, readParallel)
	var wg sync.WaitGroup
	for i, k := range manifestKeys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var m OperatorManifest
			found, err := s.GetJSON(ctx, k, &m)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("reading operator manifest %s: %w", s.URI(k), err)
			case found:
				if m.Name == "" {
					m.Name = strings.TrimSuffix(path.Base(k), ".json")
				}
				ops[i] = &m
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := ops[:0]
	for _, m := range ops {
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// Workflows lists the names of the workflows that have objects in the
// engine's root.
func Workflows(ctx context.Context, s *Store) ([]string, error) {
	prefix := WorkflowsPrefix(s.Prefix())
	dirs, err := s.ListDirs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(dirs))
	for _, d := range dirs {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(d, prefix), "/"))
	}
	sort.Strings(names)
	return names, nil
}

// AllOperators reads the operator manifests of every workflow of the engine.
func AllOperators(ctx context.Context, s *Store) ([]*OperatorManifest, error) {
	wfs, err := Workflows(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []*OperatorManifest
	for _, wf := range wfs {
		ops, err := Operators(ctx, s, wf)
		if err != nil {
			return nil, err
		}
		for _, m := range ops {
			if m.Workflow == "" {
				m.Workflow = wf
			}
		}
		out = append(out, ops...)
	}
	return out, nil
}
