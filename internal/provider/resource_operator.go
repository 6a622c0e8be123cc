package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/build"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/memorytype"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/registry"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*operatorResource)(nil)
	_ resource.ResourceWithImportState = (*operatorResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*operatorResource)(nil)
)

// NewOperatorResource is the aqueduct_operator factory.
func NewOperatorResource() resource.Resource { return &operatorResource{} }

type operatorResource struct{ data *ProviderData }

type operatorModel struct {
	ID                 types.String      `tfsdk:"id"`
	WorkflowID         types.String      `tfsdk:"workflow_id"`
	Name               types.String      `tfsdk:"name"`
	Source             types.String      `tfsdk:"source"`
	Function           types.String      `tfsdk:"function"`
	Requirements       types.List        `tfsdk:"requirements"`
	PythonVersion      types.String      `tfsdk:"python_version"`
	BaseImage          types.String      `tfsdk:"base_image"`
	Memory             memorytype.Memory `tfsdk:"memory"`
	Timeout            types.Int64       `tfsdk:"timeout"`
	EphemeralStorage   types.Int64       `tfsdk:"ephemeral_storage"`
	Architecture       types.String      `tfsdk:"architecture"`
	Environment        types.Map         `tfsdk:"environment"`
	Inputs             types.List        `tfsdk:"inputs"`
	KeepImageOnDestroy types.Bool        `tfsdk:"keep_image_on_destroy"`
	FunctionName       types.String      `tfsdk:"function_name"`
	FunctionARN        types.String      `tfsdk:"function_arn"`
	ImageURI           types.String      `tfsdk:"image_uri"`
	SourceHash         types.String      `tfsdk:"source_hash"`
	RoleARN            types.String      `tfsdk:"role_arn"`
	LastModified       types.String      `tfsdk:"last_modified"`
	State              types.String      `tfsdk:"state"`
	Timeouts           timeouts.Value    `tfsdk:"timeouts"`
}

// privateBuiltImage is the private-state key of the image this resource
// pushed; a different image_uri read back from Lambda is drift.
const privateBuiltImage = "built_image_uri"

const defaultPythonVersion = "3.12"

func (r *operatorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_operator"
}

func (r *operatorResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One operator of a workflow: a Python function built into its own container image and deployed as its own Lambda function (package type Image).\n\n" +
			"`source_hash` is computed at plan time from the build context, so unchanged files give an empty plan, and a change to `memory`, `timeout`, `environment` or `ephemeral_storage` alone updates the function's configuration without a build. " +
			"An image already in the registry for the same `source_hash` is reused, not rebuilt.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Operator id, `<workflow id>/<name>`. Use it in another operator's `inputs`.",
				PlanModifiers:       keep,
			},
			"workflow_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The `id` of the `aqueduct_workflow` this operator belongs to. Changing it replaces the operator.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Operator name, unique within its workflow: " + nameHint + ", at most 64 characters. Changing it replaces the operator.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 64),
					stringvalidator.RegexMatches(namePattern, "must contain only "+nameHint),
				},
			},
			"source": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Directory holding the operator's Python code, relative to the working directory or absolute. A `.dockerignore` in it is honoured.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"function": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Entry point as `module:callable`, e.g. `train:main`. It is called with the upstream outputs positionally, in `inputs` order, and the run parameters it names as keyword arguments.",
				Validators:          []validator.String{validators.FunctionReference()},
			},
			"requirements": schema.ListAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "pip requirement lines installed into the image, e.g. `[\"scikit-learn==1.5.2\"]`. Leave empty on a base image that already has what the code needs.",
			},
			"python_version": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(defaultPythonVersion),
				MarkdownDescription: "Python version of the default base image: one of `3.9` to `3.13`. Defaults to `" + defaultPythonVersion + "`.",
				Validators:          []validator.String{stringvalidator.OneOf("3.9", "3.10", "3.11", "3.12", "3.13")},
			},
			"base_image": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Base image with a `python3`. Defaults to AWS's Lambda Python image, `public.ecr.aws/lambda/python:<python_version>`. Use `aqueduct-local/python:3.11` (built by `make base-image`) offline.",
				PlanModifiers:       keep,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"memory": schema.StringAttribute{
				CustomType:          memorytype.MemoryType{},
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("512"),
				PlanModifiers:       []planmodifier.String{memorytype.UseStateForSameSize()},
				MarkdownDescription: "Memory of the function: a whole number of MB (`1536`), or a string in MB or GB (`\"512MB\"`, `\"2GB\"`, `\"1.5GB\"`; 1 GB = 1024 MB). AWS Lambda allows 128 to 10240 MB; CPU grows with memory. `\"1GB\"`, `\"1024MB\"` and `1024` are the same value. Defaults to 512 MB.",
			},
			"timeout": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(300),
				MarkdownDescription: "Function timeout in seconds, 1 to 900. Defaults to 300.",
				Validators:          []validator.Int64{int64validator.Between(1, 900)},
			},
			"ephemeral_storage": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(512),
				MarkdownDescription: "Size of `/tmp` in MB, 512 to 10240. Defaults to 512.",
				Validators:          []validator.Int64{int64validator.Between(512, 10240)},
			},
			"architecture": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("x86_64"),
				MarkdownDescription: "Instruction set: `x86_64` or `arm64`. The image is built for that platform only. Defaults to `x86_64`.",
				Validators:          []validator.String{stringvalidator.OneOf("x86_64", "arm64")},
			},
			"environment": schema.MapAttribute{
				Optional:            true,
				Sensitive:           true,
				ElementType:         types.StringType,
				MarkdownDescription: "Environment variables of the function. Values are sensitive: never shown in plans or logs. Keys must not start with `AWS_` or `AQUEDUCT_`.",
				Validators:          []validator.Map{validators.ReservedTagKeys("AWS_"), validators.ReservedTagKeys("AQUEDUCT_")},
			},
			"inputs": schema.ListAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Ids of the upstream operators of the same workflow: the DAG's edges. Their outputs are passed to `function` in this order. An operator of another workflow, or a cycle, is an error at plan time.",
				Validators:          []validator.List{listvalidator.UniqueValues()},
			},
			"keep_image_on_destroy": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Keep the image in ECR when the operator is destroyed. By default it is deleted unless another operator uses it.",
			},
			"function_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Name of the Lambda function, derived from the engine, workflow and operator names; at most 64 characters.",
				PlanModifiers:       keep,
			},
			"function_arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ARN of the Lambda function.",
				PlanModifiers:       keep,
			},
			"image_uri": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The image the function runs, by digest: `<repository>@sha256:...`. Never a mutable tag.",
			},
			"source_hash": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`sha256:` hash of the build context (files with their paths and modes, `.dockerignore` honoured, the generated Dockerfile, requirements, Python version, base image and platform), computed at plan time.",
			},
			"role_arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Execution role of the function: the engine's `role_arn`.",
			},
			"last_modified": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When Lambda last changed the function, as AWS reports it.",
			},
			"state": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The function's state as Lambda reports it: `Active`, `Pending`, `Inactive` or `Failed`. " +
					"A function that went `Failed`, for example because its image left ECR, is planned for an update that pushes its image again.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *operatorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// spec is the build spec of a model.
func (m *operatorModel) spec(ctx context.Context, diags *diag.Diagnostics) build.Spec {
	var reqs []string
	if !m.Requirements.IsNull() && !m.Requirements.IsUnknown() {
		diags.Append(m.Requirements.ElementsAs(ctx, &reqs, false)...)
	}
	return build.Spec{
		SourceDir:     m.Source.ValueString(),
		Function:      m.Function.ValueString(),
		Requirements:  reqs,
		PythonVersion: m.PythonVersion.ValueString(),
		BaseImage:     m.BaseImage.ValueString(),
		Architecture:  m.Architecture.ValueString(),
	}
}

// ModifyPlan computes what is knowable at plan time: the id, the function
// name, the base image default and source_hash. A new source_hash, or an
// image changed outside Terraform, plans a new image_uri.
func (r *operatorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan operatorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *operatorModel
	if !req.State.Raw.IsNull() {
		state = &operatorModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}

	if !plan.WorkflowID.IsUnknown() && !plan.Name.IsUnknown() {
		id := plan.WorkflowID.ValueString() + "/" + plan.Name.ValueString()
		plan.ID = types.StringValue(id)
		engineID, wf, err := splitWorkflowID(plan.WorkflowID.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("workflow_id"), "Invalid workflow id", err.Error())
			return
		}
		plan.FunctionName = types.StringValue(functionName(engineID, wf, plan.Name.ValueString()))
		r.checkInputs(ctx, &plan, engineID, wf, &resp.Diagnostics)
	}
	if plan.BaseImage.IsUnknown() && !plan.PythonVersion.IsUnknown() {
		plan.BaseImage = types.StringValue(build.DefaultBaseImage(plan.PythonVersion.ValueString()))
	}

	knowable := !plan.Source.IsUnknown() && !plan.Function.IsUnknown() && !plan.Requirements.IsUnknown() &&
		!plan.PythonVersion.IsUnknown() && !plan.BaseImage.IsUnknown() && !plan.Architecture.IsUnknown()
	if knowable {
		spec := plan.spec(ctx, &resp.Diagnostics)
		hash, err := build.Hash(spec)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot hash the operator's source", err.Error())
			return
		}
		plan.SourceHash = types.StringValue(hash)
	} else {
		plan.SourceHash = types.StringUnknown()
	}

	if state == nil {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}

	// The image stays only when the context is the same and Lambda still
	// runs the image this resource pushed.
	built, _ := req.Private.GetKey(ctx, privateBuiltImage)
	drifted := len(built) > 0 && strings.Trim(string(built), `"`) != state.ImageURI.ValueString()
	drifted = drifted || state.State.ValueString() == "Failed"
	if !plan.SourceHash.IsUnknown() && plan.SourceHash.Equal(state.SourceHash) && !drifted {
		plan.ImageURI = state.ImageURI
	} else {
		plan.ImageURI = types.StringUnknown()
	}
	e, err := r.engineOf(ctx, plan.WorkflowID.ValueString())
	if err == nil && !plan.WorkflowID.IsUnknown() {
		plan.RoleARN = types.StringValue(e.RoleARN)
	} else {
		plan.RoleARN = state.RoleARN
	}

	changed := !plan.ImageURI.Equal(state.ImageURI) || !plan.RoleARN.Equal(state.RoleARN) ||
		!memEqual(ctx, plan.Memory, state.Memory) || !plan.Timeout.Equal(state.Timeout) ||
		!plan.EphemeralStorage.Equal(state.EphemeralStorage) || !plan.Environment.Equal(state.Environment) ||
		!plan.Architecture.Equal(state.Architecture)
	if changed {
		plan.LastModified = types.StringUnknown()
		plan.State = types.StringUnknown()
	} else {
		plan.LastModified = state.LastModified
		plan.State = state.State
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func memEqual(ctx context.Context, a, b memorytype.Memory) bool {
	eq, diags := a.StringSemanticEquals(ctx, b)
	return eq && !diags.HasError()
}

// checkInputs rejects inputs from another workflow and cycles. A cycle of
// references is Terraform's own error; this catches an operator listing
// itself, and cycles through operators that already exist, by walking their
// manifests.
func (r *operatorResource) checkInputs(ctx context.Context, plan *operatorModel, engineID, wf string, diags *diag.Diagnostics) {
	if plan.Inputs.IsNull() || plan.Inputs.IsUnknown() {
		return
	}
	var inputs []types.String
	diags.Append(plan.Inputs.ElementsAs(ctx, &inputs, false)...)
	self, wfID := plan.Name.ValueString(), plan.WorkflowID.ValueString()
	var names []string
	for i, in := range inputs {
		if in.IsUnknown() || in.IsNull() {
			continue
		}
		owner, name, err := splitWorkflowID(in.ValueString())
		if err != nil || owner != wfID {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Input from another workflow",
				fmt.Sprintf("input %q is not an operator of workflow %q: an operator takes inputs only from operators of its own workflow (ids \"%s/<operator>\").", in.ValueString(), wfID, wfID))
			continue
		}
		if name == self {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Cyclic inputs",
				fmt.Sprintf("operator %q lists itself as an input; the inputs of a workflow must form a DAG.", self))
			continue
		}
		names = append(names, name)
	}
	if diags.HasError() || len(names) == 0 {
		return
	}
	e, err := r.data.resolveEngine(ctx, engineID)
	if err != nil {
		return // the engine does not exist yet, so neither do operators that could close a cycle
	}
	store := r.data.store(e)
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
		if found, err := store.GetJSON(ctx, artifacts.OperatorKey(e.Prefix, wf, name), &m); err != nil || !found {
			return nil
		}
		for _, up := range m.Inputs {
			if c := walk(up, trail); c != nil {
				return c
			}
		}
		return nil
	}
	for _, n := range names {
		if c := walk(n, []string{self}); c != nil {
			diags.AddAttributeError(path.Root("inputs"), "Cyclic inputs",
				fmt.Sprintf("the inputs form a cycle: %s (each operator takes the next one's output); the inputs of a workflow must form a DAG.", strings.Join(c, " <- ")))
			return
		}
	}
}

func (r *operatorResource) engineOf(ctx context.Context, workflowID string) (*engine.Engine, error) {
	engineID, _, err := splitWorkflowID(workflowID)
	if err != nil {
		return nil, err
	}
	return r.data.resolveEngine(ctx, engineID)
}

// functionName derives the Lambda function name from the ids, so that it is
// known at plan time and the same on every machine.
func functionName(engineID, workflow, operator string) string {
	repo := engineID[strings.LastIndexAny(engineID, ":/")+1:]
	return lambdafn.FunctionName(repo+"-"+workflow, operator)
}

func (r *operatorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan operatorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 30*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	e, wf, store, inputNames := r.resolve(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	fns := lambdafn.New(r.data.AWS.ForRegion(e.Region).Lambda)
	name := plan.FunctionName.ValueString()
	alreadyExists := func() {
		resp.Diagnostics.AddError("Lambda function already exists",
			fmt.Sprintf("The function %q exists but is not in this Terraform state, for example after an interrupted apply. "+
				"Import it instead of creating a duplicate: terraform import <address of this aqueduct_operator> %s/%s",
				name, wf, plan.Name.ValueString()))
	}
	if _, err := fns.Get(ctx, name); err == nil {
		alreadyExists()
		return
	} else if !errors.Is(err, lambdafn.ErrNotFound) {
		resp.Diagnostics.AddError("Cannot check for an existing Lambda function", err.Error())
		return
	}

	image, err := r.ensureImage(ctx, e, plan.spec(ctx, &resp.Diagnostics), plan.SourceHash.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot build the operator image", err.Error())
		return
	}
	cfg := r.functionConfig(ctx, &plan, e, image, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	fn, err := fns.Create(ctx, cfg)
	if errors.Is(err, lambdafn.ErrAlreadyExists) {
		alreadyExists() // created by someone else since the check above
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot create the Lambda function", err.Error())
		return
	}
	// Recorded before the manifest is written: a failure after this point
	// leaves the function in state (tainted), never orphaned.
	r.setFromFunction(&plan, fn)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateBuiltImage, []byte(`"`+image+`"`))...)
	r.writeManifest(ctx, store, e, wf, &plan, inputNames, &resp.Diagnostics)
}

// resolve finds what Create and Update both act on: the engine, the
// workflow (whose manifest must exist), its store and the input names.
func (r *operatorResource) resolve(ctx context.Context, plan *operatorModel, diags *diag.Diagnostics) (*engine.Engine, string, *artifacts.Store, []string) {
	e, err := r.engineOf(ctx, plan.WorkflowID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("workflow_id"), "Cannot resolve the workflow's engine", err.Error())
		return nil, "", nil, nil
	}
	_, wf, _ := splitWorkflowID(plan.WorkflowID.ValueString())
	store := r.data.store(e)
	var wm artifacts.WorkflowManifest
	if found, err := store.GetJSON(ctx, artifacts.WorkflowKey(e.Prefix, wf), &wm); err != nil || !found {
		diags.AddAttributeError(path.Root("workflow_id"), "Workflow not found",
			fmt.Sprintf("workflow %q has no manifest in the artifact store (%v); create the aqueduct_workflow first and reference its id.", wf, err))
		return nil, "", nil, nil
	}
	return e, wf, store, r.inputNames(ctx, plan, store, e, wf, diags)
}

// inputNames checks that every input exists (so literal ids cannot close a
// cycle at apply) and returns their operator names in order.
func (r *operatorResource) inputNames(ctx context.Context, plan *operatorModel, store *artifacts.Store, e *engine.Engine, wf string, diags *diag.Diagnostics) []string {
	var ids []string
	if !plan.Inputs.IsNull() {
		diags.Append(plan.Inputs.ElementsAs(ctx, &ids, false)...)
	}
	names := make([]string, 0, len(ids))
	for i, id := range ids {
		_, name, err := splitWorkflowID(id)
		if err != nil {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Invalid input", err.Error())
			continue
		}
		var m artifacts.OperatorManifest
		found, err := store.GetJSON(ctx, artifacts.OperatorKey(e.Prefix, wf, name), &m)
		if err != nil {
			diags.AddError("Cannot read an input operator", err.Error())
			continue
		}
		if !found {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Input operator does not exist",
				fmt.Sprintf("operator %q does not exist in workflow %q. Reference it as aqueduct_operator.<name>.id so that Terraform creates it first.", name, wf))
			continue
		}
		names = append(names, name)
	}
	return names
}

func (r *operatorResource) functionConfig(ctx context.Context, m *operatorModel, e *engine.Engine, image string, diags *diag.Diagnostics) lambdafn.Config {
	mb, d := m.Memory.MB()
	diags.Append(d...)
	_, wf, _ := splitWorkflowID(m.WorkflowID.ValueString())
	return lambdafn.Config{
		Name:         m.FunctionName.ValueString(),
		ImageURI:     image,
		RoleARN:      e.RoleARN,
		Description:  fmt.Sprintf("aqueduct operator %s of workflow %s", m.Name.ValueString(), wf),
		MemoryMB:     int32(mb),
		TimeoutS:     int32(m.Timeout.ValueInt64()),
		EphemeralMB:  int32(m.EphemeralStorage.ValueInt64()),
		Architecture: m.Architecture.ValueString(),
		Environment:  stringMap(ctx, m.Environment, diags),
		Tags: map[string]string{
			"aqueduct:engine":   e.Name,
			"aqueduct:workflow": wf,
			"aqueduct:operator": m.Name.ValueString(),
		},
	}
}

// setFromFunction copies what Lambda reports into the model.
func (r *operatorResource) setFromFunction(m *operatorModel, fn *lambdafn.Function) {
	m.FunctionName = types.StringValue(fn.Name)
	m.FunctionARN = types.StringValue(fn.ARN)
	m.ImageURI = types.StringValue(fn.ImageURI)
	m.RoleARN = types.StringValue(fn.RoleARN)
	m.LastModified = types.StringValue(fn.LastModified)
	m.State = types.StringValue(fn.State)
}

func (r *operatorResource) writeManifest(ctx context.Context, store *artifacts.Store, e *engine.Engine, wf string, m *operatorModel, inputs []string, diags *diag.Diagnostics) {
	mb, _ := m.Memory.MB()
	spec := m.spec(ctx, diags)
	manifest := artifacts.OperatorManifest{
		Name:          m.Name.ValueString(),
		Workflow:      wf,
		FunctionName:  m.FunctionName.ValueString(),
		FunctionARN:   m.FunctionARN.ValueString(),
		ImageURI:      m.ImageURI.ValueString(),
		SourceHash:    m.SourceHash.ValueString(),
		Function:      m.Function.ValueString(),
		Inputs:        inputs,
		MemoryMB:      mb,
		Memory:        m.Memory.ValueString(),
		TimeoutS:      m.Timeout.ValueInt64(),
		Source:        m.Source.ValueString(),
		Requirements:  spec.Requirements,
		PythonVersion: m.PythonVersion.ValueString(),
		BaseImage:     m.BaseImage.ValueString(),
		Architecture:  m.Architecture.ValueString(),
		KeepImage:     m.KeepImageOnDestroy.ValueBool(),
	}
	if err := store.PutJSON(ctx, artifacts.OperatorKey(e.Prefix, wf, manifest.Name), manifest); err != nil {
		diags.AddError("Cannot write the operator manifest", err.Error())
	}
}

// ensureImage returns "<repository>@sha256:..." for the spec: the image in
// the registry tagged with the source hash, or a fresh build pushed there.
func (r *operatorResource) ensureImage(ctx context.Context, e *engine.Engine, spec build.Spec, sourceHash string) (string, error) {
	tag, err := build.ImageTag(sourceHash)
	if err != nil {
		return "", err
	}
	auth, err := registry.ECRAuth(ctx, r.data.AWS.ForRegion(e.Region).ECR, e.RegistryID)
	if err != nil {
		return "", err
	}
	ref := e.RepositoryURL + ":" + tag
	digest, found, err := registry.Lookup(ctx, ref, auth)
	if err != nil {
		return "", err
	}
	if found {
		tflog.Info(ctx, "image for this source hash is already in the registry; not rebuilding", map[string]any{"image": ref, "digest": digest})
		return registry.DigestRef(e.RepositoryURL, digest), nil
	}
	docker, err := r.data.Docker()
	if err != nil {
		return "", fmt.Errorf("a Docker engine is needed to build %s: %w; start Docker or set docker_host / DOCKER_HOST", spec.SourceDir, err)
	}
	logf := func(line string) { tflog.Debug(ctx, "docker build: "+line) }
	id, err := build.Build(ctx, docker, spec, []string{ref}, logf)
	if err != nil {
		return "", err
	}
	digest, err = registry.Push(ctx, docker, id, ref, auth, func(line string) { tflog.Debug(ctx, "docker push: "+line) })
	if err != nil {
		return "", err
	}
	return registry.DigestRef(e.RepositoryURL, digest), nil
}

func (r *operatorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state operatorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	wfID, opName, err := splitWorkflowID(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid operator id", err.Error())
		return
	}
	engineID, wf, err := splitWorkflowID(wfID)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid operator id", err.Error())
		return
	}
	e, err := r.data.resolveEngine(ctx, engineID)
	if errors.Is(err, engine.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the operator's engine", err.Error())
		return
	}
	fnName := functionName(engineID, wf, opName)
	fn, err := lambdafn.New(r.data.AWS.ForRegion(e.Region).Lambda).Get(ctx, fnName)
	if errors.Is(err, lambdafn.ErrNotFound) {
		resp.Diagnostics.AddWarning("Lambda function is gone",
			fmt.Sprintf("The function %q of operator %q was deleted outside Terraform; the next apply creates it again.", fnName, opName))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Lambda function", err.Error())
		return
	}

	// Configuration that only the manifest holds: needed on import.
	var m artifacts.OperatorManifest
	found, err := r.data.store(e).GetJSON(ctx, artifacts.OperatorKey(e.Prefix, wf, opName), &m)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the operator manifest", err.Error())
		return
	}
	if found {
		state.Source = types.StringValue(m.Source)
		state.Function = types.StringValue(m.Function)
		state.PythonVersion = types.StringValue(m.PythonVersion)
		state.BaseImage = types.StringValue(m.BaseImage)
		state.SourceHash = types.StringValue(m.SourceHash)
		state.KeepImageOnDestroy = types.BoolValue(m.KeepImage)
		if len(m.Requirements) > 0 || !state.Requirements.IsNull() {
			// Non-nil: a nil slice is a null list, a diff from `requirements = []` forever.
			reqs, d := types.ListValueFrom(ctx, types.StringType, append([]string{}, m.Requirements...))
			resp.Diagnostics.Append(d...)
			state.Requirements = reqs
		}
		if len(m.Inputs) > 0 || !state.Inputs.IsNull() {
			ids := make([]string, len(m.Inputs))
			for i, n := range m.Inputs {
				ids[i] = wfID + "/" + n
			}
			inputs, d := types.ListValueFrom(ctx, types.StringType, ids)
			resp.Diagnostics.Append(d...)
			state.Inputs = inputs
		}
	}

	state.WorkflowID = types.StringValue(wfID)
	state.Name = types.StringValue(opName)
	r.setFromFunction(&state, fn)
	if state.Memory.IsNull() && found {
		state.Memory = memorytype.NewMemoryValue(m.Memory) // import: the spelling the config used
	}
	if mb, _ := state.Memory.MB(); state.Memory.IsNull() || mb != int64(fn.MemoryMB) {
		state.Memory = memorytype.NewMemoryMB(int64(fn.MemoryMB))
	}
	state.Timeout = types.Int64Value(int64(fn.TimeoutS))
	state.EphemeralStorage = types.Int64Value(int64(fn.EphemeralMB))
	state.Architecture = types.StringValue(fn.Architecture)
	if len(fn.Environment) > 0 || !state.Environment.IsNull() {
		vars := map[string]string{} // non-nil: a nil map is a null map, a diff from `environment = {}` forever
		for k, v := range fn.Environment {
			vars[k] = v
		}
		env, d := types.MapValueFrom(ctx, types.StringType, vars)
		resp.Diagnostics.Append(d...)
		state.Environment = env
	}
	if state.Timeouts.Object.IsNull() {
		state.Timeouts = timeouts.Value{Object: types.ObjectNull(state.Timeouts.Object.AttributeTypes(ctx))}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *operatorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state operatorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 30*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	e, wf, store, inputNames := r.resolve(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	fns := lambdafn.New(r.data.AWS.ForRegion(e.Region).Lambda)

	var err error
	image := state.ImageURI.ValueString()
	if plan.ImageURI.IsUnknown() {
		image, err = r.ensureImage(ctx, e, plan.spec(ctx, &resp.Diagnostics), plan.SourceHash.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot build the operator image", err.Error())
			return
		}
	}
	cfg := r.functionConfig(ctx, &plan, e, image, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var fn *lambdafn.Function
	// A planned image is pushed to the function even when the digest is the
	// one in state: a Failed function (its image left ECR) needs it again.
	if plan.ImageURI.IsUnknown() || !plan.Architecture.Equal(state.Architecture) {
		if fn, err = fns.UpdateCode(ctx, cfg.Name, image, cfg.Architecture); err != nil {
			resp.Diagnostics.AddError("Cannot update the function's image", err.Error())
			return
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateBuiltImage, []byte(`"`+image+`"`))...)
	}
	if !memEqual(ctx, plan.Memory, state.Memory) || !plan.Timeout.Equal(state.Timeout) || !plan.EphemeralStorage.Equal(state.EphemeralStorage) ||
		!plan.Environment.Equal(state.Environment) || state.RoleARN.ValueString() != e.RoleARN {
		if fn, err = fns.UpdateConfig(ctx, cfg); err != nil {
			resp.Diagnostics.AddError("Cannot update the function's configuration", err.Error())
			return
		}
	}
	if fn == nil {
		if fn, err = fns.Get(ctx, cfg.Name); err != nil {
			resp.Diagnostics.AddError("Cannot read the Lambda function", err.Error())
			return
		}
	}
	r.setFromFunction(&plan, fn)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	r.writeManifest(ctx, store, e, wf, &plan, inputNames, &resp.Diagnostics)
}

func (r *operatorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state operatorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, 20*time.Minute)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	e, err := r.engineOf(ctx, state.WorkflowID.ValueString())
	if errors.Is(err, engine.ErrNotFound) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the operator's engine", err.Error())
		return
	}
	_, wf, _ := splitWorkflowID(state.WorkflowID.ValueString())
	if err := lambdafn.New(r.data.AWS.ForRegion(e.Region).Lambda).Delete(ctx, state.FunctionName.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the Lambda function", err.Error())
		return
	}
	store := r.data.store(e)
	if err := store.Delete(ctx, artifacts.OperatorKey(e.Prefix, wf, state.Name.ValueString())); err != nil {
		resp.Diagnostics.AddError("Cannot delete the operator manifest", err.Error())
		return
	}
	if !state.KeepImageOnDestroy.ValueBool() {
		if err := r.deleteImageIfUnused(ctx, store, e, state.ImageURI.ValueString()); err != nil {
			resp.Diagnostics.AddWarning("Operator image kept", fmt.Sprintf("The function is deleted, but its image %s could not be: %s", state.ImageURI.ValueString(), err))
		}
	}
}

// deleteImageIfUnused deletes the image unless another operator of the
// engine still runs it: identical sources share one image.
func (r *operatorResource) deleteImageIfUnused(ctx context.Context, store *artifacts.Store, e *engine.Engine, image string) error {
	_, digest, ok := strings.Cut(image, "@")
	if !ok {
		return nil
	}
	keys, err := store.List(ctx, artifacts.WorkflowsPrefix(e.Prefix))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, ".json") || !strings.Contains(k, "/operators/") {
			continue
		}
		var m artifacts.OperatorManifest
		if found, err := store.GetJSON(ctx, k, &m); err == nil && found && m.ImageURI == image {
			return nil
		}
	}
	out, err := r.data.AWS.ForRegion(e.Region).ECR.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{
		RepositoryName: aws.String(e.Repository),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}},
	})
	if err != nil {
		return err
	}
	for _, f := range out.Failures {
		if f.FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
			return fmt.Errorf("%s: %s", f.FailureCode, aws.ToString(f.FailureReason))
		}
	}
	return nil
}

// ImportState takes "<workflow>/<operator>", or a full operator id.
func (r *operatorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	wfPart, op, err := splitWorkflowID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", `use "<workflow>/<operator>" or "<region>:<ecr repository>/<workflow>/<operator>"`)
		return
	}
	wfID := wfPart
	if !strings.Contains(wfPart, "/") {
		if wfID, err = r.data.findWorkflow(ctx, wfPart); err != nil {
			resp.Diagnostics.AddError("Cannot import the operator", err.Error())
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), wfID+"/"+op)...)
}
