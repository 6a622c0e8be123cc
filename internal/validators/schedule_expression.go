package validators

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type scheduleExpression struct{}

// ScheduleExpression accepts EventBridge schedule expressions:
// cron(minutes hours day-of-month month day-of-week year) and rate(N unit).
func ScheduleExpression() validator.String { return scheduleExpression{} }

func (scheduleExpression) Description(context.Context) string {
	return "value must be an EventBridge schedule expression: cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 6 * * ? *), or rate(N minutes|hours|days)"
}

func (v scheduleExpression) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

var (
	rateRE = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE = regexp.MustCompile(`^cron\(([^)]*)\)$`)
	// Each cron field: numbers, names, ranges, lists, steps and the wildcards AWS allows.
	cronFieldRE = regexp.MustCompile(`^(\*|\?|L|W|#|[0-9A-Za-z,\-/#LW])+$`)
)

// cronBounds are the numeric limits of the six fields.
var cronBounds = [6][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {1, 7}, {1970, 2199}}

var cronNames = [6]string{"minutes", "hours", "day-of-month", "month", "day-of-week", "year"}

func (v scheduleExpression) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := checkSchedule(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule expression",
			fmt.Sprintf("%q: %s; %s.", req.ConfigValue.ValueString(), msg, v.Description(ctx)))
	}
}

func checkSchedule(s string) string {
	if m := rateRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n < 1 {
			return "a rate must be at least 1"
		}
		if (n == 1) != !strings.HasSuffix(m[2], "s") {
			return fmt.Sprintf("use %q for a value of 1 and the plural otherwise", strings.TrimSuffix(m[2], "s"))
		}
		return ""
	}
	m := cronRE.FindStringSubmatch(s)
	if m == nil {
		return "not a cron(...) or rate(...) expression"
	}
	fields := strings.Fields(m[1])
	if len(fields) != 6 {
		return fmt.Sprintf("cron takes 6 fields, got %d", len(fields))
	}
	for i, f := range fields {
		if !cronFieldRE.MatchString(f) {
			return fmt.Sprintf("field %s %q has characters cron does not allow", cronNames[i], f)
		}
		for _, num := range regexp.MustCompile(`\d+`).FindAllString(f, -1) {
			n, _ := strconv.Atoi(num)
			lo, hi := cronBounds[i][0], cronBounds[i][1]
			if strings.Contains(f, "/") && strings.HasSuffix(f, "/"+num) {
				continue // a step, not a value
			}
			if n < lo || n > hi {
				return fmt.Sprintf("field %s value %d is outside %d to %d", cronNames[i], n, lo, hi)
			}
		}
	}
	if fields[2] != "?" && fields[4] != "?" {
		return "one of day-of-month and day-of-week must be ?"
	}
	return ""
}
