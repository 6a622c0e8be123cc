package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestURLWithScheme(t *testing.T) {
	cases := []struct {
		in      types.String
		wantErr bool
	}{
		{types.StringValue("http://127.0.0.1:4566"), false},
		{types.StringValue("https://lambda.us-east-1.amazonaws.com"), false},
		{types.StringValue("127.0.0.1:4566"), true},
		{types.StringValue("ftp://host"), true},
		{types.StringValue("http://"), true},
		{types.StringNull(), false},
		{types.StringUnknown(), false},
	}
	for _, c := range cases {
		resp := &validator.StringResponse{}
		URLWithScheme("http", "https").ValidateString(context.Background(), validator.StringRequest{Path: path.Root("endpoints").AtName("s3"), ConfigValue: c.in}, resp)
		if resp.Diagnostics.HasError() != c.wantErr {
			t.Errorf("%s: error = %v, want %v", c.in, resp.Diagnostics, c.wantErr)
		}
		if c.wantErr && !strings.Contains(resp.Diagnostics.Errors()[0].Detail(), c.in.ValueString()) {
			t.Errorf("%s: diagnostic does not name the value: %v", c.in, resp.Diagnostics)
		}
	}
}
