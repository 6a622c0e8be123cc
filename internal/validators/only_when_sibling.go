package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type onlyWhenSibling struct{ sibling, want, def string }

// OnlyWhenSibling accepts a value only when the sibling attribute of the
// same object (sibling) is want; def is the sibling's value when it is
// unset. Lambda's log levels, for example, apply to the JSON log format
// only: OnlyWhenSibling("log_format", "JSON", "Text").
func OnlyWhenSibling(sibling, want, def string) validator.String {
	return onlyWhenSibling{sibling: sibling, want: want, def: def}
}

func (v onlyWhenSibling) Description(context.Context) string {
	return fmt.Sprintf("may be set only when %s is %q", v.sibling, v.want)
}

func (v onlyWhenSibling) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v onlyWhenSibling) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var sib types.String
	at := req.Path.ParentPath().AtName(v.sibling)
	if d := req.Config.GetAttribute(ctx, at, &sib); d.HasError() || sib.IsUnknown() {
		return
	}
	got := v.def
	if !sib.IsNull() {
		got = sib.ValueString()
	}
	if got != v.want {
		resp.Diagnostics.AddAttributeError(req.Path, "Setting not allowed with this "+v.sibling,
			fmt.Sprintf("%s = %q is set, but %s is %q: it may be set only when %s is %q. Set %s = %q, or remove %s.",
				req.Path, req.ConfigValue.ValueString(), at, got, v.sibling, v.want, v.sibling, v.want, req.Path))
	}
}
