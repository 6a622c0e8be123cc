package stringmodifier

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// caseless is a test string type whose values are equal ignoring case.
type caseless struct{ basetypes.StringValue }

func (c caseless) StringSemanticEquals(_ context.Context, o basetypes.StringValuable) (bool, diag.Diagnostics) {
	other, _ := o.ToStringValue(context.Background())
	return strings.EqualFold(c.ValueString(), other.ValueString()), nil
}

func TestUseStateWhenEquivalent(t *testing.T) {
	m := UseStateWhenEquivalent(func(s basetypes.StringValue) basetypes.StringValuableWithSemanticEquals { return caseless{s} })
	cases := []struct {
		state, plan, want types.String
	}{
		{types.StringValue("1GB"), types.StringValue("1gb"), types.StringValue("1GB")}, // equivalent: keep state
		{types.StringValue("1GB"), types.StringValue("2GB"), types.StringValue("2GB")}, // different: plan
		{types.StringNull(), types.StringValue("1GB"), types.StringValue("1GB")},       // create
		{types.StringValue("1GB"), types.StringUnknown(), types.StringUnknown()},       // unknown stays unknown
	}
	for _, c := range cases {
		resp := &planmodifier.StringResponse{PlanValue: c.plan}
		m.PlanModifyString(context.Background(), planmodifier.StringRequest{StateValue: c.state, PlanValue: c.plan}, resp)
		if !resp.PlanValue.Equal(c.want) {
			t.Errorf("state %s, plan %s: planned %s, want %s", c.state, c.plan, resp.PlanValue, c.want)
		}
	}
}
