package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/modifiers/tagsall"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/schedule"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/sfnrun"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*workflowResource)(nil)
	_ resource.ResourceWithImportState = (*workflowResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*workflowResource)(nil)
)

// NewWorkflowResource is the aqueduct_workflow factory.
func NewWorkflowResource() resource.Resource { return &workflowResource{} }

type workflowResource struct{ data *ProviderData }

type workflowModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Engine      types.String `tfsdk:"engine"`
	Parameters  types.Map    `tfsdk:"parameters"`
	Schedule    types.String `tfsdk:"schedule"`
	ManifestURI types.String `tfsdk:"manifest_uri"`
	Tags        types.Map    `tfsdk:"tags"`
	TagsAll     types.Map    `tfsdk:"tags_all"`
}

const retiredScheduleDetail = "aqueduct_workflow.schedule was recorded and never ran anything. Remove it, and schedule runs with an aqueduct_schedule resource: " +
	"resource \"aqueduct_schedule\" \"nightly\" { name = \"nightly\", artifacts = [aqueduct_operator.<last>.artifact], schedule_expression = \"cron(0 6 * * ? *)\" }. " +
	"It needs an orchestration role, set as orchestration_role_arn on the aqueduct_lambda_resource or as the schedule's role_arn."

func (r *workflowResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_workflow"
}

func (r *workflowResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	tagsAttr, tagsAllAttr := tagsall.Attributes("the Step Functions state machines of the workflow's runs (`data.aqueduct_invocation` with `executor = \"step_functions\"`)")
	resp.Schema = schema.Schema{
		MarkdownDescription: "A named DAG of operators on one `aqueduct_lambda_resource`. Its manifest is written to the engine's artifact store at `<prefix>/workflows/<name>/workflow.json`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Workflow id, `<engine id>/<name>`. Use it as an operator's `workflow_id`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Workflow name, unique within its engine: " + nameHint + ", at most 40 characters. Changing it replaces the workflow.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 40),
					stringvalidator.RegexMatches(namePattern, "must contain only "+nameHint),
				},
			},
			"description": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Free text.",
				Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"engine": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `aqueduct_lambda_resource` the workflow runs on. Changing it replaces the workflow.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"parameters": schema.MapAttribute{
				Optional:    true,
				ElementType: jsontypes.NormalizedType{},
				Validators:  []validator.Map{mapvalidator.ValueStringsAre(validators.JSONValue())},
				MarkdownDescription: "Default run parameters, a map of JSON values: `{ n_estimators = jsonencode(100) }`. " +
					"An operator's function receives the parameters it names as keyword arguments; `data.aqueduct_invocation` can override them. " +
					"A run reads the defaults as last applied: one that must see a default changed in the same apply sets it in its own `parameters`.",
			},
			"schedule": schema.StringAttribute{
				Optional:           true,
				DeprecationMessage: retiredScheduleDetail,
				MarkdownDescription: "Retired: it was recorded and never ran anything. Setting it is an error at plan time; " +
					"use the `aqueduct_schedule` resource, which runs the workflow on EventBridge Scheduler and Step Functions.",
				Validators: []validator.String{validators.Retired("aqueduct_workflow.schedule is retired", retiredScheduleDetail)},
			},
			"manifest_uri": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`s3://` URI of the workflow's manifest.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"tags":     tagsAttr,
			"tags_all": tagsAllAttr,
		},
	}
}

func (r *workflowResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan makes the id known at plan time, so operators can check their
// inputs against it before anything is created.
func (r *workflowResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan workflowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.TagsAll = tagsall.Plan(ctx, r.data.Tags, plan.Tags, len(sfnrun.RunsTags("", ids.Workflow{})), &resp.Diagnostics)
	if plan.ID.IsUnknown() && !plan.Engine.IsUnknown() && !plan.Name.IsUnknown() {
		e, err := ids.ParseEngine(plan.Engine.ValueString(), r.data.AWS.Region)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("engine"), "Invalid engine id", err.Error())
			return
		}
		plan.ID = types.StringValue(ids.Workflow{Engine: e, Name: plan.Name.ValueString()}.String())
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *workflowResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan workflowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	e, ok := r.engine(ctx, plan.Engine, &resp.Diagnostics)
	if !ok {
		return
	}
	store := r.data.store(e)
	key := artifacts.WorkflowKey(store.Prefix(), plan.Name.ValueString())
	var existing artifacts.WorkflowManifest
	found, err := store.GetJSON(ctx, key, &existing)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the artifact store", err.Error())
		return
	}
	if found {
		// The engine's namespace is its own: a manifest there is this
		// workflow's, left by an apply that did not record it.
		resp.Diagnostics.AddWarning("Adopted a workflow left by an interrupted apply",
			fmt.Sprintf("The workflow %q already had a manifest at %s but was not in the Terraform state; it is adopted and brought in line with the configuration.", plan.Name.ValueString(), store.URI(key)))
	}
	r.write(ctx, e, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// engine resolves the engine an `engine` attribute names.
func (r *workflowResource) engine(ctx context.Context, v types.String, diags *diag.Diagnostics) (*engine.Engine, bool) {
	id, err := ids.ParseEngine(v.ValueString(), r.data.AWS.Region)
	if err != nil {
		diags.AddAttributeError(path.Root("engine"), "Invalid engine id", err.Error())
		return nil, false
	}
	e, err := r.data.resolveEngine(ctx, id)
	if err != nil {
		diags.AddAttributeError(path.Root("engine"), "Cannot resolve the engine", err.Error())
		return nil, false
	}
	return e, true
}

func (r *workflowResource) write(ctx context.Context, e *engine.Engine, m *workflowModel, diags *diag.Diagnostics) {
	manifest := artifacts.WorkflowManifest{
		Name:        m.Name.ValueString(),
		Description: m.Description.ValueString(),
		Engine:      e.ID().String(),
		Parameters:  map[string]json.RawMessage{},
		Tags:        tagsall.Values(ctx, m.TagsAll, diags),
	}
	for k, v := range m.Parameters.Elements() {
		n, ok := v.(jsontypes.Normalized)
		if !ok || n.IsNull() {
			continue
		}
		if !json.Valid([]byte(n.ValueString())) {
			diags.AddAttributeError(path.Root("parameters").AtMapKey(k), "Invalid JSON", fmt.Sprintf("parameter %q is not valid JSON: %q; use jsonencode(...)", k, n.ValueString()))
			return
		}
		manifest.Parameters[k] = json.RawMessage(n.ValueString())
	}
	store := r.data.store(e)
	key := artifacts.WorkflowKey(store.Prefix(), manifest.Name)
	if err := store.PutJSON(ctx, key, manifest); err != nil {
		diags.AddError("Cannot write the workflow manifest", err.Error())
		return
	}
	m.ID = types.StringValue(ids.Workflow{Engine: e.ID(), Name: manifest.Name}.String())
	m.ManifestURI = types.StringValue(store.URI(key))
}

func (r *workflowResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state workflowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	wf, err := ids.ParseWorkflow(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid workflow id", err.Error())
		return
	}
	e, err := r.data.resolveEngine(ctx, wf.Engine)
	if errors.Is(err, engine.ErrNotFound) {
		// The manifest may outlive the engine; it stays in state while it
		// exists, so that destroy removes it.
		store, key, ok := r.orphanStore(state.ManifestURI.ValueString(), wf.Engine.Region)
		if exists, xerr := store.Exists(ctx, key); ok && xerr == nil && exists {
			resp.Diagnostics.AddWarning("Workflow's engine is gone", fmt.Sprintf("%s, but the manifest of workflow %q is still at %s. It stays in the state so that terraform destroy removes it.", err, wf.Name, store.URI(key)))
			return
		}
		resp.Diagnostics.AddWarning("Workflow's engine is gone", fmt.Sprintf("%s; the workflow %q is removed from state.", err, wf.Name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the engine", err.Error())
		return
	}
	var m artifacts.WorkflowManifest
	store := r.data.store(e)
	key := artifacts.WorkflowKey(store.Prefix(), wf.Name)
	found, err := store.GetJSON(ctx, key, &m)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the workflow manifest", err.Error())
		return
	}
	if !found {
		resp.State.RemoveResource(ctx)
		return
	}
	state.Name = types.StringValue(m.Name)
	if state.Engine.IsNull() || state.Engine.ValueString() == "" {
		state.Engine = types.StringValue(wf.Engine.String()) // import
	}
	state.Description = optionalString(m.Description, state.Description)
	state.Schedule = types.StringNull() // retired; an older manifest's value is dropped
	state.ManifestURI = types.StringValue(store.URI(key))
	applied, err := r.runsTags(ctx, e, wf, m.Tags)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the tags of the workflow's state machines", err.Error())
		return
	}
	state.Tags, state.TagsAll = tagsall.Read(ctx, r.data.Tags, applied, state.Tags, &resp.Diagnostics)
	if len(m.Parameters) > 0 || !state.Parameters.IsNull() {
		elems := map[string]attr.Value{}
		for k, v := range m.Parameters {
			elems[k] = jsontypes.NewNormalizedValue(string(v))
		}
		params, d := types.MapValue(jsontypes.NormalizedType{}, elems)
		resp.Diagnostics.Append(d...)
		state.Parameters = params
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// orphanStore reaches a workflow's manifest from its s3:// URI alone, for
// when its engine is gone.
func (r *workflowResource) orphanStore(uri, region string) (*artifacts.Store, string, bool) {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	if !strings.HasPrefix(uri, "s3://") || !ok || bucket == "" || !strings.HasSuffix(key, "/workflow.json") {
		return artifacts.NewStore(r.data.AWS.ForRegion(region).S3, "", ""), "", false
	}
	return artifacts.NewStore(r.data.AWS.ForRegion(region).S3, bucket, ""), key, true
}

func (r *workflowResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state workflowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	e, ok := r.engine(ctx, plan.Engine, &resp.Diagnostics)
	if !ok {
		return
	}
	r.write(ctx, e, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Runs made the state machines before: they take the new tags now, not
	// at the next run.
	if !plan.TagsAll.Equal(state.TagsAll) && e.OrchestrationRoleARN != "" {
		wf := ids.Workflow{Engine: e.ID(), Name: plan.Name.ValueString()}
		if err := r.retagRunMachines(ctx, e, wf, tagsall.Values(ctx, plan.TagsAll, &resp.Diagnostics)); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("tags"), "Cannot tag the workflow's state machines", err.Error())
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// runsTags are the tags the workflow's runs state machines carry: those of
// one of them when runs on Step Functions made any (so that a change made
// outside Terraform shows), else the manifest's.
func (r *workflowResource) runsTags(ctx context.Context, e *engine.Engine, wf ids.Workflow, manifest map[string]string) (map[string]string, error) {
	if e.OrchestrationRoleARN == "" {
		return manifest, nil // runs happen in terraform: no state machines
	}
	api := r.data.AWS.ForRegion(e.Region).SFN
	arns, err := sfnrun.RunMachines(ctx, api, wf)
	if err != nil || len(arns) == 0 {
		return manifest, err
	}
	return sfnrun.Tags(ctx, api, arns[0])
}

// retagRunMachines gives the workflow's existing runs state machines the
// workflow's tags next to the provider's own.
func (r *workflowResource) retagRunMachines(ctx context.Context, e *engine.Engine, wf ids.Workflow, user map[string]string) error {
	api := r.data.AWS.ForRegion(e.Region).SFN
	arns, err := sfnrun.RunMachines(ctx, api, wf)
	if err != nil {
		return err
	}
	want := tags.With(sfnrun.RunsTags(e.Name, wf), user)
	for _, arn := range arns {
		have, err := sfnrun.Tags(ctx, api, arn)
		if err != nil {
			return err
		}
		if err := sfnrun.SyncTags(ctx, api, arn, have, want, r.data.Tags.Ignored); err != nil {
			return err
		}
	}
	return nil
}

// runsTarget is where the workflow's runs go on Step Functions, with the
// workflow's tags as last applied.
func (pd *ProviderData) runsTarget(ctx context.Context, e *engine.Engine, wf ids.Workflow) (sfnrun.Target, error) {
	t := pd.sfnTarget(e, wf)
	var m artifacts.WorkflowManifest
	store := pd.store(e)
	if _, err := store.GetJSON(ctx, artifacts.WorkflowKey(store.Prefix(), wf.Name), &m); err != nil {
		return t, fmt.Errorf("reading the manifest of workflow %q: %w", wf.Name, err)
	}
	t.Tags, t.KeepTag = m.Tags, pd.Tags.Ignored
	return t, nil
}

func (r *workflowResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state workflowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	wf, err := ids.ParseWorkflow(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Invalid workflow id", err.Error())
		return
	}
	e, err := r.data.resolveEngine(ctx, wf.Engine)
	if errors.Is(err, engine.ErrNotFound) {
		if store, key, ok := r.orphanStore(state.ManifestURI.ValueString(), wf.Engine.Region); ok {
			if err := store.DeletePrefix(ctx, strings.TrimSuffix(key, "workflow.json")); err != nil {
				resp.Diagnostics.AddError("Cannot delete the workflow manifest", err.Error())
			}
		}
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the engine", err.Error())
		return
	}
	store := r.data.store(e)
	// Operators are destroyed first (they depend on the workflow). Any left
	// belong to another state or to an interrupted apply: deleting the
	// workflow under them would break them, so it fails closed.
	inUse, err := operatorsInUse(ctx, r.data, e, store, wf.Name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot check the workflow's operators", err.Error())
		return
	}
	if len(inUse) > 0 {
		resp.Diagnostics.AddError("Workflow still has operators",
			fmt.Sprintf("Workflow %q cannot be deleted while these operators' functions exist: %s. They are not in this Terraform state: "+
				"if an interrupted apply left them, run terraform apply (it adopts them) and then destroy; otherwise destroy them where they are managed.",
				wf.Name, strings.Join(inUse, ", ")))
		return
	}
	if e.OrchestrationRoleARN != "" {
		if !r.deleteRunMachines(ctx, e, wf, &resp.Diagnostics) {
			return
		}
	}
	if err := store.DeletePrefix(ctx, artifacts.WorkflowPrefix(store.Prefix(), wf.Name)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the workflow manifest", err.Error())
	}
}

// deleteRunMachines deletes the state machines of the workflow's runs on
// Step Functions, refusing while a schedule of the workflow still exists:
// one not in this state would lose its runs.
func (r *workflowResource) deleteRunMachines(ctx context.Context, e *engine.Engine, wf ids.Workflow, diags *diag.Diagnostics) bool {
	api := r.data.AWS.ForRegion(e.Region)
	sched, err := schedulesInUse(ctx, r.data, e, wf)
	if err != nil {
		diags.AddError("Cannot check the workflow's schedules", err.Error())
		return false
	}
	if len(sched) > 0 {
		diags.AddError("Workflow still has schedules",
			fmt.Sprintf("Workflow %q cannot be deleted while these schedules exist: %s. Destroy them where they are managed first.", wf.Name, strings.Join(sched, ", ")))
		return false
	}
	arns, err := sfnrun.RunMachines(ctx, api.SFN, wf)
	if err != nil {
		diags.AddError("Cannot list the workflow's state machines", err.Error())
		return false
	}
	for _, arn := range arns {
		if err := sfnrun.Delete(ctx, api.SFN, arn, "workflow "+wf.String()+" was destroyed"); err != nil {
			diags.AddError("Cannot delete the workflow's state machine", err.Error())
			return false
		}
	}
	return true
}

// schedulesInUse lists the workflow's schedules whose EventBridge schedule
// still exists.
func schedulesInUse(ctx context.Context, pd *ProviderData, e *engine.Engine, wf ids.Workflow) ([]string, error) {
	store := pd.store(e)
	prefix := artifacts.SchedulesPrefix(store.Prefix(), wf.Name)
	keys, err := store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, key := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(key, prefix), ".json")
		sid := ids.Schedule{Workflow: wf, Name: name}
		_, err := schedule.Get(ctx, pd.AWS.ForRegion(e.Region).Scheduler, naming.ScheduleName(sid))
		switch {
		case errors.Is(err, schedule.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			out = append(out, name)
		}
	}
	return out, nil
}

// operatorsInUse lists the operators of a workflow whose functions still
// exist, as "name (function)". Manifests whose functions are gone are stale.
func operatorsInUse(ctx context.Context, pd *ProviderData, e *engine.Engine, store *artifacts.Store, workflow string) ([]string, error) {
	ops, err := artifacts.Operators(ctx, store, workflow)
	if err != nil {
		return nil, err
	}
	fns := pd.lambda(e.Region)
	var inUse []string
	for _, m := range ops {
		_, err := fns.Get(ctx, m.FunctionName)
		switch {
		case errors.Is(err, lambdafn.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			inUse = append(inUse, fmt.Sprintf("%s/%s (function %s)", workflow, m.Name, m.FunctionName))
		}
	}
	return inUse, nil
}

// ImportState takes a workflow id or a bare name, which is looked up among
// the engines of the provider's region.
func (r *workflowResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if wf, err := ids.ParseWorkflow(req.ID); err == nil {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), wf.String())...)
		return
	}
	if !namePattern.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q is neither a workflow name nor a workflow id \"<region>:<ecr repository>/<workflow>\"", req.ID))
		return
	}
	wf, err := r.data.findWorkflow(ctx, req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import the workflow", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), wf.String())...)
}

// findWorkflow finds the one engine in the provider's region whose artifact
// store holds a workflow of that name.
func (pd *ProviderData) findWorkflow(ctx context.Context, name string) (ids.Workflow, error) {
	engines, err := engine.List(ctx, pd.AWS.ECR, pd.AWS.Region)
	if err != nil {
		return ids.Workflow{}, err
	}
	var found []ids.Workflow
	for _, e := range engines {
		store := pd.store(e)
		var m artifacts.WorkflowManifest
		ok, err := store.GetJSON(ctx, artifacts.WorkflowKey(store.Prefix(), name), &m)
		if err != nil {
			return ids.Workflow{}, err
		}
		if ok {
			found = append(found, ids.Workflow{Engine: e.ID(), Name: name})
		}
	}
	switch len(found) {
	case 0:
		return ids.Workflow{}, fmt.Errorf("no engine in %s has a workflow named %q", pd.AWS.Region, name)
	case 1:
		return found[0], nil
	default:
		names := make([]string, len(found))
		for i, w := range found {
			names[i] = w.String()
		}
		return ids.Workflow{}, fmt.Errorf("workflow %q exists on several engines; import by full id, one of: %s", name, strings.Join(names, ", "))
	}
}

// optionalString keeps null in state for an empty value the config left out.
func optionalString(v string, prior types.String) types.String {
	if v == "" && prior.IsNull() {
		return types.StringNull()
	}
	return types.StringValue(v)
}
