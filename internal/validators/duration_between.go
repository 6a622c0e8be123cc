package validators

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

type durationBetween struct{ min, max time.Duration }

// DurationBetween accepts a Go duration string ("1h", "90m", "1h30m")
// from min to max inclusive.
func DurationBetween(minimum, maximum time.Duration) validator.String {
	return durationBetween{min: minimum, max: maximum}
}

func (v durationBetween) Description(context.Context) string {
	return fmt.Sprintf("value must be a duration such as \"1h\" or \"45m\" from %s to %s", short(v.min), short(v.max))
}

func (v durationBetween) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationBetween) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	raw := req.ConfigValue.ValueString()
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%s = %q is not a duration: %s.", req.Path, raw, v.Description(ctx)))
	case d < v.min || d > v.max:
		resp.Diagnostics.AddAttributeError(req.Path, "Duration out of range",
			fmt.Sprintf("%s = %q is %s; the allowed range is %s to %s.", req.Path, raw, short(d), short(v.min), short(v.max)))
	}
}

// short prints 15m0s as 15m and 12h0m0s as 12h.
func short(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
			s = s[:len(s)-2]
		}
	}
	return s
}
