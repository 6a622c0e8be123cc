package validators

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type jsonValue struct{}

// JSONValue accepts a string that holds one JSON value. Map elements of a
// custom JSON type are not validated by the framework, so maps use this.
func JSONValue() validator.String { return jsonValue{} }

func (jsonValue) Description(context.Context) string {
	return "value must be JSON; write it with jsonencode(...)"
}

func (v jsonValue) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v jsonValue) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var x any
	if err := json.Unmarshal([]byte(req.ConfigValue.ValueString()), &x); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid JSON value",
			fmt.Sprintf("%q is not JSON (%s); %s.", req.ConfigValue.ValueString(), err, v.Description(ctx)))
	}
}
