package sfnrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/runtime"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/statemachine"
)

// Target is where runs go: the engine's account, its artifact store and
// the role Step Functions assumes.
type Target struct {
	Workflow   ids.Workflow
	EngineName string
	Account    string
	// LikeARN is any ARN of the engine's partition (its repository's).
	LikeARN string
	RoleARN string
	Store   statemachine.Store
	// Tags are the workflow's own tags (its tags_all), put on its runs
	// state machines next to the provider's; KeepTag names tags another
	// tool manages there (ignore_tags).
	Tags    map[string]string
	KeepTag func(key string) bool
}

// Spec is the state machine spec of a prepared run.
func Spec(p *run.Prepared, store statemachine.Store) statemachine.Spec {
	spec := statemachine.Spec{Workflow: p.Workflow, Targets: p.Targets, Store: store}
	for _, name := range p.Selected {
		m := p.Operators[name]
		spec.Operators = append(spec.Operators, statemachine.Operator{
			Name: name, FunctionName: m.FunctionName, Inputs: m.Inputs, TimeoutS: m.TimeoutS, Retry: m.Retry,
		})
	}
	return spec
}

// Input is a prepared run's execution input. id is empty for a scheduled
// run, whose id is its execution's name.
func Input(p *run.Prepared, id, startedBy string) statemachine.ExecutionInput {
	in := statemachine.ExecutionInput{
		Run:             statemachine.Run{ID: id, Workflow: p.Workflow, Identity: p.Identity, Rerun: p.Rerun(), BaseID: p.BaseID, StartedBy: startedBy},
		Parameters:      p.Parameters,
		ParameterHashes: p.ParameterHashes(),
		Lineages:        make(map[string]string, len(p.Operators)),
		Cached:          map[string]runtime.ServerResult{},
	}
	if in.Parameters == nil {
		in.Parameters = map[string]json.RawMessage{}
	}
	for name, m := range p.Operators {
		in.Lineages[name] = m.Lineage
	}
	return in
}

// Runner runs prepared runs as executions of the workflow's runs state
// machine for their definition.
type Runner struct {
	API    *sfn.Client
	Store  run.Store
	Target Target
	// Verify, when set, checks before the start that an operator's function
	// runs what its manifest says, as the local executor does before each
	// invocation: a result made by another configuration would be stored
	// under this one's identity.
	Verify func(context.Context, *artifacts.OperatorManifest) error
	// Poll is the first wait between two reads of a running execution; it
	// grows to MaxPoll. Zero means 250 ms and 2 s.
	Poll, MaxPoll time.Duration
}

// maxAttempts bounds the executions one run id gets: each failed one is
// followed by "<id>-2", "<id>-3", ...
const maxAttempts = 1000

// Run runs p on Step Functions and returns its record. A run already
// running under its id is attached to, not started again, so a terraform
// killed mid-run loses nothing: the execution goes on, and the next read
// attaches to it or, once it has succeeded, reads its record. A run whose
// execution failed is resumed by the next attempt, which finds what
// succeeded in the cache.
//
// When ctx ends first, the execution goes on; the error names it.
func (r *Runner) Run(ctx context.Context, p *run.Prepared) (*run.Record, error) {
	if p.Reused != nil {
		return p.Reused, nil
	}
	if p.Input != nil {
		return nil, errors.New("a run of one operator on an input runs in terraform: set executor = \"local\"")
	}
	t := r.Target
	def, err := statemachine.Compile(Spec(p, t.Store))
	if err != nil {
		return nil, err
	}
	name := naming.RunStateMachine(t.Workflow, def)
	arn := ARN(t.LikeARN, t.Workflow.Engine.Region, t.Account, name)
	created, err := Ensure(ctx, r.API, arn, Machine{Name: name, Definition: def, RoleARN: t.RoleARN, Tags: t.machineTags(), KeepTag: t.KeepTag})
	if err != nil {
		return nil, err
	}
	if created {
		// The workflow's earlier definitions are done with once idle.
		_ = r.deleteIdleRunMachines(ctx, arn)
	}

	in := Input(p, p.ID, "terraform")
	cached, err := p.Cached(ctx, r.Store)
	if err != nil {
		return nil, err
	}
	in.Cached = run.ServerResults(cached)
	if r.Verify != nil {
		for _, name := range p.Selected {
			if _, ok := cached[name]; ok {
				continue
			}
			if err := r.Verify(ctx, p.Operators[name]); err != nil {
				return nil, fmt.Errorf("not started: %w", err)
			}
		}
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	exec, err := r.startOrAttach(ctx, arn, p.ID, string(input))
	if err != nil {
		return nil, err
	}
	out, err := r.wait(ctx, exec)
	if err != nil {
		return nil, err
	}
	var rec run.Record
	key := artifacts.RunKey(r.Store.Prefix(), p.Workflow, p.ID)
	found, err := r.Store.GetJSON(ctx, key, &rec)
	if err != nil {
		return nil, fmt.Errorf("reading the record of execution %s: %w", exec, err)
	}
	if !found || rec.Identity != p.Identity {
		return nil, fmt.Errorf("execution %s ended %s without writing its run record %s: %s %s",
			exec, out.Status, r.Store.URI(key), aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	rec.ExecutionARN = exec
	if err := r.countAttempts(ctx, exec, &rec); err != nil {
		rec.Warnings = append(rec.Warnings, "the operators' attempts were not counted: "+err.Error())
	}
	return &rec, nil
}

// startOrAttach returns the execution of the run: a running one, or a new
// one. The first attempt is named by the run id; a closed one (its record
// was not reusable, or Prepare would have returned it) is followed by the
// next name.
func (r *Runner) startOrAttach(ctx context.Context, machine, id, input string) (string, error) {
	for n := 1; n <= maxAttempts; n++ {
		name := id
		if n > 1 {
			name = id + "-" + strconv.Itoa(n)
		}
		out, err := r.API.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(input)})
		if err == nil {
			return aws.ToString(out.ExecutionArn), nil
		}
		var exists *types.ExecutionAlreadyExists
		if !errors.As(err, &exists) {
			return "", fmt.Errorf("starting execution %s of %s: %w", name, machine, err)
		}
		// Closed, or running with another input: AWS answers the same. Read it.
		exec := ExecutionARN(machine, name)
		d, err := r.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)})
		if err != nil {
			return "", fmt.Errorf("reading execution %s: %w", exec, err)
		}
		if d.Status == types.ExecutionStatusRunning {
			return exec, nil
		}
	}
	return "", fmt.Errorf("run %s has %d closed executions on %s; rerun it", id, maxAttempts, machine)
}

// wait polls the execution until it closes.
func (r *Runner) wait(ctx context.Context, exec string) (*sfn.DescribeExecutionOutput, error) {
	poll, maxPoll := r.Poll, r.MaxPoll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	if maxPoll <= 0 {
		maxPoll = 2 * time.Second
	}
	for {
		out, err := r.API.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(exec)})
		if err != nil {
			if ctx.Err() != nil {
				return nil, stillRunning(exec, ctx.Err())
			}
			return nil, fmt.Errorf("reading execution %s: %w", exec, err)
		}
		if out.Status != types.ExecutionStatusRunning && out.Status != types.ExecutionStatusPendingRedrive {
			return out, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, stillRunning(exec, ctx.Err())
		case <-t.C:
		}
		poll = min(poll*3/2, maxPoll)
	}
}

func stillRunning(exec string, err error) error {
	return fmt.Errorf("stopped waiting for execution %s, which goes on running on Step Functions; the next plan attaches to it: %w", exec, err)
}

// countAttempts sets each operator's attempts from the execution's history:
// Step Functions retries a Task without the function knowing. Parallel
// branches interleave their events, so each TaskScheduled is traced back
// through its previous events to the Task state it belongs to.
func (r *Runner) countAttempts(ctx context.Context, exec string, rec *run.Record) error {
	events := map[int64]types.HistoryEvent{}
	p := sfn.NewGetExecutionHistoryPaginator(r.API, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(exec), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, ev := range page.Events {
			events[ev.Id] = ev
		}
	}
	counts := map[string]int{}
	for _, ev := range events {
		if ev.Type != types.HistoryEventTypeTaskScheduled {
			continue
		}
		for prev, ok := events[ev.PreviousEventId]; ok; prev, ok = events[prev.PreviousEventId] {
			if prev.Type == types.HistoryEventTypeTaskStateEntered && prev.StateEnteredEventDetails != nil {
				counts[aws.ToString(prev.StateEnteredEventDetails.Name)]++
				break
			}
		}
	}
	for name, op := range rec.Operators {
		op.Attempts = counts[name]
	}
	return nil
}

// machineTags are the tags of the workflow's runs state machines: the
// provider's and the workflow's own.
func (t Target) machineTags() map[string]string {
	out := maps.Clone(t.Tags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, RunsTags(t.EngineName, t.Workflow))
	return out
}

// RunsTags are the provider's tags of a workflow's runs state machines.
func RunsTags(engineName string, wf ids.Workflow) map[string]string {
	return map[string]string{
		naming.TagEngine: engineName, naming.TagWorkflow: wf.Name, naming.TagKind: naming.KindRuns, naming.TagOwner: naming.RunsOwner(wf),
	}
}

// RunMachines lists a workflow's runs state machines.
func RunMachines(ctx context.Context, api *sfn.Client, wf ids.Workflow) ([]string, error) {
	owner := naming.RunsOwner(wf)
	return Owned(ctx, api, naming.FunctionPrefix(wf.Engine)+"-", func(tags map[string]string) bool {
		return tags[naming.TagKind] == naming.KindRuns && tags[naming.TagOwner] == owner
	})
}

// deleteIdleRunMachines deletes the workflow's runs machines other than
// keep that have nothing running.
func (r *Runner) deleteIdleRunMachines(ctx context.Context, keep string) error {
	arns, err := RunMachines(ctx, r.API, r.Target.Workflow)
	if err != nil {
		return err
	}
	var errs []error
	for _, arn := range arns {
		if arn != keep {
			if _, err := DeleteIfIdle(ctx, r.API, arn); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
