package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
)

var (
	_ resource.ResourceWithConfigure   = (*lambdaResource)(nil)
	_ resource.ResourceWithImportState = (*lambdaResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*lambdaResource)(nil)
)

// NewLambdaResource is the aqueduct_lambda_resource factory.
func NewLambdaResource() resource.Resource { return &lambdaResource{} }

type lambdaResource struct{ data *ProviderData }

type lambdaResourceModel struct {
	ID                types.String        `tfsdk:"id"`
	Name              types.String        `tfsdk:"name"`
	RoleARN           types.String        `tfsdk:"role_arn"`
	OrchestrationRole types.String        `tfsdk:"orchestration_role_arn"`
	Region            types.String        `tfsdk:"region"`
	ArtifactStore     *artifactStoreModel `tfsdk:"artifact_store"`
	ECRRepository     types.String        `tfsdk:"ecr_repository"`
	Tags              types.Map           `tfsdk:"tags"`
	TagsAll           types.Map           `tfsdk:"tags_all"`
	ForceDestroy      types.Bool          `tfsdk:"force_destroy"`
	AccountID         types.String        `tfsdk:"account_id"`
	RepositoryURL     types.String        `tfsdk:"repository_url"`
	RepositoryCreated types.Bool          `tfsdk:"repository_created"`
	ecrSettingsModel
}

type artifactStoreModel struct {
	S3Bucket types.String `tfsdk:"s3_bucket"`
	Prefix   types.String `tfsdk:"prefix"`
}

// engineInternalTags is how many tags the provider puts on an engine's
// repository (engine.Tags without user tags, at most).
const engineInternalTags = 6

// ecrRepositoryPattern is ECR's repository name rule.
var ecrRepositoryPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)

// s3BucketPattern is S3's general purpose bucket naming rule, short form.
var s3BucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (r *lambdaResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_lambda_resource"
}

func (r *lambdaResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	tagsAttr, tagsAllAttr := tagsall.Attributes("the ECR repository")
	resp.Schema = schema.Schema{
		MarkdownDescription: "The connection a workflow runs on: an AWS region, the Lambda execution role, the S3 artifact store and the ECR repository that holds operator images.\n\n" +
			"Create checks that the role exists and trusts `lambda.amazonaws.com`, and that the bucket exists and is writable; it creates the ECR repository when it is missing. " +
			"It warns when the role's attached policies grant no CloudWatch Logs or S3 access. Delete removes only what Create created. " +
			"The settings are recorded as `aqueduct:*` tags on the repository, so workflows and operators find them from `id` alone.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Engine id, `<region>:<ecr_repository>`. Use it as a workflow's `engine`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Unique name of this engine: " + nameHint + ", at most 48 characters.",
				PlanModifiers:       replace,
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 48),
					stringvalidator.RegexMatches(namePattern, "must contain only "+nameHint),
				},
			},
			"role_arn": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "ARN of the Lambda execution role, `arn:aws:iam::<account>:role/<name>`. It must trust `lambda.amazonaws.com`.",
				Validators: []validator.String{
					stringvalidator.RegexMatches(iamrole.ARNPattern, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/lambda-exec"),
				},
			},
			"orchestration_role_arn": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "ARN of the role AWS Step Functions and EventBridge Scheduler assume to run this engine's workflows on AWS: " +
					"for `data.aqueduct_invocation` with `executor = \"step_functions\"` (the default when this is set) and for `aqueduct_schedule`. " +
					"It must trust `states.amazonaws.com` and `scheduler.amazonaws.com`, and may invoke the engine's functions and start its state machines (see the provider docs for a minimal policy). " +
					"Without it, runs happen in the terraform process.",
				Validators: []validator.String{
					stringvalidator.RegexMatches(iamrole.ARNPattern, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/aqueduct-orchestration"),
				},
			},
			"region": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "AWS region of the functions, repository and bucket. Defaults to the provider's region. Changing it replaces the engine.",
				PlanModifiers:       replace,
				Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`), "must be an AWS region such as us-east-1")},
			},
			"ecr_repository": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "ECR repository for operator images. Defaults to `aqueduct/<name>`. Created when missing; an existing repository is used as it is and kept on destroy.",
				PlanModifiers:       replace,
				Validators: []validator.String{
					stringvalidator.LengthBetween(2, 256),
					stringvalidator.RegexMatches(ecrRepositoryPattern, "must be a valid ECR repository name: lowercase letters, digits and . _ - separators, with optional / namespaces"),
				},
			},
			"tags":     tagsAttr,
			"tags_all": tagsAllAttr,
			"force_destroy": schema.BoolAttribute{
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				MarkdownDescription: "Also delete images the provider did not push (another tool's, or someone's `docker push`) when the repository created by this resource is destroyed. The provider's own images are always deleted on destroy, without it.",
			},
			"account_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "AWS account id of the caller.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"repository_url": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "URL of the ECR repository, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"repository_created": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether this resource created the ECR repository, and so deletes it on destroy.",
			},
		},
		Blocks: map[string]schema.Block{
			"artifact_store": schema.SingleNestedBlock{
				MarkdownDescription: "Required. The S3 artifact store for manifests, run records and operator outputs. Lambda runs only with S3 as its artifact store. Changing it replaces the engine.",
				Validators:          []validator.Object{objectvalidator.IsRequired()},
				Attributes: map[string]schema.Attribute{
					"s3_bucket": schema.StringAttribute{
						Optional:            true, // required through the block validator and below
						MarkdownDescription: "Name of an existing bucket, writable by the caller.",
						PlanModifiers:       replace,
						Validators: []validator.String{
							stringvalidator.RegexMatches(s3BucketPattern, "must be a valid S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens"),
						},
					},
					"prefix": schema.StringAttribute{
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString("aqueduct"),
						MarkdownDescription: "Key prefix for everything this engine writes. Defaults to `aqueduct`.",
						PlanModifiers:       replace,
						Validators: []validator.String{
							stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$`), "must be an S3 key prefix without leading or trailing slashes"),
						},
					},
				},
			},
		},
	}
	for name, a := range ecrSettingsAttributes() {
		resp.Schema.Attributes[name] = a
	}
	for name, b := range ecrSettingsBlocks() {
		resp.Schema.Blocks[name] = b
	}
}

func (r *lambdaResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan fills defaults that depend on the provider or other attributes,
// so ids are known at plan time.
func (r *lambdaResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan lambdaResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.ArtifactStore == nil || plan.ArtifactStore.S3Bucket.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("artifact_store").AtName("s3_bucket"), "Missing artifact store bucket",
			"artifact_store.s3_bucket is required: Lambda runs only with S3 as the artifact store.")
		return
	}
	if plan.Region.IsUnknown() {
		plan.Region = types.StringValue(r.data.AWS.Region)
	}
	if plan.ECRRepository.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ECRRepository = types.StringValue("aqueduct/" + plan.Name.ValueString())
	}
	plan.TagsAll = tagsall.Plan(ctx, r.data.Tags, plan.Tags, engineInternalTags, &resp.Diagnostics)
	if plan.ID.IsUnknown() && !plan.Region.IsUnknown() && !plan.ECRRepository.IsUnknown() {
		plan.ID = types.StringValue(ids.Engine{Region: plan.Region.ValueString(), Repository: plan.ECRRepository.ValueString()}.String())
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *lambdaResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan lambdaResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	clients := r.data.AWS.ForRegion(plan.Region.ValueString())
	e := &engine.Engine{
		Name:       plan.Name.ValueString(),
		Region:     clients.Region,
		Repository: plan.ECRRepository.ValueString(),
		RoleARN:    plan.RoleARN.ValueString(),
		Bucket:     plan.ArtifactStore.S3Bucket.ValueString(),
		Prefix:     plan.ArtifactStore.Prefix.ValueString(),
		UserTags:   tagsall.Values(ctx, plan.TagsAll, &resp.Diagnostics),
	}

	ident, err := clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the AWS caller identity", "Check the provider's credentials: "+err.Error())
		return
	}
	warnings, err := iamrole.Check(ctx, clients.IAM, e.RoleARN)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("role_arn"), "Unusable Lambda execution role", err.Error())
		return
	}
	for _, w := range warnings {
		resp.Diagnostics.AddAttributeWarning(path.Root("role_arn"), "Lambda execution role may lack permissions", w)
	}
	if !r.checkOrchestrationRole(ctx, clients.IAM, plan.OrchestrationRole, &resp.Diagnostics) {
		return
	}
	e.OrchestrationRoleARN = plan.OrchestrationRole.ValueString()
	if err := artifacts.CheckBucket(ctx, clients.S3, e.Bucket, e.Prefix); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("artifact_store").AtName("s3_bucket"), "Unusable artifact store", err.Error())
		return
	}

	repo, created, err := ensureRepository(ctx, clients.ECR, e)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("ecr_repository"), "Cannot use the ECR repository", err.Error())
		return
	}
	e.RegistryID = aws.ToString(repo.RegistryId)
	e.RepositoryURL = aws.ToString(repo.RepositoryUri)
	if !created {
		// An existing repository is adopted: record the engine on it.
		if _, err := clients.ECR.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: repo.RepositoryArn, Tags: engine.ECRTags(e.Tags())}); err != nil {
			resp.Diagnostics.AddError("Cannot tag the ECR repository", fmt.Sprintf("tagging %q: %s", e.Repository, err))
			return
		}
	}
	applyRepoSettings(ctx, clients.ECR, e.Repository, plan.wanted(), &resp.Diagnostics)
	r.data.engines.Forget(e.ID())

	plan.ID = types.StringValue(e.ID().String())
	plan.AccountID = types.StringValue(aws.ToString(ident.Account))
	plan.RepositoryURL = types.StringValue(e.RepositoryURL)
	plan.RepositoryCreated = types.BoolValue(e.CreatedRepo)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)

	// The key that hashes operators' environments, made once per engine.
	if _, err := r.data.store(e).EnvironmentKey(ctx); err != nil {
		resp.Diagnostics.AddError("Cannot create the engine's environment key", err.Error())
	}
}

// checkOrchestrationRole checks a set orchestration role: it exists and
// trusts Step Functions and Scheduler.
func (r *lambdaResource) checkOrchestrationRole(ctx context.Context, api iamrole.API, role types.String, diags *diag.Diagnostics) bool {
	if role.IsNull() || role.ValueString() == "" {
		return true
	}
	if err := iamrole.CheckTrust(ctx, api, role.ValueString(), "states.amazonaws.com", "scheduler.amazonaws.com"); err != nil {
		diags.AddAttributeError(path.Root("orchestration_role_arn"), "Unusable orchestration role", err.Error())
		return false
	}
	return true
}

// ensureRepository creates the repository, or adopts an existing one: a
// repository with no engine tags (the user's own, kept on destroy), or one
// whose tags record this same engine (an apply that did not finish, or a
// state that was lost). A repository recorded for another engine is refused,
// naming it.
func ensureRepository(ctx context.Context, api *ecr.Client, e *engine.Engine) (ecrtypes.Repository, bool, error) {
	e.CreatedRepo = true
	out, err := api.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:     aws.String(e.Repository),
		ImageTagMutability: ecrtypes.ImageTagMutabilityMutable,
		Tags:               engine.ECRTags(e.Tags()),
	})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return ecrtypes.Repository{}, false, fmt.Errorf("creating ECR repository %q: %w", e.Repository, err)
	}
	if err == nil {
		return *out.Repository, true, nil
	}
	e.CreatedRepo = false
	d, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{e.Repository}})
	if err != nil {
		return ecrtypes.Repository{}, false, err
	}
	if len(d.Repositories) == 0 {
		return ecrtypes.Repository{}, false, fmt.Errorf("repository %q exists but cannot be described", e.Repository)
	}
	repo := d.Repositories[0]
	owner, err := engine.FromRepository(ctx, api, e.Region, repo)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return repo, false, nil
	case err != nil:
		return ecrtypes.Repository{}, false, err
	case !owner.Same(e):
		return ecrtypes.Repository{}, false, fmt.Errorf("the ECR repository %q already belongs to %s, so this engine cannot use it. "+
			"Give this engine another name or ecr_repository", e.Repository, owner.Describe())
	}
	e.CreatedRepo = owner.CreatedRepo
	return repo, false, nil
}

func (r *lambdaResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state lambdaResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, err := ids.ParseEngine(state.ID.ValueString(), r.data.AWS.Region)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Invalid engine id", err.Error())
		return
	}
	region := id.Region
	clients := r.data.AWS.ForRegion(region)
	r.data.engines.Forget(id)
	e, err := engine.Lookup(ctx, clients.ECR, region, id.Repository)
	if errors.Is(err, engine.ErrNotFound) {
		resp.Diagnostics.AddWarning("Engine repository is gone", fmt.Sprintf("%s; it was deleted outside Terraform, so the next apply creates it again.", err))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the engine", err.Error())
		return
	}
	if _, err := iamrole.Get(ctx, clients.IAM, e.RoleARN); errors.Is(err, iamrole.ErrNotFound) {
		resp.Diagnostics.AddWarning("Lambda execution role is gone", fmt.Sprintf("%s. It was deleted outside Terraform; the engine must be created again with an existing role.", err))
		resp.State.RemoveResource(ctx)
		return
	}
	if state.AccountID.IsNull() || state.AccountID.ValueString() == "" {
		state.AccountID = types.StringValue(e.RegistryID)
	}
	state.Name = types.StringValue(e.Name)
	state.Region = types.StringValue(region)
	state.ECRRepository = types.StringValue(e.Repository)
	state.RoleARN = types.StringValue(e.RoleARN)
	state.OrchestrationRole = optionalString(e.OrchestrationRoleARN, state.OrchestrationRole)
	state.ArtifactStore = &artifactStoreModel{S3Bucket: types.StringValue(e.Bucket), Prefix: types.StringValue(e.Prefix)}
	state.RepositoryURL = types.StringValue(e.RepositoryURL)
	state.RepositoryCreated = types.BoolValue(e.CreatedRepo)
	if state.ForceDestroy.IsNull() {
		state.ForceDestroy = types.BoolValue(false)
	}
	settings, _, err := readRepoSettings(ctx, clients.ECR, e.Repository)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the ECR repository's settings", err.Error())
		return
	}
	state.set(settings)
	state.Tags, state.TagsAll = tagsall.Read(ctx, r.data.Tags, e.UserTags, state.Tags, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *lambdaResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state lambdaResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	clients := r.data.AWS.ForRegion(plan.Region.ValueString())
	if plan.RoleARN.ValueString() != state.RoleARN.ValueString() {
		warnings, err := iamrole.Check(ctx, clients.IAM, plan.RoleARN.ValueString())
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("role_arn"), "Unusable Lambda execution role", err.Error())
			return
		}
		for _, w := range warnings {
			resp.Diagnostics.AddAttributeWarning(path.Root("role_arn"), "Lambda execution role may lack permissions", w)
		}
	}
	e, err := engine.Lookup(ctx, clients.ECR, clients.Region, plan.ECRRepository.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the engine", err.Error())
		return
	}
	if !plan.OrchestrationRole.Equal(state.OrchestrationRole) && !r.checkOrchestrationRole(ctx, clients.IAM, plan.OrchestrationRole, &resp.Diagnostics) {
		return
	}
	oldUser := e.UserTags
	hadOrchestration := e.OrchestrationRoleARN != ""
	e.RoleARN = plan.RoleARN.ValueString()
	e.OrchestrationRoleARN = plan.OrchestrationRole.ValueString()
	e.UserTags = tagsall.Values(ctx, plan.TagsAll, &resp.Diagnostics)
	if _, err := clients.ECR.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(e.RepositoryARN), Tags: engine.ECRTags(e.Tags())}); err != nil {
		resp.Diagnostics.AddError("Cannot update the engine's tags", err.Error())
		return
	}
	_, removed := r.data.Tags.Diff(oldUser, e.UserTags)
	if hadOrchestration && e.OrchestrationRoleARN == "" {
		removed = append(removed, engine.TagOrchestrationRole)
	}
	if len(removed) > 0 {
		if _, err := clients.ECR.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: aws.String(e.RepositoryARN), TagKeys: removed}); err != nil {
			resp.Diagnostics.AddError("Cannot remove tags from the repository", err.Error())
			return
		}
	}
	applyRepoSettings(ctx, clients.ECR, e.Repository, plan.wanted(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.data.engines.Forget(e.ID())
	plan.RepositoryCreated = types.BoolValue(e.CreatedRepo)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *lambdaResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state lambdaResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, err := ids.ParseEngine(state.ID.ValueString(), r.data.AWS.Region)
	if err != nil {
		resp.Diagnostics.AddError("Invalid engine id", err.Error())
		return
	}
	clients := r.data.AWS.ForRegion(id.Region)
	defer r.data.engines.Forget(id)
	e, err := engine.Lookup(ctx, clients.ECR, id.Region, id.Repository)
	repoGone := errors.Is(err, engine.ErrNotFound)
	switch {
	case repoGone:
		// The repository went first; the artifact store is still the
		// engine's, found from the state.
		e = &engine.Engine{Name: state.Name.ValueString(), Region: id.Region, Repository: id.Repository, RegistryID: state.AccountID.ValueString()}
		if state.ArtifactStore != nil {
			e.Bucket, e.Prefix = state.ArtifactStore.S3Bucket.ValueString(), state.ArtifactStore.Prefix.ValueString()
		}
	case err != nil:
		resp.Diagnostics.AddError("Cannot read the engine", err.Error())
		return
	}
	store := r.data.store(e)

	// Nothing in use is deleted: operators left on the engine (another
	// state's, or an interrupted apply's) keep it.
	wfs, err := artifacts.Workflows(ctx, store)
	if err != nil && e.Bucket != "" {
		resp.Diagnostics.AddError("Cannot list the engine's workflows", err.Error())
		return
	}
	var inUse []string
	for _, wf := range wfs {
		ops, err := operatorsInUse(ctx, r.data, e, store, wf)
		if err != nil {
			resp.Diagnostics.AddError("Cannot check the engine's operators", err.Error())
			return
		}
		inUse = append(inUse, ops...)
	}
	if len(inUse) > 0 {
		resp.Diagnostics.AddError("Engine still has operators",
			fmt.Sprintf("Engine %q cannot be deleted while these operators' functions exist: %s. They are not in this Terraform state: "+
				"if an interrupted apply left them, run terraform apply (it adopts them) and then destroy; otherwise destroy them where they are managed.",
				e.Name, strings.Join(inUse, ", ")))
		return
	}

	if !repoGone {
		// The provider's images go without force_destroy; others' only with it.
		foreign, err := r.data.images(ctx, e).Purge(ctx, e, state.ForceDestroy.ValueBool())
		if err != nil {
			resp.Diagnostics.AddError("Cannot delete the engine's images", err.Error())
			return
		}
		switch {
		case !e.CreatedRepo:
			keys := []string{engine.TagEngine, engine.TagRoleARN, engine.TagBucket, engine.TagPrefix, engine.TagCreatedRepo, engine.TagOrchestrationRole}
			if _, err := clients.ECR.UntagResource(ctx, &ecr.UntagResourceInput{ResourceArn: aws.String(e.RepositoryARN), TagKeys: keys}); err != nil {
				resp.Diagnostics.AddError("Cannot remove the engine's tags", fmt.Sprintf("the repository %q was not created by this resource and is kept; untagging it failed: %s", id.Repository, err))
				return
			}
		case len(foreign) > 0:
			resp.Diagnostics.AddError("ECR repository holds images the provider did not push",
				fmt.Sprintf("The repository %q, created by this resource, still holds %d image(s) that the provider did not push, e.g. %s, so it was not deleted. "+
					"The provider's own images were deleted. Set force_destroy = true and apply to delete the others too, or delete them first.", id.Repository, len(foreign), foreign[0]))
			return
		default:
			_, err := clients.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(id.Repository), Force: state.ForceDestroy.ValueBool()})
			var notFound *ecrtypes.RepositoryNotFoundException
			var notEmpty *ecrtypes.RepositoryNotEmptyException
			switch {
			case errors.As(err, &notEmpty):
				resp.Diagnostics.AddError("ECR repository is not empty",
					fmt.Sprintf("Images were pushed to %q while it was being deleted, so it was kept. Destroy again, or set force_destroy = true.", id.Repository))
				return
			case err != nil && !errors.As(err, &notFound):
				resp.Diagnostics.AddError("Cannot delete the ECR repository", err.Error())
				return
			}
		}
	}

	// Last, everything the engine wrote to the artifact store.
	if e.Bucket != "" {
		if err := store.DeletePrefix(ctx, store.Prefix()+"/"); err != nil {
			resp.Diagnostics.AddError("Cannot delete the engine's artifacts", err.Error())
		}
	}
}

func (r *lambdaResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id, err := ids.ParseEngine(req.ID, r.data.AWS.Region)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import id", err.Error()+"; use <region>:<ecr repository> or <ecr repository>")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id.String())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_destroy"), false)...)
}
