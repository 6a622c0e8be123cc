package validators

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type retired struct{ summary, detail string }

// Retired refuses any value of an attribute kept only to say what replaced
// it: a configuration that still sets it fails at plan time with detail.
func Retired(summary, detail string) validator.String { return retired{summary, detail} }

func (v retired) Description(context.Context) string             { return v.detail }
func (v retired) MarkdownDescription(ctx context.Context) string { return v.detail }

func (v retired) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() {
		return
	}
	resp.Diagnostics.AddAttributeError(req.Path, v.summary, v.detail)
}
