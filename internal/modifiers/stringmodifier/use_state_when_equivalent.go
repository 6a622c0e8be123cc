// Package stringmodifier holds plan modifiers for string attributes, one per
// file.
package stringmodifier

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

type useStateWhenEquivalent struct {
	// fromString converts the request's plain string into the attribute's
	// custom type, whose semantic equality decides.
	fromString func(basetypes.StringValue) basetypes.StringValuableWithSemanticEquals
}

// UseStateWhenEquivalent plans the prior state's value when the config's is
// another spelling of it (for memory, "1GB" and "1024"), so a respelling
// shows no diff. The framework applies semantic equality on read and apply
// but not on plan; Terraform accepts a planned value equal to the prior one.
func UseStateWhenEquivalent(fromString func(basetypes.StringValue) basetypes.StringValuableWithSemanticEquals) planmodifier.String {
	return useStateWhenEquivalent{fromString: fromString}
}

func (m useStateWhenEquivalent) Description(context.Context) string {
	return "keeps the prior value when the configured value is semantically equal to it"
}

func (m useStateWhenEquivalent) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (m useStateWhenEquivalent) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.StateValue.IsNull() || req.StateValue.IsUnknown() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	if req.PlanValue.Equal(req.StateValue) {
		return
	}
	prior := m.fromString(req.StateValue)
	planned := m.fromString(req.PlanValue)
	equal, diags := prior.StringSemanticEquals(ctx, planned)
	resp.Diagnostics.Append(diags...)
	if equal && !diags.HasError() {
		resp.PlanValue = req.StateValue
	}
}
