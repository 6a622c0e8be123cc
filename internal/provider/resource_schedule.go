package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/iamrole"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/modifiers/tagsall"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/schedule"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/sfnrun"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/statemachine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*scheduleResource)(nil)
	_ resource.ResourceWithImportState = (*scheduleResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*scheduleResource)(nil)
)

// NewScheduleResource is the aqueduct_schedule factory.
func NewScheduleResource() resource.Resource { return &scheduleResource{} }

type scheduleResource struct{ data *ProviderData }

type scheduleModel struct {
	ID                 types.String   `tfsdk:"id"`
	Name               types.String   `tfsdk:"name"`
	Artifacts          types.List     `tfsdk:"artifacts"`
	ScheduleExpression types.String   `tfsdk:"schedule_expression"`
	Timezone           types.String   `tfsdk:"timezone"`
	Parameters         types.Map      `tfsdk:"parameters"`
	Enabled            types.Bool     `tfsdk:"enabled"`
	Rerun              types.Bool     `tfsdk:"rerun"`
	RoleARN            types.String   `tfsdk:"role_arn"`
	WorkflowID         types.String   `tfsdk:"workflow_id"`
	StateMachineARN    types.String   `tfsdk:"state_machine_arn"`
	ScheduleARN        types.String   `tfsdk:"schedule_arn"`
	ScheduleName       types.String   `tfsdk:"schedule_name"`
	InputSHA256        types.String   `tfsdk:"input_sha256"`
	Tags               types.Map      `tfsdk:"tags"`
	TagsAll            types.Map      `tfsdk:"tags_all"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *scheduleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_schedule"
}

func (r *scheduleResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	tagsAttr, tagsAllAttr := tagsall.Attributes("the schedule's Step Functions state machine (EventBridge Scheduler takes tags on schedule groups only, not on schedules)")
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs a workflow unattended, on AWS: an EventBridge Scheduler schedule that starts executions of the schedule's own Step Functions state machine, " +
			"which runs the operators the `artifacts` need, as `data.aqueduct_invocation` with `executor = \"step_functions\"` does, and writes the same run record.\n\n" +
			"Because it takes artifact handles, an apply that changes an operator updates the state machine and the schedule's input in the same apply: a firing never runs a DAG older than the one applied. " +
			"A change to the workflow's default parameters, or to an operator applied by another configuration, shows in the next plan as an update.\n\n" +
			"Read its runs with `data.aqueduct_schedule_runs`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Schedule id, `<workflow id>/schedule:<name>`, for `terraform import`.",
				PlanModifiers:       keep,
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Schedule name, unique within its workflow: " + nameHint + ", at most 64 characters. Changing it replaces the schedule.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 64),
					stringvalidator.RegexMatches(namePattern, "must contain only "+nameHint),
				},
			},
			"artifacts": schema.ListAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Artifact handles (`aqueduct_operator.<name>.artifact`) of the operators each run produces, with what they need; all of one workflow. " +
					"Moving the schedule to another workflow replaces it.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues()},
			},
			"schedule_expression": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "When it fires, as EventBridge Scheduler writes it: `rate(6 hours)`, `cron(0 6 * * ? *)` (minutes hours day-of-month month day-of-week year) " +
					"or, once, `at(2026-12-24T18:00:00)`. Cron and at are read in `timezone`.",
				Validators: []validator.String{validators.ScheduleExpression()},
			},
			"timezone": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("UTC"),
				MarkdownDescription: "IANA time zone of a `cron` or `at` expression, e.g. `Europe/Paris`. Defaults to `UTC`. Daylight saving time is followed as Scheduler follows it.",
				Validators:          []validator.String{validators.Timezone()},
			},
			"parameters": schema.MapAttribute{
				Optional:            true,
				ElementType:         jsontypes.NormalizedType{},
				Validators:          []validator.Map{mapvalidator.ValueStringsAre(validators.JSONValue())},
				MarkdownDescription: "Run parameters, a map of JSON values (`jsonencode(...)`), over the workflow's defaults.",
			},
			"enabled": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(true),
				MarkdownDescription: "Whether it fires. Disabling keeps the schedule and its state machine. Defaults to `true`.",
			},
			"rerun": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
				MarkdownDescription: "Whether each firing invokes every operator the run needs, as a job over fresh data must (`true`, the default), " +
					"or reuses the outputs cached for the same lineages and parameters and invokes only what is missing (`false`).",
			},
			"role_arn": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Role that EventBridge Scheduler assumes to start executions and Step Functions assumes to invoke the operators' functions. " +
					"It must trust both `scheduler.amazonaws.com` and `states.amazonaws.com`; this is checked at apply. Defaults to the engine's `orchestration_role_arn`.",
				PlanModifiers: keep,
			},
			"workflow_id":       schema.StringAttribute{Computed: true, MarkdownDescription: "The workflow the artifacts belong to.", PlanModifiers: keep},
			"state_machine_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the schedule's state machine.", PlanModifiers: keep},
			"schedule_arn":      schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the EventBridge Scheduler schedule.", PlanModifiers: keep},
			"schedule_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Name of the EventBridge Scheduler schedule, in the `default` group: `<engine>-<workflow>-<name>-<hash>`.",
				PlanModifiers:       keep,
			},
			"input_sha256": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "SHA-256 of the execution input each firing starts with: the operators' lineages and the parameters. " +
					"It changes when anything upstream of the artifacts or a default parameter of the workflow does.",
			},
			"tags":     tagsAttr,
			"tags_all": tagsAllAttr,
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *scheduleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// targets parses the artifact handles; ok is false while one is unknown.
func (m *scheduleModel) targets(ctx context.Context, diags *diag.Diagnostics) (wf ids.Workflow, targets []run.Target, ok bool) {
	if m.Artifacts.IsUnknown() {
		return wf, nil, false
	}
	var elems []types.String
	diags.Append(m.Artifacts.ElementsAs(ctx, &elems, false)...)
	handles := make([]string, len(elems))
	for i, h := range elems {
		if h.IsUnknown() {
			return wf, nil, false
		}
		handles[i] = h.ValueString()
	}
	wf, targets = artifactTargets(handles, path.Root("artifacts"), "a schedule runs one workflow", diags)
	return wf, targets, len(targets) > 0 && !diags.HasError()
}

func (m *scheduleModel) parameters() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m.Parameters.Elements() {
		if n, ok := v.(jsontypes.Normalized); ok && !n.IsNull() && !n.IsUnknown() {
			out[k] = json.RawMessage(n.ValueString())
		}
	}
	return out
}

// ModifyPlan derives the ids, and plans an update when the input a firing
// would start with has changed outside this configuration (a default
// parameter of the workflow, an operator applied elsewhere).
func (r *scheduleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan scheduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	plan.TagsAll = tagsall.Plan(ctx, r.data.Tags, plan.Tags, len(scheduleTags(&engine.Engine{}, ids.Schedule{})), &resp.Diagnostics)
	wf, targets, ok := plan.targets(ctx, &resp.Diagnostics)
	if !ok || plan.Name.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	sid := ids.Schedule{Workflow: wf, Name: plan.Name.ValueString()}
	plan.ID = types.StringValue(sid.String())
	plan.WorkflowID = types.StringValue(wf.String())
	plan.ScheduleName = types.StringValue(naming.ScheduleName(sid))

	var state, config *scheduleModel
	if !req.State.Raw.IsNull() {
		state, config = &scheduleModel{}, &scheduleModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		resp.Diagnostics.Append(req.Config.Get(ctx, config)...)
		if state.WorkflowID.ValueString() != "" && state.WorkflowID.ValueString() != wf.String() {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("artifacts"))
		}
	}
	e, err := r.data.resolveEngine(ctx, wf.Engine)
	if err != nil || state == nil {
		// Apply resolves what is unknown now; its errors are reported there.
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	// The engine's role, when this schedule takes it, changed since.
	if config.RoleARN.IsNull() && e.OrchestrationRoleARN != "" && plan.RoleARN.ValueString() != e.OrchestrationRoleARN {
		plan.RoleARN = types.StringUnknown()
	}
	// What a firing would start with now: when it differs from what the
	// schedule holds (a default parameter of the workflow, an operator
	// applied elsewhere), plan an update. It is never planned as a known
	// value, which the apply might not reproduce.
	if !plan.InputSHA256.IsUnknown() {
		if p, err := run.Prepare(ctx, r.data.planReader(e), scheduleRequest(&plan, wf, targets)); err == nil {
			if in, err := scheduleInput(p, sid); err == nil && sha256Hex(in) != state.InputSHA256.ValueString() {
				plan.InputSHA256 = types.StringUnknown()
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func scheduleRequest(m *scheduleModel, wf ids.Workflow, targets []run.Target) run.Request {
	return run.Request{Workflow: wf.Name, Targets: targets, Parameters: m.parameters(), Rerun: m.Rerun.ValueBool()}
}

// scheduleInput is the execution input of every firing: a scheduled run's
// id is its execution's name.
func scheduleInput(p *run.Prepared, sid ids.Schedule) ([]byte, error) {
	return json.Marshal(sfnrun.Input(p, "", "schedule:"+sid.Name))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (r *scheduleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan scheduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, &plan, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *scheduleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state scheduleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, &plan, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply makes the state machine, the manifest and the schedule what plan
// says, in that order: the schedule never starts a machine older than the
// DAG it was applied with, and everything it made is found again by name.
func (r *scheduleResource) apply(ctx context.Context, plan, state *scheduleModel, diags *diag.Diagnostics) {
	wf, targets, ok := plan.targets(ctx, diags)
	if !ok {
		if !diags.HasError() {
			diags.AddAttributeError(path.Root("artifacts"), "Unknown artifacts", "The artifact handles are still unknown at apply; this is a bug in the provider.")
		}
		return
	}
	sid := ids.Schedule{Workflow: wf, Name: plan.Name.ValueString()}
	e, err := r.data.resolveEngine(ctx, wf.Engine)
	if err != nil {
		diags.AddAttributeError(path.Root("artifacts"), "Cannot resolve the workflow's engine", err.Error())
		return
	}
	role := plan.RoleARN.ValueString()
	if plan.RoleARN.IsUnknown() || role == "" {
		role = e.OrchestrationRoleARN
	}
	if role == "" {
		diags.AddAttributeError(path.Root("role_arn"), "No role for the schedule",
			fmt.Sprintf("A schedule needs a role that EventBridge Scheduler and Step Functions assume: set role_arn, or orchestration_role_arn on engine %q.", e.Name))
		return
	}
	if state == nil || state.RoleARN.ValueString() != role {
		if err := iamrole.CheckTrust(ctx, r.data.AWS.IAM, role, "scheduler.amazonaws.com", "states.amazonaws.com"); err != nil {
			diags.AddAttributeError(path.Root("role_arn"), "Unusable schedule role", err.Error())
			return
		}
	}

	store := r.data.store(e)
	p, err := run.Prepare(ctx, store, scheduleRequest(plan, wf, targets))
	if err != nil {
		diags.AddAttributeError(path.Root("artifacts"), "Cannot compile the schedule's run", err.Error())
		return
	}
	target := r.data.sfnTarget(e, wf)
	def, err := statemachine.Compile(sfnrun.Spec(p, target.Store))
	if err != nil {
		diags.AddError("Cannot compile the schedule's state machine", err.Error())
		return
	}
	api := r.data.AWS.ForRegion(e.Region)
	smName := naming.ScheduleStateMachine(sid)
	smARN := sfnrun.ARN(e.RepositoryARN, e.Region, e.RegistryID, smName)
	if _, err := sfnrun.Ensure(ctx, api.SFN, smARN, sfnrun.Machine{
		Name: smName, Definition: def, RoleARN: role,
		Tags: tags.With(scheduleTags(e, sid), tagsall.Values(ctx, plan.TagsAll, diags)), KeepTag: r.data.Tags.Ignored,
	}); err != nil {
		diags.AddError("Cannot create the schedule's state machine", err.Error())
		return
	}
	input, err := scheduleInput(p, sid)
	if err != nil {
		diags.AddError("Cannot encode the schedule's input", err.Error())
		return
	}
	params := plan.parameters()
	if len(params) == 0 {
		params = nil
	}
	manifest := artifacts.ScheduleManifest{
		Name: sid.Name, Workflow: wf.Name, Targets: p.Targets, Parameters: params, Rerun: plan.Rerun.ValueBool(),
		StateMachine: smName, Schedule: naming.ScheduleName(sid),
	}
	if err := store.PutJSON(ctx, artifacts.ScheduleKey(store.Prefix(), wf.Name, sid.Name), manifest); err != nil {
		diags.AddError("Cannot write the schedule manifest", err.Error())
		return
	}
	arn, err := schedule.Put(ctx, api.Scheduler, schedule.Schedule{
		Name: naming.ScheduleName(sid), Expression: plan.ScheduleExpression.ValueString(), Timezone: plan.Timezone.ValueString(),
		Enabled: plan.Enabled.ValueBool(), TargetARN: smARN, RoleARN: role, Input: string(input),
		Owner: naming.ScheduleOwner(sid), ID: sid.String(),
	})
	if err != nil {
		diags.AddError("Cannot create the schedule", err.Error())
		return
	}
	plan.ID = types.StringValue(sid.String())
	plan.WorkflowID = types.StringValue(wf.String())
	plan.RoleARN = types.StringValue(role)
	plan.StateMachineARN = types.StringValue(smARN)
	plan.ScheduleARN = types.StringValue(arn)
	plan.ScheduleName = types.StringValue(naming.ScheduleName(sid))
	plan.InputSHA256 = types.StringValue(sha256Hex(input))
}

func scheduleTags(e *engine.Engine, sid ids.Schedule) map[string]string {
	return map[string]string{
		naming.TagEngine: e.Name, naming.TagWorkflow: sid.Workflow.Name, naming.TagSchedule: sid.Name,
		naming.TagKind: naming.KindSchedule, naming.TagOwner: naming.ScheduleOwner(sid),
	}
}

func (r *scheduleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state scheduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sid, err := ids.ParseSchedule(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid schedule id", err.Error())
		return
	}
	api := r.data.AWS.ForRegion(sid.Workflow.Engine.Region)
	got, err := schedule.Get(ctx, api.Scheduler, naming.ScheduleName(sid))
	if errors.Is(err, schedule.ErrNotFound) {
		resp.Diagnostics.AddWarning("Schedule is gone",
			fmt.Sprintf("The EventBridge schedule %q of %s was deleted outside Terraform; the next apply creates it again.", naming.ScheduleName(sid), sid))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the schedule", err.Error())
		return
	}
	switch exists, err := sfnrun.Exists(ctx, api.SFN, got.TargetARN); {
	case err != nil:
		resp.Diagnostics.AddError("Cannot read the schedule's state machine", err.Error())
		return
	case !exists:
		// Apply makes both again: the schedule is adopted by its owner mark.
		resp.Diagnostics.AddWarning("Schedule's state machine is gone",
			fmt.Sprintf("The state machine %s of schedule %s was deleted outside Terraform; the next apply creates it again.", got.TargetARN, sid))
		resp.State.RemoveResource(ctx)
		return
	}
	machineTags, err := sfnrun.Tags(ctx, api.SFN, got.TargetARN)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the schedule's state machine", err.Error())
		return
	}
	state.Tags, state.TagsAll = tagsall.Read(ctx, r.data.Tags, machineTags, state.Tags, &resp.Diagnostics)
	state.Name = types.StringValue(sid.Name)
	state.WorkflowID = types.StringValue(sid.Workflow.String())
	state.ScheduleExpression = types.StringValue(got.Expression)
	state.Timezone = types.StringValue(got.Timezone)
	state.Enabled = types.BoolValue(got.Enabled)
	state.RoleARN = types.StringValue(got.RoleARN)
	state.StateMachineARN = types.StringValue(got.TargetARN)
	state.ScheduleName = types.StringValue(got.Name)
	state.InputSHA256 = types.StringValue(sha256Hex([]byte(got.Input)))
	state.ScheduleARN = types.StringValue(got.ARN)

	// What AWS does not hold: the handles and the parameters as configured.
	var in statemachine.ExecutionInput
	_ = json.Unmarshal([]byte(got.Input), &in)
	if e, err := r.data.resolveEngine(ctx, sid.Workflow.Engine); err == nil {
		store := r.data.store(e)
		var m artifacts.ScheduleManifest
		found, err := store.GetJSON(ctx, artifacts.ScheduleKey(store.Prefix(), sid.Workflow.Name, sid.Name), &m)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the schedule manifest", err.Error())
			return
		}
		if found {
			handles := make([]string, len(m.Targets))
			for i, t := range m.Targets {
				handles[i] = ids.Artifact{Operator: sid.Workflow.Operator(t), Lineage: in.Lineages[t]}.String()
			}
			l, d := types.ListValueFrom(ctx, types.StringType, handles)
			resp.Diagnostics.Append(d...)
			state.Artifacts = l
			state.Rerun = types.BoolValue(m.Rerun)
			if len(m.Parameters) > 0 || !state.Parameters.IsNull() {
				elems := map[string]attr.Value{}
				for k, v := range m.Parameters {
					elems[k] = jsontypes.NewNormalizedValue(string(v))
				}
				pm, d := types.MapValue(jsontypes.NormalizedType{}, elems)
				resp.Diagnostics.Append(d...)
				state.Parameters = pm
			}
		}
	}
	if state.Timeouts.Object.IsNull() {
		state.Timeouts = timeouts.Value{Object: types.ObjectNull(state.Timeouts.Object.AttributeTypes(ctx))}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Delete removes the schedule first, so nothing new starts, then stops the
// state machine's running executions and deletes it, then the manifest.
func (r *scheduleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state scheduleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sid, err := ids.ParseSchedule(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid schedule id", err.Error())
		return
	}
	api := r.data.AWS.ForRegion(sid.Workflow.Engine.Region)
	if err := schedule.Delete(ctx, api.Scheduler, naming.ScheduleName(sid)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the schedule", err.Error())
		return
	}
	if arn := state.StateMachineARN.ValueString(); arn != "" {
		if err := sfnrun.Delete(ctx, api.SFN, arn, "schedule "+sid.String()+" was destroyed"); err != nil {
			resp.Diagnostics.AddError("Cannot delete the schedule's state machine", err.Error())
			return
		}
	}
	if e, err := r.data.resolveEngine(ctx, sid.Workflow.Engine); err == nil {
		store := r.data.store(e)
		if err := store.Delete(ctx, artifacts.ScheduleKey(store.Prefix(), sid.Workflow.Name, sid.Name)); err != nil {
			resp.Diagnostics.AddWarning("Schedule manifest kept", err.Error())
		}
	} else if !errors.Is(err, engine.ErrNotFound) {
		resp.Diagnostics.AddWarning("Schedule manifest kept", err.Error())
	}
}

func (r *scheduleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if _, err := ids.ParseSchedule(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid schedule id", err.Error())
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
