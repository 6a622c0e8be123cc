package run

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
)

// dag is a workflow's operators, validated: every input names an operator
// and there is no cycle.
type dag struct {
	ops      map[string]*artifacts.OperatorManifest
	children map[string][]string // sorted
}

// loadWorkflow reads the workflow manifest and one manifest per operator.
func loadWorkflow(ctx context.Context, store Store, workflow string) (*artifacts.WorkflowManifest, []*artifacts.OperatorManifest, error) {
	prefix := store.Prefix()
	var wf artifacts.WorkflowManifest
	wfKey := artifacts.WorkflowKey(prefix, workflow)
	found, err := store.GetJSON(ctx, wfKey, &wf)
	if err != nil {
		return nil, nil, fmt.Errorf("reading workflow %q manifest %s: %w", workflow, store.URI(wfKey), err)
	}
	if !found {
		return nil, nil, fmt.Errorf("workflow %q has no manifest at %s; apply its aqueduct_workflow resource first", workflow, store.URI(wfKey))
	}

	ops, err := artifacts.Operators(ctx, store, workflow)
	if err != nil {
		return nil, nil, err
	}
	if len(ops) == 0 {
		return nil, nil, fmt.Errorf("workflow %q has no operators yet, so there is nothing to run. "+
			"If its operators are in this configuration, this run must wait for them: list the operators in `targets` "+
			"(targets = [aqueduct_operator.<name>.id]) or add depends_on = [aqueduct_operator.<name>, ...], so Terraform creates them first", workflow)
	}
	return &wf, ops, nil
}

func newDAG(workflow string, manifests []*artifacts.OperatorManifest) (*dag, error) {
	d := &dag{ops: map[string]*artifacts.OperatorManifest{}, children: map[string][]string{}}
	for _, m := range manifests {
		if _, dup := d.ops[m.Name]; dup {
			return nil, fmt.Errorf("workflow %q has two manifests for operator %q", workflow, m.Name)
		}
		if m.Workflow != "" && m.Workflow != workflow {
			return nil, fmt.Errorf("operator %q's manifest says workflow %q, but it is stored under workflow %q", m.Name, m.Workflow, workflow)
		}
		d.ops[m.Name] = m
	}
	var errs []error
	for _, name := range sortedKeys(d.ops) {
		m := d.ops[name]
		if m.FunctionName == "" {
			errs = append(errs, fmt.Errorf("operator %q has no function_name in its manifest; apply its aqueduct_operator resource", name))
		}
		seen := map[string]bool{}
		for _, in := range m.Inputs {
			if _, ok := d.ops[in]; !ok {
				errs = append(errs, fmt.Errorf("operator %q has input %q, which is not an operator of workflow %q (it has: %s)",
					name, in, workflow, strings.Join(sortedKeys(d.ops), ", ")))
				continue
			}
			if !seen[in] {
				seen[in] = true
				d.children[in] = append(d.children[in], name)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cycle := d.findCycle(); cycle != nil {
		return nil, fmt.Errorf("workflow %q has a cycle: %s", workflow, strings.Join(cycle, " → "))
	}
	return d, nil
}

// findCycle returns one cycle as a path that ends where it starts, or nil.
func (d *dag) findCycle() []string {
	const (
		unvisited = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = onStack
		stack = append(stack, n)
		for _, in := range d.ops[n].Inputs {
			switch state[in] {
			case onStack:
				// Each stack entry is an input of the one below it, so reading
				// the stack back from the top down to in follows the data.
				cycle := []string{in}
				for j := len(stack) - 1; stack[j] != in; j-- {
					cycle = append(cycle, stack[j])
				}
				return append(cycle, in)
			case unvisited:
				if c := visit(in); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range sortedKeys(d.ops) {
		if state[n] == unvisited {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// selection returns the operators to run, sorted: one operator, the targets
// and their ancestors, or all.
func (d *dag) selection(req Request) ([]string, error) {
	if req.Operator != "" {
		if _, ok := d.ops[req.Operator]; !ok {
			return nil, fmt.Errorf("operator %q is not in workflow %q (it has: %s)", req.Operator, req.Workflow, strings.Join(sortedKeys(d.ops), ", "))
		}
		return []string{req.Operator}, nil
	}
	if len(req.Targets) == 0 {
		return sortedKeys(d.ops), nil
	}
	keep := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if keep[n] {
			return
		}
		keep[n] = true
		for _, in := range d.ops[n].Inputs {
			walk(in)
		}
	}
	for _, t := range req.Targets {
		if _, ok := d.ops[t]; !ok {
			return nil, fmt.Errorf("target %q is not an operator of workflow %q (it has: %s)", t, req.Workflow, strings.Join(sortedKeys(d.ops), ", "))
		}
		walk(t)
	}
	return sortedKeys(keep), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CycleThrough returns the cycle that operator self would close by taking
// inputs, as the path from self back to itself, or nil. It walks the
// manifests of the operators that already exist, so it catches at plan time
// a cycle that Terraform's own reference graph cannot see (ids written as
// literals). Manifests that cannot be read end that branch of the walk.
func CycleThrough(ctx context.Context, store artifacts.Reader, workflow, self string, inputs []string) []string {
	visited := map[string]bool{}
	var walk func(name string, trail []string) []string
	walk = func(name string, trail []string) []string {
		trail = append(trail, name)
		if name == self {
			return trail
		}
		if visited[name] {
			return nil
		}
		visited[name] = true
		var m artifacts.OperatorManifest
		if found, err := store.GetJSON(ctx, artifacts.OperatorKey(store.Prefix(), workflow, name), &m); err != nil || !found {
			return nil
		}
		for _, up := range m.Inputs {
			if c := walk(up, trail); c != nil {
				return c
			}
		}
		return nil
	}
	for _, n := range inputs {
		if c := walk(n, []string{self}); c != nil {
			return c
		}
	}
	return nil
}
