// Package validators holds the provider's own attribute validators, one per
// file. Each skips null and unknown values: those are checked at apply.
package validators

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type urlWithScheme struct{ schemes []string }

// URLWithScheme accepts absolute URLs with one of the given schemes and a host.
func URLWithScheme(schemes ...string) validator.String { return urlWithScheme{schemes: schemes} }

func (v urlWithScheme) Description(context.Context) string {
	return fmt.Sprintf("value must be an absolute URL with scheme %s and a host", strings.Join(v.schemes, " or "))
}

func (v urlWithScheme) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v urlWithScheme) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	u, err := url.Parse(raw)
	ok := err == nil && u.Host != ""
	if ok {
		ok = false
		for _, s := range v.schemes {
			if u.Scheme == s {
				ok = true
			}
		}
	}
	if !ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid URL",
			fmt.Sprintf("%q is not a valid endpoint: %s, for example http://127.0.0.1:4566.", raw, v.Description(ctx)))
	}
}
