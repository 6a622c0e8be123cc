package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The validator names the attribute, the value and what is wrong with it;
// the grammar itself is schedexpr's, tested there.
func TestScheduleExpression(t *testing.T) {
	good := []string{"cron(0 6 * * ? *)", "cron(0/15 * ? * MON-FRI *)", "rate(1 hour)", "rate(5 minutes)", "at(2027-01-31T06:00:00)"}
	bad := map[string]string{
		"0 6 * * *":               "at(...), rate(...) or cron(...)",
		"cron(0 6 * * ? *":        "at(...), rate(...) or cron(...)",
		"rate(1 minutes)":         "singular",
		"at(2027-02-30T06:00:00)": "not a date",
	}
	check := func(s string) *validator.StringResponse {
		resp := &validator.StringResponse{}
		ScheduleExpression().ValidateString(context.Background(), validator.StringRequest{Path: path.Root("schedule_expression"), ConfigValue: types.StringValue(s)}, resp)
		return resp
	}
	for _, s := range good {
		if resp := check(s); resp.Diagnostics.HasError() {
			t.Errorf("%q rejected: %v", s, resp.Diagnostics)
		}
	}
	for s, want := range bad {
		resp := check(s)
		if !resp.Diagnostics.HasError() {
			t.Errorf("%q accepted", s)
			continue
		}
		d := resp.Diagnostics[0]
		if !strings.Contains(d.Detail(), want) || !strings.Contains(d.Detail(), `"`+s+`"`) {
			t.Errorf("%q: %q, want the value and %q", s, d.Detail(), want)
		}
	}
}
