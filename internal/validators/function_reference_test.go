package validators

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestFunctionReference(t *testing.T) {
	cases := map[string]bool{
		"train:main": true, "pkg.model:fit": true, "m:Cls.method": true,
		"train": false, "train:": false, ":main": false, "1mod:f": false, "mod:f()": false, "a-b:c": false,
	}
	for in, ok := range cases {
		resp := &validator.StringResponse{}
		FunctionReference().ValidateString(context.Background(), validator.StringRequest{Path: path.Root("function"), ConfigValue: types.StringValue(in)}, resp)
		if resp.Diagnostics.HasError() == ok {
			t.Errorf("%q: accepted=%v, want %v (%v)", in, !resp.Diagnostics.HasError(), ok, resp.Diagnostics)
		}
	}
}
