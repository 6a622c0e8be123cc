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
			"If its operators are in this configuration, run their artifacts instead of the workflow: "+
			"artifacts = [aqueduct_operator.<name>.artifact] makes Terraform create them first and run what they need", workflow)
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
	// A cycle first: its lineages can never agree (each would cover
	// itself), so the check below would only say "apply again", which
	// cannot help.
	if cycle := d.findCycle(); cycle != nil {
		return nil, fmt.Errorf("workflow %q has a cycle: %s", workflow, strings.Join(cycle, " → "))
	}
	// Each operator must have been applied against its inputs as they are:
	// otherwise it would feed on an output its own lineage does not cover.
	for _, name := range sortedKeys(d.ops) {
		m := d.ops[name]
		if m.Lineage == "" {
			errs = append(errs, fmt.Errorf("operator %q has no lineage in its manifest (an older provider version applied it); apply it again", name))
			continue
		}
		for i, in := range m.Inputs {
			if i >= len(m.InputLineages) || m.InputLineages[i] != d.ops[in].Lineage {
				errs = append(errs, fmt.Errorf("operator %q was applied against another version of its input %q; apply again so it takes the current one", name, in))
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
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

// selection returns the operators a run needs, sorted, and its targets:
// one operator; the targets and their ancestors, each target's lineage
// checked against its manifest; or every terminal operator (no children)
// and so the whole DAG.
func (d *dag) selection(req Request) (selected, targets []string, err error) {
	has := func(name string) error {
		if _, ok := d.ops[name]; !ok {
			return fmt.Errorf("operator %q is not in workflow %q (it has: %s)", name, req.Workflow, strings.Join(sortedKeys(d.ops), ", "))
		}
		return nil
	}
	stale := func(name, lineage string) error {
		if lineage != "" && lineage != d.ops[name].Lineage {
			return fmt.Errorf("the artifact handle of operator %q names lineage %s, but the operator has %s as applied: it changed after the handle was read; plan and apply again",
				name, lineage, d.ops[name].Lineage)
		}
		return nil
	}
	if req.Operator != "" {
		if err := has(req.Operator); err != nil {
			return nil, nil, err
		}
		if err := stale(req.Operator, req.OperatorLineage); err != nil {
			return nil, nil, err
		}
		return []string{req.Operator}, []string{req.Operator}, nil
	}
	if len(req.Targets) == 0 {
		for _, name := range sortedKeys(d.ops) {
			if len(d.children[name]) == 0 {
				targets = append(targets, name)
			}
		}
		return sortedKeys(d.ops), targets, nil
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
	seen := map[string]bool{}
	for _, t := range req.Targets {
		if err := has(t.Operator); err != nil {
			return nil, nil, err
		}
		if err := stale(t.Operator, t.Lineage); err != nil {
			return nil, nil, err
		}
		if !seen[t.Operator] {
			seen[t.Operator] = true
			targets = append(targets, t.Operator)
		}
		walk(t.Operator)
	}
	sort.Strings(targets)
	return sortedKeys(keep), targets, nil
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
