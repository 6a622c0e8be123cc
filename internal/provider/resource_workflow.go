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
}

func (r *workflowResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_workflow"
}

func (r *workflowResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
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
					"An operator's function receives the parameters it names as keyword arguments; `data.aqueduct_invocation` can override them.",
			},
			"schedule": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "An EventBridge schedule expression such as `cron(0 6 * * ? *)` or `rate(1 day)`. " +
					"It is validated and recorded in the manifest only: this version of the provider does not create a schedule, so runs happen through `data.aqueduct_invocation`.",
				Validators: []validator.String{validators.ScheduleExpression()},
			},
			"manifest_uri": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`s3://` URI of the workflow's manifest.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
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
	if plan.ID.IsUnknown() && !plan.Engine.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ID = types.StringValue(workflowID(plan.Engine.ValueString(), plan.Name.ValueString()))
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

func (r *workflowResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan workflowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	e, err := r.data.resolveEngine(ctx, plan.Engine.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("engine"), "Cannot resolve the engine", err.Error())
		return
	}
	store := r.data.store(e)
	key := artifacts.WorkflowKey(e.Prefix, plan.Name.ValueString())
	var existing artifacts.WorkflowManifest
	found, err := store.GetJSON(ctx, key, &existing)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the artifact store", err.Error())
		return
	}
	if found {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Workflow already exists",
			fmt.Sprintf("A workflow named %q already exists in %s but is not in this Terraform state. Import it with: terraform import <address> %s",
				plan.Name.ValueString(), store.URI(key), workflowID(e.ID(), plan.Name.ValueString())))
		return
	}
	r.write(ctx, e, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *workflowResource) write(ctx context.Context, e *engine.Engine, m *workflowModel, diags *diag.Diagnostics) {
	manifest := artifacts.WorkflowManifest{
		Name:        m.Name.ValueString(),
		Description: m.Description.ValueString(),
		Engine:      e.ID(),
		Schedule:    m.Schedule.ValueString(),
		Parameters:  map[string]json.RawMessage{},
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
	key := artifacts.WorkflowKey(e.Prefix, manifest.Name)
	if err := store.PutJSON(ctx, key, manifest); err != nil {
		diags.AddError("Cannot write the workflow manifest", err.Error())
		return
	}
	m.ID = types.StringValue(workflowID(e.ID(), manifest.Name))
	m.ManifestURI = types.StringValue(store.URI(key))
}

func (r *workflowResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state workflowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	engineID, name, err := splitWorkflowID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid workflow id", err.Error())
		return
	}
	e, err := r.data.resolveEngine(ctx, engineID)
	if errors.Is(err, engine.ErrNotFound) {
		resp.Diagnostics.AddWarning("Workflow's engine is gone", fmt.Sprintf("%s; the workflow %q is removed from state.", err, name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the engine", err.Error())
		return
	}
	var m artifacts.WorkflowManifest
	store := r.data.store(e)
	key := artifacts.WorkflowKey(e.Prefix, name)
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
	state.Engine = types.StringValue(engineID)
	state.Description = optionalString(m.Description, state.Description)
	state.Schedule = optionalString(m.Schedule, state.Schedule)
	state.ManifestURI = types.StringValue(store.URI(key))
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

func (r *workflowResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan workflowModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	e, err := r.data.resolveEngine(ctx, plan.Engine.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("engine"), "Cannot resolve the engine", err.Error())
		return
	}
	r.write(ctx, e, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *workflowResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state workflowModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	engineID, name, err := splitWorkflowID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Invalid workflow id", err.Error())
		return
	}
	e, err := r.data.resolveEngine(ctx, engineID)
	if errors.Is(err, engine.ErrNotFound) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the engine", err.Error())
		return
	}
	// Operators are destroyed first (they depend on the workflow); what is
	// left under the workflow's prefix is the manifest.
	store := r.data.store(e)
	if err := store.DeletePrefix(ctx, artifacts.WorkflowPrefix(e.Prefix, name)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the workflow manifest", err.Error())
	}
}

// ImportState takes a workflow id or a bare name, which is looked up among
// the engines of the provider's region.
func (r *workflowResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	if !strings.Contains(id, "/") {
		found, err := r.data.findWorkflow(ctx, id)
		if err != nil {
			resp.Diagnostics.AddError("Cannot import the workflow", err.Error())
			return
		}
		id = found
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func workflowID(engineID, name string) string { return engineID + "/" + name }

// splitWorkflowID splits "<engine id>/<name>"; engine ids hold slashes
// (ECR namespaces), names do not.
func splitWorkflowID(id string) (engineID, name string, err error) {
	i := strings.LastIndex(id, "/")
	if i <= 0 || i == len(id)-1 {
		return "", "", fmt.Errorf("workflow id %q is not of the form <region>:<ecr repository>/<workflow name>", id)
	}
	return id[:i], id[i+1:], nil
}

// findWorkflow finds the one engine in the provider's region whose artifact
// store holds a workflow of that name.
func (pd *ProviderData) findWorkflow(ctx context.Context, name string) (string, error) {
	engines, err := engine.List(ctx, pd.AWS.ECR, pd.AWS.Region)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, e := range engines {
		var m artifacts.WorkflowManifest
		found, err := pd.store(e).GetJSON(ctx, artifacts.WorkflowKey(e.Prefix, name), &m)
		if err != nil {
			return "", err
		}
		if found {
			ids = append(ids, workflowID(e.ID(), name))
		}
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no engine in %s has a workflow named %q", pd.AWS.Region, name)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("workflow %q exists on several engines; import by full id, one of: %s", name, strings.Join(ids, ", "))
	}
}

// optionalString keeps null in state for an empty value the config left out.
func optionalString(v string, prior types.String) types.String {
	if v == "" && prior.IsNull() {
		return types.StringNull()
	}
	return types.StringValue(v)
}
