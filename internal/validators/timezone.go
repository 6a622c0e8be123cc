package validators

import (
	"context"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names check the same on a machine without zoneinfo

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type timezone struct{}

// Timezone accepts IANA time zone names, such as Europe/Paris or UTC, as
// EventBridge Scheduler's ScheduleExpressionTimezone takes them.
func Timezone() validator.String { return timezone{} }

func (timezone) Description(context.Context) string {
	return "value must be an IANA time zone name, such as UTC, Europe/Paris or America/New_York"
}

func (v timezone) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v timezone) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	name := req.ConfigValue.ValueString()
	// LoadLocation also takes "Local" and file-system paths; Scheduler does not.
	if _, err := time.LoadLocation(name); err != nil || name == "" || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid time zone", fmt.Sprintf("%q is not a time zone: %s.", name, v.Description(ctx)))
	}
}
