package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/artifacts"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/build"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/engine"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/ids"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/lambdafn"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/memorytype"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/modifiers/tagsall"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/naming"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/plannedsource"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/run"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
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
	Artifact           types.String      `tfsdk:"artifact"`
	Retry              types.Object      `tfsdk:"retry"`
	KeepImageOnDestroy types.Bool        `tfsdk:"keep_image_on_destroy"`
	FunctionName       types.String      `tfsdk:"function_name"`
	FunctionARN        types.String      `tfsdk:"function_arn"`
	ImageURI           types.String      `tfsdk:"image_uri"`
	SourceHash         types.String      `tfsdk:"source_hash"`
	RoleARN            types.String      `tfsdk:"role_arn"`
	LastModified       types.String      `tfsdk:"last_modified"`
	State              types.String      `tfsdk:"state"`
	Tags               types.Map         `tfsdk:"tags"`
	TagsAll            types.Map         `tfsdk:"tags_all"`
	Timeouts           timeouts.Value    `tfsdk:"timeouts"`
	lambdaSettingsModel
	operatorBuildInputs
}

// Private state keys.
const (
	// privateBuiltImage is the image this resource pushed; a different
	// image_uri read back from Lambda is drift.
	privateBuiltImage = "built_image_uri"
	// privateStore is where the operator's manifest lives, so that destroy
	// can remove it even after the engine that said so is gone.
	privateStore = "artifact_store"
)

// storeLocation is the value of privateStore.
type storeLocation struct {
	Region string `json:"region"`
	Bucket string `json:"bucket"`
	Root   string `json:"root"`
}

const defaultPythonVersion = "3.12"

func (r *operatorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_operator"
}

func (r *operatorResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	tagsAttr, tagsAllAttr := tagsall.Attributes("the Lambda function")
	resp.Schema = schema.Schema{
		MarkdownDescription: "One operator of a workflow: a Python function built into its own container image and deployed as its own Lambda function (package type Image).\n\n" +
			"`source_hash` is computed at plan time from the build context, so unchanged files give an empty plan, and a change to `memory`, `timeout`, `environment` or `ephemeral_storage` alone updates the function's configuration without a build. " +
			"An image already in the registry for the same `source_hash` is reused, not rebuilt. An image that a change replaces is deleted once no operator of the engine refers to it.\n\n" +
			"A function left behind by an interrupted apply carries this operator's ownership tag and is adopted by the next apply; a function of the same name that belongs to anything else is refused, naming its owner.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Operator id, `<workflow id>/<name>`, for `terraform import`. Other operators and runs take its `artifact` instead.",
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
				Required: true,
				MarkdownDescription: "Directory holding the operator's Python code, relative to the working directory or absolute. A `.dockerignore` in it is honoured. " +
					"Symbolic links to files or directories outside it (shared code in a monorepo) are followed and their content is part of the image and of `source_hash`.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
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
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(defaultPythonVersion),
				MarkdownDescription: "Python version of the default base image: one of " + validators.PythonVersionList() + ", the versions AWS Lambda publishes base images for. " +
					"Deprecated ones (3.9, 3.10, 3.11) plan with a warning giving AWS's deprecation date; others fail at plan time. Defaults to `" + defaultPythonVersion + "`.",
				Validators: []validator.String{validators.PythonVersion()},
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
				MarkdownDescription: "Function timeout in seconds, 1 to 900. Defaults to 300. Presigned URLs of a run live this long plus 5 minutes.",
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
				Optional:    true,
				Sensitive:   true,
				ElementType: types.StringType,
				MarkdownDescription: "Environment variables of the function. Values are sensitive: never shown in plans or logs; runs and manifests see only a keyed hash of them, which still makes a changed value a new run. " +
					"Names are two or more letters, digits and underscores starting with a letter; Lambda's reserved names (`_HANDLER`, `LAMBDA_TASK_ROOT`, ...) and names starting with `AWS_` or `AQUEDUCT_` are refused at plan time, as is an environment over Lambda's 4 KB.",
				Validators: []validator.Map{validators.LambdaEnvironment("AWS_", "AQUEDUCT_")},
			},
			"inputs": schema.ListAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The `artifact` handles of the upstream operators, of the same workflow: the DAG's edges, e.g. `[aqueduct_operator.load.artifact]`. " +
					"Their outputs are passed to `function` in this order. A change upstream makes the handles unknown in the plan, so this operator is planned for an update that records the new lineage and rebuilds nothing. " +
					"An operator id instead of a handle, an operator of another workflow, or a cycle is an error at plan time.",
				Validators: []validator.List{listvalidator.UniqueValues()},
			},
			"artifact": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The operator's artifact handle, `<operator id>@sha256:<lineage>`: what its output is made of. The lineage covers the image digest, the entry point, the architecture, " +
					"a keyed hash of the environment, and the handles of its inputs, so it is a Merkle hash of everything upstream. It is unknown in a plan whenever the operator or anything upstream changes, " +
					"and known otherwise. Give it to downstream operators' `inputs` and to `data.aqueduct_invocation.artifacts`; then nothing needs `depends_on`. " +
					"Memory, timeout, `/tmp` size and the role are not part of it: they decide whether the operator finishes, not what it returns.",
			},
			"retry": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Retries of the operator's own failures: an exception, a timeout, running out of memory, or Lambda failing the invocation. " +
					"Runs in terraform and on Step Functions retry alike (these are the Step Functions Retrier's fields). " +
					"What a retry cannot cure is never retried: an operator changed since the run was planned, or an output that cannot be serialised. " +
					"Descendants wait for the retries and are skipped only when the operator fails for good. Changing it updates the operator in place; it is not part of the `artifact` handle.",
				Attributes: map[string]schema.Attribute{
					"attempts": schema.Int64Attribute{
						Required:            true,
						MarkdownDescription: "Retries after the first failure, 1 to 10.",
						Validators:          []validator.Int64{int64validator.Between(1, 10)},
					},
					"interval_seconds": schema.Int64Attribute{
						Optional:            true,
						Computed:            true,
						Default:             int64default.StaticInt64(1),
						MarkdownDescription: "Seconds before the first retry, 1 to 3600. Defaults to 1.",
						Validators:          []validator.Int64{int64validator.Between(1, 3600)},
					},
					"backoff_rate": schema.Float64Attribute{
						Optional:            true,
						Computed:            true,
						Default:             float64default.StaticFloat64(2),
						MarkdownDescription: "Each wait is this many times the one before, 1.0 to 10.0. Defaults to 2.",
						Validators:          []validator.Float64{float64validator.Between(1, 10)},
					},
					"max_delay_seconds": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: "Cap on any one wait, 1 to 86400 seconds. Unset: no cap.",
						Validators:          []validator.Int64{int64validator.Between(1, 86400)},
					},
				},
			},
			"keep_image_on_destroy": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Keep the image in ECR when the operator is destroyed. By default it is deleted unless another operator uses it.",
			},
			"function_name": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Name of the Lambda function: `<workflow>-<operator>-<hash>`, at most 64 characters. The hash covers the engine, workflow and operator, " +
					"so two operators never share a function whatever their names.",
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
			"tags":     tagsAttr,
			"tags_all": tagsAllAttr,
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	maps.Copy(resp.Schema.Attributes, lambdaSettingsAttributes())
	for name, a := range buildInputAttributes() {
		resp.Schema.Attributes[name] = a
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
		SourceDir:        m.Source.ValueString(),
		Function:         m.Function.ValueString(),
		Requirements:     reqs,
		RequirementsFile: m.RequirementsFile.ValueString(),
		Secrets:          m.buildSecrets(ctx, diags),
		SecretsVersion:   m.BuildSecretsVersion.ValueString(),
		PythonVersion:    m.PythonVersion.ValueString(),
		BaseImage:        m.BaseImage.ValueString(),
		Architecture:     m.Architecture.ValueString(),
	}
}

// changes says what an update has to do to the function.
type changes struct {
	code   bool // UpdateFunctionCode: a new image or architecture
	config bool // UpdateFunctionConfiguration
	tags   bool // TagResource / UntagResource only
}

func (c changes) any() bool { return c.code || c.config }

// diff is the one place that decides what changed between state and plan:
// ModifyPlan uses it to say what becomes unknown, Update to decide the calls.
func diff(ctx context.Context, plan, state *operatorModel) changes {
	memEqual, d := plan.Memory.StringSemanticEquals(ctx, state.Memory)
	return changes{
		code: plan.ImageURI.IsUnknown() || !plan.ImageURI.Equal(state.ImageURI) || !plan.Architecture.Equal(state.Architecture),
		config: !memEqual || d.HasError() || !plan.Timeout.Equal(state.Timeout) || !plan.EphemeralStorage.Equal(state.EphemeralStorage) ||
			!plan.Environment.Equal(state.Environment) || !plan.RoleARN.Equal(state.RoleARN) || plan.changed(&state.lambdaSettingsModel),
		tags: !plan.TagsAll.Equal(state.TagsAll),
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
	plan.TagsAll = tagsall.Plan(ctx, r.data.Tags, plan.Tags, len(naming.FunctionTags("", ids.Operator{})), &resp.Diagnostics)

	var op ids.Operator
	if !plan.WorkflowID.IsUnknown() && !plan.Name.IsUnknown() {
		wf, err := ids.ParseWorkflow(plan.WorkflowID.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("workflow_id"), "Invalid workflow id", err.Error())
			return
		}
		op = wf.Operator(plan.Name.ValueString())
		plan.ID = types.StringValue(op.String())
		plan.FunctionName = types.StringValue(naming.FunctionName(op))
		r.checkInputs(ctx, &plan, op, &resp.Diagnostics)
	} else {
		plan.FunctionName = types.StringUnknown()
	}
	plan.planLogGroup(plan.FunctionName)
	if plan.BaseImage.IsUnknown() && !plan.PythonVersion.IsUnknown() {
		plan.BaseImage = types.StringValue(build.DefaultBaseImage(plan.PythonVersion.ValueString()))
	}

	knowable := !plan.Source.IsUnknown() && !plan.Function.IsUnknown() && !plan.Requirements.IsUnknown() &&
		!plan.PythonVersion.IsUnknown() && !plan.BaseImage.IsUnknown() && !plan.Architecture.IsUnknown() &&
		!plan.RequirementsFile.IsUnknown() && !plan.BuildSecrets.IsUnknown() && !plan.BuildSecretsVersion.IsUnknown()
	if knowable {
		if plan.checkBuildInputs(&resp.Diagnostics); resp.Diagnostics.HasError() {
			return
		}
	}
	if knowable {
		hash, err := build.Hash(plan.spec(ctx, &resp.Diagnostics))
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot hash the operator's source", err.Error())
			return
		}
		if op.Name != "" {
			// The apply-time re-plan plans what the plan saw; the apply then
			// tells the user if the files have changed since.
			hash = plannedsource.Planned(op.String(), priorHash(state), hash)
		}
		plan.SourceHash = types.StringValue(hash)
	} else {
		plan.SourceHash = types.StringUnknown()
	}

	if state == nil {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	// A function named by an earlier version's scheme moves to its new name.
	if !plan.FunctionName.IsUnknown() && !state.FunctionName.Equal(plan.FunctionName) {
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("function_name"))
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
	plan.RoleARN = state.RoleARN
	if wf, err := ids.ParseWorkflow(plan.WorkflowID.ValueString()); err == nil && !plan.WorkflowID.IsUnknown() {
		if e, err := r.data.resolveEngine(ctx, wf.Engine); err == nil {
			plan.RoleARN = types.StringValue(e.RoleARN)
		}
	}

	if diff(ctx, &plan, state).any() {
		plan.LastModified = types.StringUnknown()
		plan.State = types.StringUnknown()
	} else {
		plan.LastModified = state.LastModified
		plan.State = state.State
	}
	if lineageMayChange(&plan, state) {
		plan.Artifact = types.StringUnknown()
	} else {
		plan.Artifact = state.Artifact
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// lineageMayChange says whether anything that goes into the operator's
// lineage (artifacts.LineageOf) may differ after the apply: then its handle
// is unknown in the plan, and so is everything downstream of it.
func lineageMayChange(plan, state *operatorModel) bool {
	return state.Artifact.ValueString() == "" || plan.ImageURI.IsUnknown() || !plan.ImageURI.Equal(state.ImageURI) ||
		!plan.Architecture.Equal(state.Architecture) || !plan.Function.Equal(state.Function) ||
		!plan.Environment.Equal(state.Environment) || !plan.Inputs.Equal(state.Inputs)
}

func priorHash(state *operatorModel) string {
	if state == nil {
		return ""
	}
	return state.SourceHash.ValueString()
}

// sourceUnchanged reports whether the files still hash to what was planned.
// When they do not, and the plan builds an image, the apply stops: it would
// build something nobody saw in a plan.
func sourceUnchanged(ctx context.Context, plan *operatorModel, op ids.Operator, prior string, building bool, diags *diag.Diagnostics) bool {
	defer plannedsource.Forget(op.String(), prior)
	now, err := build.Hash(plan.spec(ctx, diags))
	if err != nil {
		diags.AddAttributeError(path.Root("source"), "Cannot hash the operator's source", err.Error())
		return false
	}
	if now == plan.SourceHash.ValueString() {
		return true
	}
	msg := fmt.Sprintf("The source of operator %q (%s) changed after the plan: the plan was made for %s, the files now hash to %s.",
		op.Name, plan.Source.ValueString(), plan.SourceHash.ValueString(), now)
	if building {
		diags.AddAttributeError(path.Root("source"), "Operator source changed after the plan",
			msg+" Nothing was built. Run terraform plan (or terraform apply) again, so that the plan shows what will be built.")
		return false
	}
	diags.AddAttributeWarning(path.Root("source"), "Operator source changed after the plan",
		msg+" This apply did not plan a new image, so none is built now; the next plan shows the change.")
	return true
}

// checkInputs rejects inputs from another workflow and cycles. A cycle of
// references is Terraform's own error; this catches an operator listing
// itself, and cycles through operators that already exist.
func (r *operatorResource) checkInputs(ctx context.Context, plan *operatorModel, op ids.Operator, diags *diag.Diagnostics) {
	if plan.Inputs.IsNull() || plan.Inputs.IsUnknown() {
		return
	}
	var inputs []types.String
	diags.Append(plan.Inputs.ElementsAs(ctx, &inputs, false)...)
	var names []string
	for i, in := range inputs {
		if in.IsUnknown() || in.IsNull() {
			continue
		}
		at := path.Root("inputs").AtListIndex(i)
		a, err := ids.ParseArtifact(in.ValueString())
		if err != nil {
			if up, idErr := ids.ParseOperator(in.ValueString()); idErr == nil {
				diags.AddAttributeError(at, "Input is an operator id, not an artifact handle",
					fmt.Sprintf("input %q is the id of operator %q. Inputs take artifact handles, so that a change upstream reaches this operator: "+
						"write aqueduct_operator.%s.artifact instead of aqueduct_operator.%s.id.", in.ValueString(), up.Name, up.Name, up.Name))
				continue
			}
			diags.AddAttributeError(at, "Invalid input", err.Error()+"; write aqueduct_operator.<name>.artifact")
			continue
		}
		if a.Operator.Workflow != op.Workflow {
			diags.AddAttributeError(at, "Input from another workflow",
				fmt.Sprintf("input %q is an operator of workflow %q, not of %q: an operator takes inputs only from operators of its own workflow.", in.ValueString(), a.Operator.Workflow, op.Workflow))
			continue
		}
		if a.Operator.Name == op.Name {
			diags.AddAttributeError(at, "Cyclic inputs",
				fmt.Sprintf("operator %q lists itself as an input; the inputs of a workflow must form a DAG.", op.Name))
			continue
		}
		names = append(names, a.Operator.Name)
	}
	if diags.HasError() || len(names) == 0 {
		return
	}
	e, err := r.data.resolveEngine(ctx, op.Workflow.Engine)
	if err != nil {
		return // the engine does not exist yet, so neither do operators that could close a cycle
	}
	if c := run.CycleThrough(ctx, r.data.planReader(e), op.Workflow.Name, op.Name, names); c != nil {
		diags.AddAttributeError(path.Root("inputs"), "Cyclic inputs",
			fmt.Sprintf("the inputs form a cycle: %s (each operator takes the next one's output); the inputs of a workflow must form a DAG.", strings.Join(c, " <- ")))
	}
}

// target is what Create and Update act on: the operator, its engine and
// store (the workflow's manifest must exist) and its inputs' names.
type target struct {
	op     ids.Operator
	engine *engine.Engine
	store  *artifacts.Store
	inputs []ids.Artifact
}

func (r *operatorResource) resolve(ctx context.Context, plan *operatorModel, diags *diag.Diagnostics) *target {
	wf, err := ids.ParseWorkflow(plan.WorkflowID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("workflow_id"), "Invalid workflow id", err.Error())
		return nil
	}
	e, err := r.data.resolveEngine(ctx, wf.Engine)
	if err != nil {
		diags.AddAttributeError(path.Root("workflow_id"), "Cannot resolve the workflow's engine", err.Error())
		return nil
	}
	t := &target{op: wf.Operator(plan.Name.ValueString()), engine: e, store: r.data.store(e)}
	var wm artifacts.WorkflowManifest
	if found, err := t.store.GetJSON(ctx, artifacts.WorkflowKey(t.store.Prefix(), wf.Name), &wm); err != nil || !found {
		diags.AddAttributeError(path.Root("workflow_id"), "Workflow not found",
			fmt.Sprintf("workflow %q has no manifest in the artifact store (%v); create the aqueduct_workflow first and reference its id.", wf.Name, err))
		return nil
	}
	var handles []string
	if !plan.Inputs.IsNull() {
		diags.Append(plan.Inputs.ElementsAs(ctx, &handles, false)...)
	}
	for i, h := range handles {
		a, err := ids.ParseArtifact(h)
		if err != nil {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Invalid input", err.Error()+"; write aqueduct_operator.<name>.artifact")
			continue
		}
		var m artifacts.OperatorManifest
		found, err := t.store.GetJSON(ctx, artifacts.OperatorKey(t.store.Prefix(), wf.Name, a.Operator.Name), &m)
		if err != nil {
			diags.AddError("Cannot read an input operator", err.Error())
			continue
		}
		if !found {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Input operator does not exist",
				fmt.Sprintf("operator %q does not exist in workflow %q. Reference its handle as aqueduct_operator.<name>.artifact so that Terraform creates it first.", a.Operator.Name, wf.Name))
			continue
		}
		if m.Lineage != a.Lineage {
			diags.AddAttributeError(path.Root("inputs").AtListIndex(i), "Input artifact handle is stale",
				fmt.Sprintf("input %q names lineage %s, but operator %q is now %s: it changed after this plan was made. Plan and apply again.", h, a.Lineage, a.Operator.Name, m.Lineage))
			continue
		}
		t.inputs = append(t.inputs, a)
	}
	if diags.HasError() {
		return nil
	}
	return t
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

	t := r.resolve(ctx, &plan, &resp.Diagnostics)
	if t == nil {
		return
	}
	fns := r.data.lambda(t.engine.Region)
	name := plan.FunctionName.ValueString()

	// A function of this name is adopted only when its tags say it is this
	// operator's: an earlier apply made it and was interrupted.
	existing, err := fns.Get(ctx, name)
	switch {
	case err == nil:
		if err := ownership(existing, t.op); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Lambda function belongs to something else", err.Error())
			return
		}
		resp.Diagnostics.AddWarning("Adopted a function left by an interrupted apply",
			fmt.Sprintf("The function %q of operator %q existed, tagged as this operator's, but was not in the Terraform state: an earlier apply made it and did not finish. It is brought in line with the configuration.", name, t.op))
	case errors.Is(err, lambdafn.ErrNotFound):
		existing = nil
	default:
		resp.Diagnostics.AddError("Cannot check for an existing Lambda function", err.Error())
		return
	}

	if !sourceUnchanged(ctx, &plan, t.op, "", true, &resp.Diagnostics) {
		return
	}
	image, release, err := r.data.images(ctx, t.engine).Ensure(ctx, t.engine, plan.spec(ctx, &resp.Diagnostics), plan.SourceHash.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot build the operator image", err.Error())
		return
	}
	defer release()
	var replaces string
	if existing != nil && existing.ImageURI != image {
		replaces = existing.ImageURI
	}
	// The manifest comes first: it names the function before it exists, so
	// nothing the provider makes goes unrecorded, and it holds the image.
	plan.ImageURI = types.StringValue(image)
	r.writeManifest(ctx, t, &plan, replaces, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	release()

	cfg := r.functionConfig(ctx, &plan, t, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.RoleARN = types.StringValue(t.engine.RoleARN)
	// The log group first, so the function's first lines keep its retention.
	if r.ensureLogGroup(ctx, t.engine.Region, t.op, &plan, cfg.Tags, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	var fn *lambdafn.Function
	if existing != nil {
		fn, err = r.converge(ctx, fns, existing, cfg)
	} else {
		fn, err = fns.Create(ctx, cfg)
	}
	if err != nil {
		if fn != nil {
			// The function exists: record it (Terraform taints it) rather
			// than leave it out of state.
			r.setFromFunction(&plan, fn)
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			r.setPrivate(ctx, resp.Private, t, image, &resp.Diagnostics)
		}
		resp.Diagnostics.AddError("Cannot create the Lambda function", err.Error())
		return
	}
	r.setFromFunction(&plan, fn)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	r.setPrivate(ctx, resp.Private, t, image, &resp.Diagnostics)
	r.writeManifest(ctx, t, &plan, "", &resp.Diagnostics)
	if replaces != "" {
		r.deleteImageIfUnused(ctx, t, replaces, &resp.Diagnostics)
	}
}

// converge brings an adopted function to cfg.
func (r *operatorResource) converge(ctx context.Context, fns *lambdafn.Client, fn *lambdafn.Function, cfg lambdafn.Config) (*lambdafn.Function, error) {
	if fn.ImageURI != cfg.ImageURI || fn.Architecture != cfg.Architecture || fn.State == "Failed" {
		if _, err := fns.UpdateCode(ctx, cfg.Name, cfg.ImageURI, cfg.Architecture); err != nil {
			return nil, err
		}
	}
	return fns.UpdateConfig(ctx, cfg)
}

// ownership is nil when fn's tags say it is op's function, and otherwise
// names whose it is.
func ownership(fn *lambdafn.Function, op ids.Operator) error {
	owner := fn.Tags[naming.TagOwner]
	if owner == naming.Owner(op) {
		return nil
	}
	if owner != "" || fn.Tags[naming.TagEngine] != "" {
		return fmt.Errorf("the Lambda function %q belongs to operator %q of workflow %q on engine %q, not to %q. "+
			"Two operators never derive the same name, so this one was made by something else under this name; delete or rename it",
			fn.Name, fn.Tags[naming.TagOperator], fn.Tags[naming.TagWorkflow], fn.Tags[naming.TagEngine], op)
	}
	return fmt.Errorf("the Lambda function %q exists and was not made by this provider (it has no %s tag), so it is not adopted; delete or rename it", fn.Name, naming.TagOwner)
}

func (r *operatorResource) functionConfig(ctx context.Context, m *operatorModel, t *target, diags *diag.Diagnostics) lambdafn.Config {
	mb, d := m.Memory.MB()
	diags.Append(d...)
	return lambdafn.Config{
		Name:         m.FunctionName.ValueString(),
		ImageURI:     m.ImageURI.ValueString(),
		RoleARN:      t.engine.RoleARN,
		Description:  fmt.Sprintf("aqueduct operator %s of workflow %s", t.op.Name, t.op.Workflow.Name),
		MemoryMB:     int32(mb),
		TimeoutS:     int32(m.Timeout.ValueInt64()),
		EphemeralMB:  int32(m.EphemeralStorage.ValueInt64()),
		Architecture: m.Architecture.ValueString(),
		Environment:  stringMap(ctx, m.Environment, diags),
		// The whole map also tags the function's other objects (its log group).
		Tags:     tags.With(naming.FunctionTags(t.engine.Name, t.op), tagsall.Values(ctx, m.TagsAll, diags)),
		KeepTag:  r.data.Tags.Ignored,
		Settings: m.settings(ctx, diags),
	}
}

// setFromFunction copies what Lambda reports into the model.
func (r *operatorResource) setFromFunction(m *operatorModel, fn *lambdafn.Function) {
	m.FunctionName = types.StringValue(fn.Name)
	m.FunctionARN = types.StringValue(fn.ARN)
	m.ImageURI = types.StringValue(fn.ImageURI)
	if fn.RoleARN != "" {
		m.RoleARN = types.StringValue(fn.RoleARN)
	}
	m.LastModified = types.StringValue(fn.LastModified)
	m.State = types.StringValue(fn.State)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func (r *operatorResource) setPrivate(ctx context.Context, p privateSetter, t *target, image string, diags *diag.Diagnostics) {
	loc, _ := json.Marshal(storeLocation{Region: t.engine.Region, Bucket: t.store.Bucket(), Root: t.store.Prefix()})
	diags.Append(p.SetKey(ctx, privateStore, loc)...)
	if image != "" {
		b, _ := json.Marshal(image)
		diags.Append(p.SetKey(ctx, privateBuiltImage, b)...)
	}
}

// writeManifest records the operator as planned. replaces is the image the
// function runs until the update lands, kept referenced until then.
func (r *operatorResource) writeManifest(ctx context.Context, t *target, m *operatorModel, replaces string, diags *diag.Diagnostics) {
	mb, _ := m.Memory.MB()
	spec := m.spec(ctx, diags)
	env := stringMap(ctx, m.Environment, diags)
	var envHMAC string
	if len(env) > 0 {
		key, err := r.data.environmentKey(ctx, t.engine, t.store)
		if err != nil {
			diags.AddError("Cannot read the engine's environment key", err.Error())
			return
		}
		envHMAC = artifacts.EnvironmentHMAC(key, env)
	}
	inputs, inputLineages := make([]string, len(t.inputs)), make([]string, len(t.inputs))
	for i, a := range t.inputs {
		inputs[i], inputLineages[i] = a.Operator.Name, a.Lineage
	}
	manifest := artifacts.OperatorManifest{
		Name:                t.op.Name,
		Workflow:            t.op.Workflow.Name,
		FunctionName:        m.FunctionName.ValueString(),
		ImageURI:            m.ImageURI.ValueString(),
		SourceHash:          m.SourceHash.ValueString(),
		Function:            m.Function.ValueString(),
		Inputs:              inputs,
		InputLineages:       inputLineages,
		MemoryMB:            mb,
		TimeoutS:            m.Timeout.ValueInt64(),
		EphemeralMB:         m.EphemeralStorage.ValueInt64(),
		RoleARN:             t.engine.RoleARN,
		EnvironmentHMAC:     envHMAC,
		ReplacesImage:       replaces,
		Memory:              m.Memory.ValueString(),
		Source:              m.Source.ValueString(),
		Requirements:        spec.Requirements,
		RequirementsFile:    spec.RequirementsFile,
		BuildSecrets:        manifestSecrets(spec.Secrets),
		BuildSecretsVersion: spec.SecretsVersion,
		PythonVersion:       m.PythonVersion.ValueString(),
		BaseImage:           m.BaseImage.ValueString(),
		Architecture:        m.Architecture.ValueString(),
		KeepImage:           m.KeepImageOnDestroy.ValueBool(),
		Retry:               retryPolicy(ctx, m.Retry, diags),
	}
	if !m.FunctionARN.IsUnknown() {
		manifest.FunctionARN = m.FunctionARN.ValueString()
	}
	manifest.Lineage = artifacts.LineageOf(&manifest, inputLineages)
	m.Artifact = types.StringValue(ids.Artifact{Operator: t.op, Lineage: manifest.Lineage}.String())
	if err := t.store.PutJSON(ctx, artifacts.OperatorKey(t.store.Prefix(), t.op.Workflow.Name, t.op.Name), manifest); err != nil {
		diags.AddError("Cannot write the operator manifest", err.Error())
	}
}

// deleteImageIfUnused deletes a replaced image that nothing refers to any
// more. Failing to is a warning: the image stays, which is the safe side.
func (r *operatorResource) deleteImageIfUnused(ctx context.Context, t *target, image string, diags *diag.Diagnostics) {
	if _, err := r.data.images(ctx, t.engine).DeleteIfUnused(ctx, t.engine, t.store, image); err != nil {
		diags.AddWarning("Replaced image kept", fmt.Sprintf("The image %s is no longer used by operator %q, but it was kept: %s", image, t.op, err))
	}
}

func (r *operatorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state operatorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	op, err := ids.ParseOperator(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid operator id", err.Error())
		return
	}
	fnName := state.FunctionName.ValueString()
	if fnName == "" {
		fnName = naming.FunctionName(op) // import
	}
	fn, err := r.data.lambda(op.Workflow.Engine.Region).Get(ctx, fnName)
	if errors.Is(err, lambdafn.ErrNotFound) {
		resp.Diagnostics.AddWarning("Lambda function is gone",
			fmt.Sprintf("The function %q of operator %q was deleted outside Terraform; the next apply creates it again.", fnName, op.Name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Lambda function", err.Error())
		return
	}
	state.Tags, state.TagsAll = tagsall.Read(ctx, r.data.Tags, fn.Tags, state.Tags, &resp.Diagnostics)

	e, err := r.data.resolveEngine(ctx, op.Workflow.Engine)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		// The function outlived its engine: it stays in state, so that
		// destroy removes it.
		resp.Diagnostics.AddWarning("Operator's engine is gone",
			fmt.Sprintf("%s, but the function %q of operator %q still exists. It stays in the state so that terraform destroy removes it.", err, fnName, op))
		r.setFromFunction(&state, fn)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	case err != nil:
		resp.Diagnostics.AddError("Cannot resolve the operator's engine", err.Error())
		return
	}

	// Configuration that only the manifest holds: needed on import.
	store := r.data.store(e)
	var m artifacts.OperatorManifest
	found, err := store.GetJSON(ctx, artifacts.OperatorKey(store.Prefix(), op.Workflow.Name, op.Name), &m)
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
		state.Retry = retryObject(ctx, m.Retry, &resp.Diagnostics)
		state.setFromManifest(ctx, &m, &resp.Diagnostics)
		if len(m.Requirements) > 0 || !state.Requirements.IsNull() {
			// Non-nil: a nil slice is a null list, a diff from `requirements = []` forever.
			reqs, d := types.ListValueFrom(ctx, types.StringType, append([]string{}, m.Requirements...))
			resp.Diagnostics.Append(d...)
			state.Requirements = reqs
		}
		if m.Lineage != "" {
			state.Artifact = types.StringValue(ids.Artifact{Operator: op, Lineage: m.Lineage}.String())
		} else {
			state.Artifact = types.StringValue("") // applied by an older version: plan an update
		}
		if len(m.Inputs) > 0 || !state.Inputs.IsNull() {
			inputs := make([]string, len(m.Inputs))
			for i, n := range m.Inputs {
				var lineage string
				if i < len(m.InputLineages) {
					lineage = m.InputLineages[i]
				}
				inputs[i] = ids.Artifact{Operator: op.Workflow.Operator(n), Lineage: lineage}.String()
			}
			l, d := types.ListValueFrom(ctx, types.StringType, inputs)
			resp.Diagnostics.Append(d...)
			state.Inputs = l
		}
	} else {
		// Without its manifest no run can find the operator: plan an update
		// that writes it again.
		resp.Diagnostics.AddWarning("Operator manifest is gone",
			fmt.Sprintf("The manifest of operator %q is missing from %s; the next apply writes it again.", op, store.URI(artifacts.OperatorKey(store.Prefix(), op.Workflow.Name, op.Name))))
		state.SourceHash = types.StringValue("")
	}

	state.WorkflowID = types.StringValue(op.Workflow.String())
	state.Name = types.StringValue(op.Name)
	r.setFromFunction(&state, fn)
	if state.Memory.IsNull() && found {
		state.Memory = memorytype.NewMemoryValue(m.Memory) // import: the spelling the config used
	}
	if mb, _ := state.Memory.MB(); state.Memory.IsNull() || mb != int64(fn.MemoryMB) {
		state.Memory = memorytype.NewMemoryMB(int64(fn.MemoryMB))
	}
	state.readSettings(ctx, fn, r.readLogGroup(ctx, e.Region, op, fn.Name, &resp.Diagnostics), &resp.Diagnostics)
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
	loc, _ := json.Marshal(storeLocation{Region: e.Region, Bucket: store.Bucket(), Root: store.Prefix()})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateStore, loc)...)
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

	t := r.resolve(ctx, &plan, &resp.Diagnostics)
	if t == nil {
		return
	}
	fns := r.data.lambda(t.engine.Region)
	plan.RoleARN = types.StringValue(t.engine.RoleARN)
	ch := diff(ctx, &plan, &state)

	old := state.ImageURI.ValueString()
	if !sourceUnchanged(ctx, &plan, t.op, state.SourceHash.ValueString(), plan.ImageURI.IsUnknown(), &resp.Diagnostics) {
		return
	}
	if plan.ImageURI.IsUnknown() {
		image, release, err := r.data.images(ctx, t.engine).Ensure(ctx, t.engine, plan.spec(ctx, &resp.Diagnostics), plan.SourceHash.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), "Cannot build the operator image", err.Error())
			return
		}
		defer release()
		plan.ImageURI = types.StringValue(image)
	}
	image := plan.ImageURI.ValueString()
	var replaces string
	if image != old {
		replaces = old
	}
	r.writeManifest(ctx, t, &plan, replaces, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	cfg := r.functionConfig(ctx, &plan, t, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Tags reach the log group too, so a tags-only change updates it.
	if ch.config || ch.tags {
		if r.ensureLogGroup(ctx, t.engine.Region, t.op, &plan, cfg.Tags, &resp.Diagnostics); resp.Diagnostics.HasError() {
			return
		}
	}
	var fn *lambdafn.Function
	var err error
	// A planned image is pushed to the function even when the digest is the
	// one in state: a Failed function (its image left ECR) needs it again.
	if ch.code {
		if fn, err = fns.UpdateCode(ctx, cfg.Name, image, cfg.Architecture); err != nil {
			resp.Diagnostics.AddError("Cannot update the function's image", err.Error())
			return
		}
	}
	if ch.config {
		if fn, err = fns.UpdateConfig(ctx, cfg); err != nil {
			resp.Diagnostics.AddError("Cannot update the function's configuration", err.Error())
			return
		}
	} else if ch.tags {
		if fn, err = fns.Retag(ctx, cfg); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("tags"), "Cannot update the function's tags", err.Error())
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
	builtNow := ""
	if ch.code {
		builtNow = image
	}
	r.setPrivate(ctx, resp.Private, t, builtNow, &resp.Diagnostics)
	r.writeManifest(ctx, t, &plan, "", &resp.Diagnostics)
	if replaces != "" {
		r.deleteImageIfUnused(ctx, t, replaces, &resp.Diagnostics)
	}
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

	op, err := ids.ParseOperator(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid operator id", err.Error())
		return
	}
	if err := r.data.lambda(op.Workflow.Engine.Region).Delete(ctx, state.FunctionName.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete the Lambda function", err.Error())
		return
	}
	if r.deleteLogGroup(ctx, op.Workflow.Engine.Region, op, state.FunctionName.ValueString(), &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	e, err := r.data.resolveEngine(ctx, op.Workflow.Engine)
	if errors.Is(err, engine.ErrNotFound) {
		r.deleteOrphanManifest(ctx, req.Private, op, &resp.Diagnostics)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot resolve the operator's engine", err.Error())
		return
	}
	store := r.data.store(e)
	if err := store.Delete(ctx, artifacts.OperatorKey(store.Prefix(), op.Workflow.Name, op.Name)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the operator manifest", err.Error())
		return
	}
	if !state.KeepImageOnDestroy.ValueBool() {
		r.deleteImageIfUnused(ctx, &target{op: op, engine: e, store: store}, state.ImageURI.ValueString(), &resp.Diagnostics)
	}
}

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

// deleteOrphanManifest removes the manifest of an operator whose engine is
// gone, from where the private state says it is.
func (r *operatorResource) deleteOrphanManifest(ctx context.Context, p privateGetter, op ids.Operator, diags *diag.Diagnostics) {
	b, _ := p.GetKey(ctx, privateStore)
	var loc storeLocation
	if len(b) == 0 || json.Unmarshal(b, &loc) != nil || loc.Bucket == "" {
		return
	}
	store := artifacts.NewStore(r.data.AWS.ForRegion(loc.Region).S3, loc.Bucket, loc.Root)
	if err := store.Delete(ctx, artifacts.OperatorKey(store.Prefix(), op.Workflow.Name, op.Name)); err != nil {
		diags.AddWarning("Operator manifest kept", fmt.Sprintf("The engine of operator %q is gone and its manifest could not be deleted: %s", op, err))
	}
}

// ImportState takes "<workflow>/<operator>", or a full operator id.
func (r *operatorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if op, err := ids.ParseOperator(req.ID); err == nil {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), op.String())...)
		return
	}
	wfName, opName, ok := strings.Cut(req.ID, "/")
	if !ok || !namePattern.MatchString(wfName) || !namePattern.MatchString(opName) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q is neither \"<workflow>/<operator>\" nor an operator id \"<region>:<ecr repository>/<workflow>/<operator>\"", req.ID))
		return
	}
	wf, err := r.data.findWorkflow(ctx, wfName)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import the operator", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), wf.Operator(opName).String())...)
}

// retryModel is the operator's retry attribute.
type retryModel struct {
	Attempts        types.Int64   `tfsdk:"attempts"`
	IntervalSeconds types.Int64   `tfsdk:"interval_seconds"`
	BackoffRate     types.Float64 `tfsdk:"backoff_rate"`
	MaxDelaySeconds types.Int64   `tfsdk:"max_delay_seconds"`
}

var retryAttrTypes = map[string]attr.Type{
	"attempts": types.Int64Type, "interval_seconds": types.Int64Type, "backoff_rate": types.Float64Type, "max_delay_seconds": types.Int64Type,
}

// retryPolicy is the manifest's form of the attribute; nil when unset.
func retryPolicy(ctx context.Context, o types.Object, diags *diag.Diagnostics) *artifacts.RetryPolicy {
	if o.IsNull() || o.IsUnknown() {
		return nil
	}
	var m retryModel
	diags.Append(o.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	return &artifacts.RetryPolicy{
		Attempts:    int(m.Attempts.ValueInt64()),
		IntervalS:   int(m.IntervalSeconds.ValueInt64()),
		BackoffRate: m.BackoffRate.ValueFloat64(),
		MaxDelayS:   int(m.MaxDelaySeconds.ValueInt64()),
	}
}

// retryObject is the attribute's value for a manifest's policy.
func retryObject(ctx context.Context, p *artifacts.RetryPolicy, diags *diag.Diagnostics) types.Object {
	if p == nil {
		return types.ObjectNull(retryAttrTypes)
	}
	m := retryModel{
		Attempts:        types.Int64Value(int64(p.Attempts)),
		IntervalSeconds: types.Int64Value(int64(p.IntervalS)),
		BackoffRate:     types.Float64Value(p.BackoffRate),
		MaxDelaySeconds: types.Int64Null(),
	}
	if p.MaxDelayS > 0 {
		m.MaxDelaySeconds = types.Int64Value(int64(p.MaxDelayS))
	}
	o, d := types.ObjectValueFrom(ctx, retryAttrTypes, m)
	diags.Append(d...)
	return o
}
