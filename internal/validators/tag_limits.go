package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/tags"
)

type tagLimits struct{}

// TagLimits checks a tags map against AWS's limits: keys 1 to 128
// characters, values at most 256, at most 50 tags, and no key in the `aws:`
// or the provider's `aqueduct:` namespace. The count with default_tags and
// the provider's internal tags is checked at plan time (modifiers/tagsall).
func TagLimits() validator.Map { return tagLimits{} }

func (tagLimits) Description(context.Context) string {
	return fmt.Sprintf("tag keys are 1 to %d characters and do not start with %q or %q; values are at most %d characters; at most %d tags",
		tags.MaxKeyLength, tags.AWSPrefix, tags.InternalPrefix, tags.MaxValueLength, tags.MaxPerResource)
}

func (v tagLimits) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (tagLimits) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	known := map[string]string{}
	for k, e := range req.ConfigValue.Elements() {
		if s, ok := e.(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			known[k] = s.ValueString()
		} else if d := tags.CheckKey(k); d != "" {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid tag", d+".")
		}
	}
	for _, p := range tags.Check(known) {
		resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(p.Key), "Invalid tag", p.Detail+".")
	}
	if n := len(req.ConfigValue.Elements()); n > tags.MaxPerResource {
		resp.Diagnostics.AddAttributeError(req.Path, "Too many tags",
			fmt.Sprintf("%s has %d tags; AWS allows %d per resource, the provider's own tags included.", req.Path, n, tags.MaxPerResource))
	}
}
