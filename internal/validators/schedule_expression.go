package validators

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/aqueduct/terraform-provider-aqueduct/internal/schedexpr"
)

type scheduleExpression struct{}

// ScheduleExpression accepts EventBridge Scheduler's schedule expressions,
// with AWS's rules (package schedexpr): at(yyyy-mm-ddThh:mm:ss),
// rate(N unit) and cron(minutes hours day-of-month month day-of-week year).
func ScheduleExpression() validator.String { return scheduleExpression{} }

func (scheduleExpression) Description(context.Context) string {
	return "value must be a schedule expression: at(yyyy-mm-ddThh:mm:ss), rate(N minutes|hours|days), " +
		"or cron(minutes hours day-of-month month day-of-week year) with one of the day fields ?, e.g. cron(0 6 * * ? *)"
}

func (v scheduleExpression) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v scheduleExpression) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := schedexpr.Parse(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule expression",
			fmt.Sprintf("%q: %s; %s.", req.ConfigValue.ValueString(), err, v.Description(ctx)))
	}
}
