package validators

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestTagLimits(t *testing.T) {
	many := map[string]string{}
	for i := 0; i < 51; i++ {
		many[fmt.Sprintf("k%02d", i)] = "v"
	}
	cases := []struct {
		name string
		in   map[string]string
		want []string // each must appear in one error
	}{
		{"valid", map[string]string{"team": "ml", "empty": ""}, nil},
		{"long key", map[string]string{strings.Repeat("k", 129): "v"}, []string{"129 characters", "1 to 128"}},
		{"long value", map[string]string{"team": strings.Repeat("v", 257)}, []string{`"team"`, "257 characters", "0 to 256"}},
		{"aws prefix", map[string]string{"AWS:cost": "x"}, []string{`"AWS:cost"`, "AWS reserves"}},
		{"internal prefix", map[string]string{"aqueduct:engine": "x"}, []string{`"aqueduct:engine"`, "provider reserves"}},
		{"count", many, []string{"51 tags", "allows 50"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			elems := map[string]attr.Value{}
			for k, v := range c.in {
				elems[k] = types.StringValue(v)
			}
			m, _ := types.MapValue(types.StringType, elems)
			resp := &validator.MapResponse{}
			TagLimits().ValidateMap(context.Background(), validator.MapRequest{Path: path.Root("tags"), ConfigValue: m}, resp)
			if got := resp.Diagnostics.ErrorsCount(); (got > 0) != (len(c.want) > 0) {
				t.Fatalf("errors = %v, want %v", resp.Diagnostics, c.want)
			}
			for _, w := range c.want {
				found := false
				for _, d := range resp.Diagnostics.Errors() {
					found = found || strings.Contains(d.Detail(), w)
				}
				if !found {
					t.Errorf("no error says %q: %v", w, resp.Diagnostics)
				}
			}
		})
	}
}

func TestTagLimitsSkipsUnknown(t *testing.T) {
	m, _ := types.MapValue(types.StringType, map[string]attr.Value{"team": types.StringUnknown()})
	resp := &validator.MapResponse{}
	TagLimits().ValidateMap(context.Background(), validator.MapRequest{Path: path.Root("tags"), ConfigValue: m}, resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	resp = &validator.MapResponse{}
	TagLimits().ValidateMap(context.Background(), validator.MapRequest{Path: path.Root("tags"), ConfigValue: types.MapUnknown(types.StringType)}, resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
}
