// Package tagsall computes a resource's tags_all: the provider's
// default_tags merged with the resource's own tags, without the keys
// ignore_tags hides. It is known at plan time whenever tags is, so a change
// of a default tag shows in the plan as an in-place update of every
// resource it reaches.
//
// tags_all depends on the provider configuration, which an attribute plan
// modifier cannot see; each resource calls Plan from its ModifyPlan:
//
//	plan.TagsAll = tagsall.Plan(ctx, r.data.Tags, plan.Tags, internalTags, &resp.Diagnostics)
//
// and Read from its Read, with the tags AWS reports.
package tagsall

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
	"github.com/aqueduct/terraform-provider-aqueduct/internal/validators"
)

// Attributes are the `tags` and `tags_all` attributes of a resource whose
// tags go on objects (e.g. "the Lambda function").
func Attributes(objects string) (tagsAttr, tagsAllAttr schema.MapAttribute) {
	return schema.MapAttribute{
			Optional:    true,
			ElementType: types.StringType,
			MarkdownDescription: "Tags for " + objects + ", merged over the provider's `default_tags`. " +
				"Keys are 1 to 128 characters, values at most 256; keys starting with `aws:` or `aqueduct:` are reserved. Changing them updates in place.",
			Validators: []validator.Map{validators.TagLimits()},
		}, schema.MapAttribute{
			Computed:            true,
			ElementType:         types.StringType,
			MarkdownDescription: "All tags on " + objects + ": the provider's `default_tags` merged with `tags`, without the keys of `ignore_tags`. The provider's own `aqueduct:` tags are not shown.",
		}
}

// Plan is the planned tags_all for tagsValue under cfg. It is unknown only
// when tagsValue or one of its values is. internal is the number of tags the
// provider puts on the object itself; with them the object must stay
// within AWS's 50 tags, or Plan reports an error on `tags`.
func Plan(ctx context.Context, cfg *tags.Config, tagsValue types.Map, internal int, diags *diag.Diagnostics) types.Map {
	if tagsValue.IsUnknown() {
		return types.MapUnknown(types.StringType)
	}
	own := map[string]string{}
	for k, e := range tagsValue.Elements() {
		s, ok := e.(types.String)
		if !ok || s.IsUnknown() {
			return types.MapUnknown(types.StringType)
		}
		own[k] = s.ValueString()
	}
	all := cfg.Merge(own)
	if d := tags.CheckCount(len(all), internal); d != "" {
		diags.AddAttributeError(path.Root("tags"), "Too many tags", d+".")
	}
	v, d := types.MapValueFrom(ctx, types.StringType, all)
	diags.Append(d...)
	return v
}

// Read is tags and tags_all as read back from AWS: fromAWS without internal,
// AWS's and ignored keys is tags_all; tags is what of it is the resource's
// own (see tags.Config.Own). A null prior tags stays null while the
// resource has no tags of its own, so that no tags in the configuration is
// no diff.
func Read(ctx context.Context, cfg *tags.Config, fromAWS map[string]string, prior types.Map, diags *diag.Diagnostics) (tagsValue, tagsAll types.Map) {
	all := cfg.Visible(fromAWS)
	priorTags := map[string]string{}
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &priorTags, false)...)
	}
	own := cfg.Own(all, priorTags)
	for k, v := range priorTags {
		if cfg.Ignored(k) {
			own[k] = v // never read back, so never drift
		}
	}
	tagsAll, d := types.MapValueFrom(ctx, types.StringType, all)
	diags.Append(d...)
	if prior.IsNull() && len(own) == 0 {
		return types.MapNull(types.StringType), tagsAll
	}
	tagsValue, d = types.MapValueFrom(ctx, types.StringType, own)
	diags.Append(d...)
	return tagsValue, tagsAll
}

// Values are the known values of a tags_all map: what goes on the objects.
func Values(ctx context.Context, v types.Map, diags *diag.Diagnostics) map[string]string {
	out := map[string]string{}
	if v.IsNull() || v.IsUnknown() {
		return out
	}
	diags.Append(v.ElementsAs(ctx, &out, false)...)
	return out
}
