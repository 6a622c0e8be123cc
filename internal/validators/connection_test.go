package validators

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func runString(v validator.String, value types.String) string {
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("x"), ConfigValue: value}, resp)
	if !resp.Diagnostics.HasError() {
		return ""
	}
	return resp.Diagnostics[0].Detail()
}

func TestARN(t *testing.T) {
	v := ARN("iam", "role")
	for _, ok := range []string{"arn:aws:iam::123456789012:role/deploy", "arn:aws:iam::123456789012:role/ci/deploy", "arn:aws-us-gov:iam::123456789012:role/x"} {
		if d := runString(v, types.StringValue(ok)); d != "" {
			t.Errorf("%s: %s", ok, d)
		}
	}
	for _, bad := range []string{"deploy", "arn:aws:iam::12345:role/x", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:role/"} {
		d := runString(v, types.StringValue(bad))
		if !strings.Contains(d, bad) || !strings.Contains(d, "arn:aws:iam::ACCOUNT_ID:role/NAME") {
			t.Errorf("%s: diagnostic %q does not name the value and the form", bad, d)
		}
	}
	if runString(v, types.StringNull()) != "" || runString(v, types.StringUnknown()) != "" {
		t.Error("null or unknown must pass")
	}
	if d := runString(ARN("iam", "policy"), types.StringValue("arn:aws:iam::aws:policy/ReadOnlyAccess")); d != "" {
		t.Errorf("AWS managed policy: %s", d)
	}
}

func TestDurationBetween(t *testing.T) {
	v := DurationBetween(15*time.Minute, 12*time.Hour)
	for _, ok := range []string{"15m", "1h", "12h", "1h30m"} {
		if d := runString(v, types.StringValue(ok)); d != "" {
			t.Errorf("%s: %s", ok, d)
		}
	}
	for in, want := range map[string]string{
		"14m":  `"14m" is 14m; the allowed range is 15m to 12h.`,
		"13h":  `"13h" is 13h; the allowed range is 15m to 12h.`,
		"3600": `"3600" is not a duration`,
	} {
		if d := runString(v, types.StringValue(in)); !strings.Contains(d, want) {
			t.Errorf("%s: %q, want %q", in, d, want)
		}
	}
}
