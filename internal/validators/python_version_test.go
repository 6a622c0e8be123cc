package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestPythonVersion(t *testing.T) {
	cases := []struct {
		value        types.String
		errs, warns  int
		wantInDetail string
	}{
		{value: types.StringValue("3.12")},
		{value: types.StringValue("3.14")},
		{value: types.StringNull()},
		{value: types.StringUnknown()},
		{value: types.StringValue("3.9"), warns: 1, wantInDetail: "2025-12-15"},
		{value: types.StringValue("3.11"), warns: 1, wantInDetail: "2026-06-30"},
		{value: types.StringValue("3.8"), errs: 1, wantInDetail: "3.12, 3.13, 3.14"},
		{value: types.StringValue("2.7"), errs: 1, wantInDetail: `"2.7"`},
		{value: types.StringValue("3.15"), errs: 1, wantInDetail: "3.9, 3.10, 3.11, 3.12, 3.13, 3.14"},
	}
	for _, c := range cases {
		req := validator.StringRequest{Path: path.Root("python_version"), ConfigValue: c.value}
		var resp validator.StringResponse
		PythonVersion().ValidateString(context.Background(), req, &resp)
		if got := resp.Diagnostics.ErrorsCount(); got != c.errs {
			t.Errorf("%s: %d errors, want %d: %v", c.value, got, c.errs, resp.Diagnostics)
		}
		if got := resp.Diagnostics.WarningsCount(); got != c.warns {
			t.Errorf("%s: %d warnings, want %d: %v", c.value, got, c.warns, resp.Diagnostics)
		}
		if c.wantInDetail != "" && (len(resp.Diagnostics) == 0 || !strings.Contains(resp.Diagnostics[0].Detail(), c.wantInDetail)) {
			t.Errorf("%s: diagnostics %v do not mention %q", c.value, resp.Diagnostics, c.wantInDetail)
		}
	}
}
