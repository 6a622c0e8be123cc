package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/ecrpolicy"
)

// ecrSettingsModel is the engine's settings of its ECR repository. Embedded
// in lambdaResourceModel.
type ecrSettingsModel struct {
	ImageTagMutability      types.String `tfsdk:"image_tag_mutability"`
	UntaggedImageExpiryDays types.Int64  `tfsdk:"untagged_image_expiry_days"`
	ImageScanning           types.Object `tfsdk:"image_scanning"`
}

const defaultUntaggedExpiryDays = 14

var imageScanningTypes = map[string]attr.Type{"scan_on_push": types.BoolType}

func ecrSettingsAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"image_tag_mutability": schema.StringAttribute{
			Optional: true,
			Computed: true,
			Default:  stringdefault.StaticString(string(ecrtypes.ImageTagMutabilityImmutable)),
			MarkdownDescription: "Tag mutability of the repository: `IMMUTABLE` (default) or `MUTABLE`. The provider's tags are content addresses (`src-<source hash>`), so they never need to move; " +
				"an image already in the registry for a tag is reused, not pushed again. Changed in place.",
			Validators: []validator.String{stringvalidator.OneOf(string(ecrtypes.ImageTagMutabilityImmutable), string(ecrtypes.ImageTagMutabilityMutable))},
		},
		"untagged_image_expiry_days": schema.Int64Attribute{
			Optional: true,
			Computed: true,
			Default:  int64default.StaticInt64(defaultUntaggedExpiryDays),
			MarkdownDescription: fmt.Sprintf("Days after which ECR expires untagged images, through a lifecycle rule the provider owns (described `%s`); "+
				"other rules of the repository's lifecycle policy are kept. 0 removes the rule. 0 to %d; defaults to %d. Changed in place. "+
				"The provider's own images are always tagged, so the rule only removes images that lost their tag.", ecrpolicy.Description, ecrpolicy.MaxDays, defaultUntaggedExpiryDays),
			Validators: []validator.Int64{int64validator.Between(0, ecrpolicy.MaxDays)},
		},
	}
}

func ecrSettingsBlocks() map[string]schema.Block {
	return map[string]schema.Block{
		"image_scanning": schema.SingleNestedBlock{
			MarkdownDescription: "Image scanning of the repository. Without the block, images are not scanned on push. Changed in place.",
			Attributes: map[string]schema.Attribute{
				"scan_on_push": schema.BoolAttribute{
					Optional:            true,
					Computed:            true,
					Default:             booldefault.StaticBool(false),
					MarkdownDescription: "Scan each image for vulnerabilities when it is pushed (ECR basic scanning). Defaults to `false`.",
				},
			},
		},
	}
}

// repoSettings is what the repository has, or should have.
type repoSettings struct {
	mutability string
	scanOnPush bool
	expiryDays int
}

func (m ecrSettingsModel) wanted() repoSettings {
	s := repoSettings{mutability: m.ImageTagMutability.ValueString(), expiryDays: int(m.UntaggedImageExpiryDays.ValueInt64())}
	if s.mutability == "" {
		s.mutability = string(ecrtypes.ImageTagMutabilityImmutable)
	}
	if !m.ImageScanning.IsNull() && !m.ImageScanning.IsUnknown() {
		if v, ok := m.ImageScanning.Attributes()["scan_on_push"].(types.Bool); ok {
			s.scanOnPush = v.ValueBool()
		}
	}
	return s
}

// set records what the repository has; the block stays null when it was
// null and scanning is off, so an absent block is no diff.
func (m *ecrSettingsModel) set(s repoSettings) {
	m.ImageTagMutability = types.StringValue(s.mutability)
	m.UntaggedImageExpiryDays = types.Int64Value(int64(s.expiryDays))
	if m.ImageScanning.IsNull() && !s.scanOnPush {
		m.ImageScanning = types.ObjectNull(imageScanningTypes)
		return
	}
	m.ImageScanning = types.ObjectValueMust(imageScanningTypes, map[string]attr.Value{"scan_on_push": types.BoolValue(s.scanOnPush)})
}

// readRepoSettings reads the settings back from ECR.
func readRepoSettings(ctx context.Context, api *ecr.Client, repo string) (repoSettings, string, error) {
	var s repoSettings
	d, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	if err != nil {
		return s, "", fmt.Errorf("reading repository %q: %w", repo, err)
	}
	if len(d.Repositories) == 0 {
		return s, "", fmt.Errorf("repository %q cannot be described", repo)
	}
	r := d.Repositories[0]
	s.mutability = string(r.ImageTagMutability)
	if r.ImageScanningConfiguration != nil {
		s.scanOnPush = r.ImageScanningConfiguration.ScanOnPush
	}
	var policy string
	p, err := api.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(repo)})
	var none *ecrtypes.LifecyclePolicyNotFoundException
	switch {
	case errors.As(err, &none):
	case err != nil:
		return s, "", fmt.Errorf("reading the lifecycle policy of %q: %w", repo, err)
	default:
		policy = aws.ToString(p.LifecyclePolicyText)
		if s.expiryDays, err = ecrpolicy.Days(policy); err != nil {
			return s, "", err
		}
	}
	return s, policy, nil
}

// applyRepoSettings brings the repository to want, calling only the APIs
// whose setting differs from what ECR reports.
func applyRepoSettings(ctx context.Context, api *ecr.Client, repo string, want repoSettings, diags *diag.Diagnostics) {
	have, policy, err := readRepoSettings(ctx, api, repo)
	if err != nil {
		diags.AddError("Cannot read the ECR repository's settings", err.Error())
		return
	}
	if have.mutability != want.mutability {
		if _, err := api.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
			RepositoryName: aws.String(repo), ImageTagMutability: ecrtypes.ImageTagMutability(want.mutability),
		}); err != nil {
			diags.AddError("Cannot set the repository's image_tag_mutability", fmt.Sprintf("setting %q on %q: %s", want.mutability, repo, err))
			return
		}
	}
	if have.scanOnPush != want.scanOnPush {
		if _, err := api.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
			RepositoryName: aws.String(repo), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: want.scanOnPush},
		}); err != nil {
			diags.AddError("Cannot set the repository's image scanning", fmt.Sprintf("scan_on_push = %v on %q: %s", want.scanOnPush, repo, err))
			return
		}
	}
	if have.expiryDays == want.expiryDays {
		return
	}
	text, empty, err := ecrpolicy.Merge(policy, want.expiryDays)
	switch {
	case err != nil:
		diags.AddError("Cannot set the repository's lifecycle policy", err.Error())
	case empty:
		if _, err := api.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String(repo)}); err != nil {
			diags.AddError("Cannot remove the repository's lifecycle policy", fmt.Sprintf("%q: %s", repo, err))
		}
	default:
		if _, err := api.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(text)}); err != nil {
			diags.AddError("Cannot set the repository's lifecycle policy", fmt.Sprintf("untagged_image_expiry_days = %d on %q: %s", want.expiryDays, repo, err))
		}
	}
}
