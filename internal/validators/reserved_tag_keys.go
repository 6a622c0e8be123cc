package validators

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type reservedTagKeys struct{ prefix string }

// ReservedTagKeys rejects map keys that start with prefix, a namespace the
// provider writes itself.
func ReservedTagKeys(prefix string) validator.Map { return reservedTagKeys{prefix: prefix} }

func (v reservedTagKeys) Description(context.Context) string {
	return fmt.Sprintf("keys must not start with %q, which the provider uses", v.prefix)
}

func (v reservedTagKeys) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v reservedTagKeys) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k := range req.ConfigValue.Elements() {
		if strings.HasPrefix(k, v.prefix) {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Reserved tag key", fmt.Sprintf("tag key %q: %s", k, v.Description(ctx)))
		}
	}
}
