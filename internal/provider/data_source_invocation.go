package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/datasource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/sfnrun"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

var (
	_ datasource.DataSourceWithConfigure        = (*invocationDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*invocationDataSource)(nil)
)

// NewInvocationDataSource is the aqueduct_invocation factory.
func NewInvocationDataSource() datasource.DataSource { return &invocationDataSource{} }

type invocationDataSource struct{ data *ProviderData }

type invocationModel struct {
	Artifacts    types.List           `tfsdk:"artifacts"`
	WorkflowID   types.String         `tfsdk:"workflow_id"`
	OperatorID   types.String         `tfsdk:"operator_id"`
	Parameters   types.Map            `tfsdk:"parameters"`
	Input        jsontypes.Normalized `tfsdk:"input"`
	RunKey       types.String         `tfsdk:"run_key"`
	Rerun        types.Bool           `tfsdk:"rerun"`
	AllowFailure types.Bool           `tfsdk:"allow_failure"`
	MaxParallel  types.Int64          `tfsdk:"max_parallel"`
	Executor     types.String         `tfsdk:"executor"`
	Timeouts     timeouts.Value       `tfsdk:"timeouts"`

	ID           types.String `tfsdk:"id"`
	Status       types.String `tfsdk:"status"`
	Reused       types.Bool   `tfsdk:"reused"`
	Invoked      types.Int64  `tfsdk:"invoked"`
	StartedAt    types.String `tfsdk:"started_at"`
	FinishedAt   types.String `tfsdk:"finished_at"`
	DurationMS   types.Int64  `tfsdk:"duration_ms"`
	RunURI       types.String `tfsdk:"run_uri"`
	ExecutionARN types.String `tfsdk:"execution_arn"`
	Operators    types.Map    `tfsdk:"operators"`
}

// operatorResultModel is one element of `operators`.
type operatorResultModel struct {
	Status       types.String         `tfsdk:"status"`
	CachedFrom   types.String         `tfsdk:"cached_from"`
	Attempts     types.Int64          `tfsdk:"attempts"`
	FunctionName types.String         `tfsdk:"function_name"`
	StartedAt    types.String         `tfsdk:"started_at"`
	FinishedAt   types.String         `tfsdk:"finished_at"`
	DurationMS   types.Int64          `tfsdk:"duration_ms"`
	OutputURI    types.String         `tfsdk:"output_uri"`
	ContentType  types.String         `tfsdk:"content_type"`
	SizeBytes    types.Int64          `tfsdk:"size_bytes"`
	Output       jsontypes.Normalized `tfsdk:"output"`
	Error        types.Object         `tfsdk:"error"`
	LogTail      types.String         `tfsdk:"log_tail"`
	operatorLogModel
}

var errorAttrTypes = map[string]attr.Type{"type": types.StringType, "message": types.StringType, "traceback": types.StringType}

var operatorResultAttrTypes = map[string]attr.Type{
	"status": types.StringType, "cached_from": types.StringType, "attempts": types.Int64Type, "function_name": types.StringType, "started_at": types.StringType, "finished_at": types.StringType,
	"duration_ms": types.Int64Type, "output_uri": types.StringType, "content_type": types.StringType, "size_bytes": types.Int64Type,
	"output": jsontypes.NormalizedType{}, "error": types.ObjectType{AttrTypes: errorAttrTypes}, "log_tail": types.StringType,
	"request_id": types.StringType, "log_group": types.StringType, "log_stream": types.StringType,
}

const defaultMaxParallel = 10

func (d *invocationDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_invocation"
}

func (d *invocationDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs operators of a workflow on Lambda, incrementally, and reads their results.\n\n" +
			"Give it the `artifact` handles of the operators whose outputs you want: it runs what they need. " +
			"Because a handle is unknown in a plan whenever its operator or anything upstream changes, Terraform reads this data source at apply time exactly then, " +
			"after the operators are updated, and at plan time otherwise: no `depends_on` is needed, and the plan lists what will run again.\n\n" +
			"Every operator's output is cached in the artifact store under its lineage, the run parameters it takes and its inputs' outputs. " +
			"A run invokes only the operators whose output for that key is missing: edit a leaf and only the leaf runs; edit a root and everything downstream runs; " +
			"change a parameter and only the operators that take it, and what is downstream of them, run. A failed run resumes where it failed. `rerun = true` ignores the cache.\n\n" +
			"Operators run in dependency order, independent branches in parallel. Each invocation carries presigned S3 URLs, never credentials.",
		Attributes: map[string]schema.Attribute{
			"artifacts": schema.ListAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Artifact handles (`aqueduct_operator.<name>.artifact`) of the operators whose outputs to produce, with what they need; all of one workflow. " +
					"Exactly one of `artifacts`, `workflow_id` and `operator_id`.",
			},
			"workflow_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Run every terminal operator (one no other takes as input) of this workflow, and so the whole DAG, as last applied. " +
					"Its id is known at plan time, so this reads at plan time, before operators changed in the same apply are updated: use `artifacts` to run a pipeline applied in the same configuration.",
			},
			"operator_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Run this one operator on `input`, without its upstream operators: a smoke test. Takes its artifact handle (or, for an operator applied elsewhere, its id).",
			},
			"parameters": schema.MapAttribute{
				Optional:            true,
				ElementType:         jsontypes.NormalizedType{},
				Validators:          []validator.Map{mapvalidator.ValueStringsAre(validators.JSONValue())},
				MarkdownDescription: "Run parameters, a map of JSON values (`jsonencode(...)`), over the workflow's defaults.",
			},
			"input": schema.StringAttribute{
				Optional:            true,
				CustomType:          jsontypes.NormalizedType{},
				MarkdownDescription: "JSON input passed as the first argument, with `operator_id`.",
			},
			"run_key": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Identity of the run, in place of its content hash: the same key reads back the same succeeded run, whatever changed since (a pinned result).",
				Validators:          []validator.String{stringvalidator.RegexMatches(namePattern, "must contain only "+nameHint), stringvalidator.LengthBetween(1, 64)},
			},
			"rerun": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Invoke every operator the run needs, cached or not, and replace their cached outputs.",
			},
			"allow_failure": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: "Report a failed run through `status` and `operators` instead of an error.",
			},
			"executor": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Where the run executes: `step_functions`, as an AWS Step Functions execution named by the run id, or `local`, in the terraform process. " +
					"Defaults to `step_functions` when the engine has an `orchestration_role_arn`, because such a run outlives terraform: a killed CI job or a timeout leaves it running, " +
					"and the next plan attaches to it (or reads its record) instead of starting another. Without that role, and for `operator_id` runs on an `input`, it is `local`. " +
					"Both give the same record and the same outputs, and share the cache.",
				Validators: []validator.String{stringvalidator.OneOf(executorLocal, executorStepFunctions)},
			},
			"max_parallel": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("Most operators invoked at once, 1 to 1000. Defaults to %d.", defaultMaxParallel),
				Validators:          []validator.Int64{int64validator.Between(1, 1000)},
			},
			"id":            computed("Run id."),
			"status":        computed("`succeeded` or `failed`."),
			"reused":        schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the whole run was read back from the artifact store: nothing was invoked or looked up."},
			"invoked":       schema.Int64Attribute{Computed: true, MarkdownDescription: "How many operators the run invoked; the others' outputs came from the cache. A run read back keeps its count, so the value is stable from plan to plan."},
			"started_at":    computed("RFC 3339 start time."),
			"finished_at":   computed("RFC 3339 end time."),
			"duration_ms":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Wall time of the run in milliseconds."},
			"run_uri":       computed("`s3://` URI of the run record."),
			"execution_arn": computed("ARN of the Step Functions execution that ran it; null for a `local` run, and for a run read back whole."),
			"operators": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Result of each operator that was part of the run, by operator name.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"status":        computed("`succeeded` (invoked by this run), `cached` (its output for this run's key was already stored), `failed` or `skipped` (an upstream operator failed)."),
					"cached_from":   computed("For a `cached` operator, the run that made its output."),
					"attempts":      schema.Int64Attribute{Computed: true, MarkdownDescription: "Invocations this run made of the operator, its `retry` attempts included; 0 when `cached` or `skipped`."},
					"function_name": computed("Lambda function invoked."),
					"started_at":    computed("RFC 3339 start time."),
					"finished_at":   computed("RFC 3339 end time."),
					"duration_ms":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Duration in milliseconds."},
					"output_uri":    computed("`s3://` URI of the output."),
					"content_type":  computed("`application/json`, `application/x-python-pickle` or `application/octet-stream`."),
					"size_bytes":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Size of the output in bytes."},
					"output": schema.StringAttribute{
						Computed: true, CustomType: jsontypes.NormalizedType{},
						MarkdownDescription: "The output as JSON when it is JSON and under 64 KB, else null: read it with `jsondecode(...)`.",
					},
					"error": schema.SingleNestedAttribute{
						Computed:            true,
						MarkdownDescription: "The function error of a failed operator.",
						Attributes: map[string]schema.Attribute{
							"type":      computed("Exception type."),
							"message":   computed("Exception message."),
							"traceback": computed("Python traceback."),
						},
					},
					"log_tail":   computed("The last 4 KB of the invocation's log; `log_group` and `log_stream` hold all of it."),
					"request_id": computed("Lambda's request id of the operator's last invocation; its log lines in `log_group` carry it. Null for a cached operator and for runs on Step Functions."),
					"log_group":  computed("The function's CloudWatch Logs log group, when the operator was invoked."),
					"log_stream": computed("The log stream in `log_group` that holds the invocation's full log, found by its request id: read it with `aws logs get-log-events`. Null when CloudWatch Logs has not received it within a few seconds."),
				}},
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx),
		},
	}
}

func (d *invocationDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("artifacts"), path.MatchRoot("workflow_id"), path.MatchRoot("operator_id")),
		datasourcevalidator.Conflicting(path.MatchRoot("input"), path.MatchRoot("workflow_id")),
		datasourcevalidator.Conflicting(path.MatchRoot("input"), path.MatchRoot("artifacts")),
	}
}

func (d *invocationDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (d *invocationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m invocationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Read(ctx, 60*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	rq := run.Request{
		RunKey:      m.RunKey.ValueString(),
		Rerun:       m.Rerun.ValueBool(),
		MaxParallel: defaultMaxParallel,
		Parameters:  map[string]json.RawMessage{},
	}
	if !m.MaxParallel.IsNull() {
		rq.MaxParallel = int(m.MaxParallel.ValueInt64())
	}
	wf, wfAttr, ok := d.request(ctx, &m, &rq, &resp.Diagnostics)
	if !ok {
		return
	}
	rq.Workflow = wf.Name
	for k, v := range m.Parameters.Elements() {
		if n, ok := v.(jsontypes.Normalized); ok && !n.IsNull() {
			rq.Parameters[k] = json.RawMessage(n.ValueString())
		}
	}

	e, err := d.data.resolveEngine(ctx, wf.Engine)
	if err != nil {
		resp.Diagnostics.AddAttributeError(wfAttr, "Cannot resolve the workflow's engine", err.Error())
		return
	}
	store := d.data.store(e)
	if creds, err := store.Credentials(ctx); err == nil && creds.CanExpire {
		rq.CredentialsExpire = creds.Expires
	}
	executor, ok := chooseExecutor(&m, e, &resp.Diagnostics)
	if !ok {
		return
	}
	m.Executor = types.StringValue(executor)
	prepared, err := run.Prepare(ctx, store, rq)
	if err != nil {
		resp.Diagnostics.AddError("Cannot run the workflow", err.Error())
		return
	}
	inv := lambdaInvoker{fns: d.data.lambda(e.Region), key: func() ([]byte, error) { return d.data.environmentKey(ctx, e, store) }}
	var rec *run.Record
	switch {
	case prepared.Reused != nil:
		rec = prepared.Reused
	case executor == executorStepFunctions:
		var target sfnrun.Target
		if target, err = d.data.runsTarget(ctx, e, wf); err == nil {
			runner := &sfnrun.Runner{API: d.data.AWS.ForRegion(e.Region).SFN, Store: store, Target: target, Verify: inv.Verify}
			rec, err = runner.Run(ctx, prepared)
		}
	default:
		rec, err = prepared.Execute(ctx, store, inv)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot run the workflow", err.Error())
		return
	}
	for _, w := range rec.Warnings {
		resp.Diagnostics.AddWarning("Run warning", w)
	}

	m.ID = types.StringValue(rec.ID)
	m.Status = types.StringValue(rec.Status)
	m.Reused = types.BoolValue(rec.Reused)
	m.Invoked = types.Int64Value(int64(rec.Invoked))
	m.StartedAt = types.StringValue(rec.StartedAt.UTC().Format(time.RFC3339Nano))
	m.FinishedAt = types.StringValue(rec.FinishedAt.UTC().Format(time.RFC3339Nano))
	m.DurationMS = types.Int64Value(rec.DurationMS)
	m.RunURI = types.StringValue(store.URI(artifacts.RunKey(store.Prefix(), rec.Workflow, rec.ID)))
	m.ExecutionARN = nullIfEmpty(rec.ExecutionARN)
	streams := d.logStreams(ctx, e.Region, rec)
	m.Operators = operatorResults(ctx, rec, streams, &resp.Diagnostics)

	if rec.Status != "succeeded" && !m.AllowFailure.ValueBool() {
		resp.Diagnostics.AddError("Workflow run failed", failureSummary(rec))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

const (
	executorLocal         = "local"
	executorStepFunctions = "step_functions"
)

// chooseExecutor is the configured executor, or the default: Step Functions
// when the engine can run there and the run is of a DAG.
func chooseExecutor(m *invocationModel, e *engine.Engine, diags *diag.Diagnostics) (string, bool) {
	oneOperator := !m.OperatorID.IsNull()
	switch m.Executor.ValueString() {
	case executorLocal:
		return executorLocal, true
	case executorStepFunctions:
		if e.OrchestrationRoleARN == "" {
			diags.AddAttributeError(path.Root("executor"), "No orchestration role",
				fmt.Sprintf("executor = %q needs a role for Step Functions, but engine %q has no orchestration_role_arn. Set it on the aqueduct_lambda_resource, or set executor = %q.", executorStepFunctions, e.Name, executorLocal))
			return "", false
		}
		if oneOperator {
			diags.AddAttributeError(path.Root("executor"), "Run of one operator on Step Functions",
				fmt.Sprintf("operator_id runs one operator on an input, in terraform; it cannot run on %q. Set executor = %q, or run its artifact with artifacts.", executorStepFunctions, executorLocal))
			return "", false
		}
		return executorStepFunctions, true
	}
	if e.OrchestrationRoleARN != "" && !oneOperator {
		return executorStepFunctions, true
	}
	return executorLocal, true
}

// request fills what to run from the configuration: the workflow, and the
// targets or the one operator. It returns the attribute that named the
// workflow, for diagnostics.
func (d *invocationDataSource) request(ctx context.Context, m *invocationModel, rq *run.Request, diags *diag.Diagnostics) (ids.Workflow, path.Path, bool) {
	switch {
	case !m.Artifacts.IsNull():
		var handles []string
		diags.Append(m.Artifacts.ElementsAs(ctx, &handles, false)...)
		wf, targets := artifactTargets(handles, path.Root("artifacts"), "one run runs one workflow; use one data source per workflow", diags)
		rq.Targets = targets
		return wf, path.Root("artifacts"), !diags.HasError()
	case !m.OperatorID.IsNull():
		at := path.Root("operator_id")
		var op ids.Operator
		if a, err := ids.ParseArtifact(m.OperatorID.ValueString()); err == nil {
			op, rq.OperatorLineage = a.Operator, a.Lineage
		} else if op, err = ids.ParseOperator(m.OperatorID.ValueString()); err != nil {
			diags.AddAttributeError(at, "Invalid operator", fmt.Sprintf("%q is neither an artifact handle nor an operator id", m.OperatorID.ValueString()))
			return ids.Workflow{}, at, false
		}
		rq.Operator = op.Name
		if !m.Input.IsNull() {
			rq.Input = json.RawMessage(m.Input.ValueString())
		}
		return op.Workflow, at, true
	default:
		at := path.Root("workflow_id")
		wf, err := ids.ParseWorkflow(m.WorkflowID.ValueString())
		if err != nil {
			diags.AddAttributeError(at, "Invalid workflow id", err.Error())
			return ids.Workflow{}, at, false
		}
		return wf, at, true
	}
}

func operatorResults(ctx context.Context, rec *run.Record, streams map[string]string, diags *diag.Diagnostics) types.Map {
	elems := map[string]attr.Value{}
	for name, op := range rec.Operators {
		res := operatorResultModel{
			Status:       types.StringValue(op.Status),
			CachedFrom:   nullIfEmpty(op.CachedFrom),
			Attempts:     types.Int64Value(int64(op.Attempts)),
			FunctionName: types.StringValue(op.FunctionName),
			StartedAt:    timeString(op.StartedAt),
			FinishedAt:   timeString(op.FinishedAt),
			DurationMS:   types.Int64Value(op.DurationMS),
			OutputURI:    nullIfEmpty(op.OutputURI),
			ContentType:  nullIfEmpty(op.ContentType),
			SizeBytes:    types.Int64Value(op.SizeBytes),
			Output:       jsontypes.NewNormalizedNull(),
			Error:        types.ObjectNull(errorAttrTypes),
			LogTail:      nullIfEmpty(op.LogTail),
		}
		res.operatorLogModel = operatorLog(op, streams[name])
		if len(op.Output) > 0 {
			res.Output = jsontypes.NewNormalizedValue(string(op.Output))
		}
		if op.Error != nil {
			obj, d := types.ObjectValue(errorAttrTypes, map[string]attr.Value{
				"type": types.StringValue(op.Error.Type), "message": types.StringValue(op.Error.Message), "traceback": types.StringValue(op.Error.Traceback),
			})
			diags.Append(d...)
			res.Error = obj
		}
		obj, d := types.ObjectValueFrom(ctx, operatorResultAttrTypes, res)
		diags.Append(d...)
		elems[name] = obj
	}
	out, d := types.MapValue(types.ObjectType{AttrTypes: operatorResultAttrTypes}, elems)
	diags.Append(d...)
	return out
}

// failureSummary names each failed operator with its error and traceback.
func failureSummary(rec *run.Record) string {
	var names []string
	for name, op := range rec.Operators {
		if op.Status == "failed" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s of workflow %q failed.", rec.ID, rec.Workflow)
	for _, name := range names {
		op := rec.Operators[name]
		if op.Error != nil {
			fmt.Fprintf(&b, "\n\nOperator %q failed with %s: %s\n%s", name, op.Error.Type, op.Error.Message, op.Error.Traceback)
			if op.Error.Traceback == "" && strings.TrimSpace(op.LogTail) != "" {
				// A crash before the runtime could report leaves its story in the log.
				fmt.Fprintf(&b, "Its log ends:\n%s", op.LogTail)
			}
		} else {
			fmt.Fprintf(&b, "\n\nOperator %q failed.", name)
		}
	}
	var skipped []string
	for name, op := range rec.Operators {
		if op.Status == "skipped" {
			skipped = append(skipped, name)
		}
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		fmt.Fprintf(&b, "\n\nSkipped because an upstream operator failed: %s.", strings.Join(skipped, ", "))
	}
	b.WriteString("\n\nSet allow_failure = true to read a failed run without an error.")
	return b.String()
}

func timeString(t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339Nano))
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// lambdaInvoker adapts lambdafn to the run executor.
type lambdaInvoker struct {
	fns *lambdafn.Client
	key func() ([]byte, error) // the engine's environment key
}

func (l lambdaInvoker) Invoke(ctx context.Context, name string, payload []byte) (run.Invocation, error) {
	res, err := l.fns.Invoke(ctx, name, payload)
	if err != nil {
		return run.Invocation{}, err
	}
	return run.Invocation{Payload: res.Payload, FunctionError: res.FunctionError, LogTail: res.LogTail, RequestID: res.RequestID}, nil
}

// Verify compares the function as Lambda reports it with its manifest.
func (l lambdaInvoker) Verify(ctx context.Context, m *artifacts.OperatorManifest) error {
	fn, err := l.fns.Get(ctx, m.FunctionName)
	if err != nil {
		return fmt.Errorf("operator %q: %w", m.Name, err)
	}
	live := *m
	live.ImageURI = fn.ImageURI
	if fn.ResolvedImageURI != "" {
		live.ImageURI = fn.ResolvedImageURI
	}
	live.MemoryMB, live.TimeoutS, live.EphemeralMB = int64(fn.MemoryMB), int64(fn.TimeoutS), int64(fn.EphemeralMB)
	live.Architecture, live.RoleARN = fn.Architecture, fn.RoleARN
	live.EnvironmentHMAC = ""
	if len(fn.Environment) > 0 {
		key, err := l.key()
		if err != nil {
			return err
		}
		live.EnvironmentHMAC = artifacts.EnvironmentHMAC(key, fn.Environment)
	}
	if m.EphemeralMB == 0 {
		live.EphemeralMB = 0 // manifests of older versions did not record it
	}
	if m.RoleARN == "" {
		live.RoleARN = ""
	}
	if live.ConfigHash() == m.ConfigHash() {
		return nil
	}
	var what []string
	for _, f := range []struct{ name, live, want string }{
		{"image", digest(live.ImageURI), digest(m.ImageURI)},
		{"memory (MB)", fmt.Sprint(live.MemoryMB), fmt.Sprint(m.MemoryMB)},
		{"timeout (s)", fmt.Sprint(live.TimeoutS), fmt.Sprint(m.TimeoutS)},
		{"ephemeral storage (MB)", fmt.Sprint(live.EphemeralMB), fmt.Sprint(m.EphemeralMB)},
		{"architecture", live.Architecture, m.Architecture},
		{"role", live.RoleARN, m.RoleARN},
	} {
		if f.live != f.want {
			what = append(what, fmt.Sprintf("%s %s, manifest %s", f.name, f.live, f.want))
		}
	}
	if live.EnvironmentHMAC != m.EnvironmentHMAC {
		what = append(what, "its environment differs from the manifest's")
	}
	return fmt.Errorf("the function %s of operator %q does not run what its manifest says (%s): it was changed outside Terraform, or an apply is updating it. "+
		"Run terraform apply, then run again; no result is stored for a configuration that was not applied", m.FunctionName, m.Name, strings.Join(what, "; "))
}

func digest(image string) string {
	_, d, _ := strings.Cut(image, "@")
	return d
}
