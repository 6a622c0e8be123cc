package memorytype

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func TestMemory_semanticEqualsComparesMB(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		a, b Memory
		want bool
	}{
		{NewMemoryValue("1GB"), NewMemoryValue("1024MB"), true},
		{NewMemoryValue("1GB"), NewMemoryValue("1024"), true},
		{NewMemoryValue("1024mb"), NewMemoryMB(1024), true},
		{NewMemoryValue("1.5GB"), NewMemoryValue("1536"), true},
		{NewMemoryValue(" 2 gb"), NewMemoryValue("2GB"), true},
		{NewMemoryValue("1GB"), NewMemoryValue("1025MB"), false},
		{NewMemoryValue("abc"), NewMemoryValue("abc"), true},
		{NewMemoryValue("abc"), NewMemoryValue("1GB"), false},
		{NewMemoryNull(), NewMemoryNull(), true},
		{NewMemoryNull(), NewMemoryValue("1GB"), false},
		{NewMemoryUnknown(), NewMemoryValue("1GB"), false},
	} {
		got, diags := tc.a.StringSemanticEquals(ctx, tc.b)
		if diags.HasError() || got != tc.want {
			t.Errorf("%s ≈ %s = %v, %v; want %v", tc.a, tc.b, got, diags, tc.want)
		}
	}

	_, diags := NewMemoryValue("1GB").StringSemanticEquals(ctx, basetypes.NewStringValue("1GB"))
	if !diags.HasError() {
		t.Error("comparing with a plain string gave no error diagnostic")
	}
}

func TestMemory_validateAttributeAtPath(t *testing.T) {
	p := path.Root("memory")
	for in, want := range map[string]string{
		"1536":  "",
		"2GB":   "",
		"1.5gb": "",
		"16GB":  `memory "16GB" is 16384 MB; AWS Lambda allows 128 to 10240 MB`,
		"64MB":  `memory "64MB" is 64 MB; AWS Lambda allows 128 to 10240 MB`,
		"abc":   `memory "abc" is not a size`,
		"0MB":   `memory "0MB" is zero`,
		"-1GB":  `memory "-1GB" is negative`,
		"10 TB": `memory "10 TB" has unit "TB", which is not MB or GB`,
		"1.1MB": `memory "1.1MB" is 1.1 MB, not a whole number of MB`,
	} {
		var resp xattr.ValidateAttributeResponse
		NewMemoryValue(in).ValidateAttribute(context.Background(), xattr.ValidateAttributeRequest{Path: p}, &resp)
		if want == "" {
			if resp.Diagnostics.HasError() {
				t.Errorf("%q: unexpected diagnostics %v", in, resp.Diagnostics)
			}
			continue
		}
		if resp.Diagnostics.ErrorsCount() != 1 {
			t.Errorf("%q: got %d errors; want 1", in, resp.Diagnostics.ErrorsCount())
			continue
		}
		d := resp.Diagnostics.Errors()[0]
		withPath, ok := d.(interface{ Path() path.Path })
		if !ok || !withPath.Path().Equal(p) {
			t.Errorf("%q: diagnostic is not on path %s: %v", in, p, d)
		}
		if !strings.Contains(d.Detail(), want) {
			t.Errorf("%q: detail %q; want it to contain %q", in, d.Detail(), want)
		}
	}

	for _, v := range []Memory{NewMemoryNull(), NewMemoryUnknown()} {
		var resp xattr.ValidateAttributeResponse
		v.ValidateAttribute(context.Background(), xattr.ValidateAttributeRequest{Path: p}, &resp)
		if resp.Diagnostics.HasError() {
			t.Errorf("%s: null and unknown must not be validated, got %v", v, resp.Diagnostics)
		}
	}
}

func TestMemoryType_valueFromTerraformRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, in := range []tftypes.Value{
		tftypes.NewValue(tftypes.String, "2GB"),
		tftypes.NewValue(tftypes.String, nil),
		tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
	} {
		v, err := MemoryType{}.ValueFromTerraform(ctx, in)
		if err != nil {
			t.Fatalf("ValueFromTerraform(%s): %v", in, err)
		}
		m, ok := v.(Memory)
		if !ok {
			t.Fatalf("ValueFromTerraform(%s) = %T; want Memory", in, v)
		}
		back, err := m.ToTerraformValue(ctx)
		if err != nil || !back.Equal(in) {
			t.Errorf("round trip of %s = %s, %v", in, back, err)
		}
		if !m.Type(ctx).Equal(MemoryType{}) {
			t.Errorf("Type() = %s; want MemoryType", m.Type(ctx))
		}
	}
	if _, err := (MemoryType{}).ValueFromTerraform(ctx, tftypes.NewValue(tftypes.Number, 1)); err == nil {
		t.Error("a number value was accepted; Terraform converts numbers to strings before the provider sees them")
	}
	if (MemoryType{}).Equal(basetypes.StringType{}) {
		t.Error("MemoryType equals StringType")
	}
}

func TestMemory_MB(t *testing.T) {
	if mb, d := NewMemoryValue("1.5GB").MB(); mb != 1536 || d.HasError() {
		t.Errorf("MB() = %d, %v; want 1536", mb, d)
	}
	for _, v := range []Memory{NewMemoryNull(), NewMemoryUnknown(), NewMemoryValue("abc")} {
		if _, d := v.MB(); !d.HasError() {
			t.Errorf("%s.MB() gave no error", v)
		}
	}
}

func TestUseStateForSameSize_keepsPriorSpellingOnlyForSameSize(t *testing.T) {
	s := basetypes.NewStringValue
	for _, tc := range []struct {
		state, config basetypes.StringValue
		want          string
	}{
		{s("1024MB"), s("1GB"), "1024MB"},
		{s("1024"), s("1GB"), "1024"},
		{s("1024"), s("2GB"), "2GB"},
		{s("abc"), s("abc"), "abc"},
		{basetypes.NewStringNull(), s("1GB"), "1GB"}, // create
	} {
		req := planmodifier.StringRequest{StateValue: tc.state, ConfigValue: tc.config, PlanValue: tc.config}
		resp := planmodifier.StringResponse{PlanValue: req.PlanValue}
		UseStateForSameSize().PlanModifyString(context.Background(), req, &resp)
		if got := resp.PlanValue.ValueString(); got != tc.want {
			t.Errorf("state %s, config %s: planned %q; want %q", tc.state, tc.config, got, tc.want)
		}
	}
}
