package validators

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type functionReference struct{}

// FunctionReference accepts "module:callable" with Python dotted names.
func FunctionReference() validator.String { return functionReference{} }

var functionRefRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

func (functionReference) Description(context.Context) string {
	return `value must be "module:callable", e.g. "train:main" or "pkg.model:fit", with Python identifiers on both sides`
}

func (v functionReference) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v functionReference) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if !functionRefRE.MatchString(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid function reference",
			fmt.Sprintf("%q: %s.", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}
