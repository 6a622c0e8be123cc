package schedexpr

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// TestNextFireTime is the calendar of each expression kind: the first fire
// strictly after an instant, in the schedule's time zone, within its start
// and end dates. Calendar facts used: 1 January 2026 is a Thursday; New
// York's clocks go forward on 8 March 2026 at 02:00 and back on 1 November
// 2026 at 02:00.
func TestNextFireTime(t *testing.T) {
	ny := zone("America/New_York")
	cases := []struct {
		name       string
		expr       string
		loc        *time.Location
		start, end string // RFC 3339 or ""
		anchor     string
		after      string
		want       string // "" for never
	}{
		// rate(): elapsed time from StartDate, or from creation.
		{name: "rate before its anchor fires at the anchor", expr: "rate(5 minutes)", anchor: "2026-01-01T10:00:00Z", after: "2026-01-01T09:59:00Z", want: "2026-01-01T10:00:00Z"},
		{name: "rate from its anchor", expr: "rate(5 minutes)", anchor: "2026-01-01T10:00:00Z", after: "2026-01-01T10:00:00Z", want: "2026-01-01T10:05:00Z"},
		{name: "rate between occurrences", expr: "rate(5 minutes)", anchor: "2026-01-01T10:00:00Z", after: "2026-01-01T10:07:30Z", want: "2026-01-01T10:10:00Z"},
		{name: "rate of one hour", expr: "rate(1 hour)", anchor: "2026-01-01T10:20:00Z", after: "2026-01-01T12:00:00Z", want: "2026-01-01T12:20:00Z"},
		{name: "rate counts from StartDate", expr: "rate(2 hours)", start: "2026-01-01T00:30:00Z", anchor: "2026-01-01T00:00:00Z", after: "2026-01-01T01:00:00Z", want: "2026-01-01T02:30:00Z"},
		{name: "rate stops before EndDate", expr: "rate(1 hour)", anchor: "2026-01-01T10:00:00Z", end: "2026-01-01T12:00:00Z", after: "2026-01-01T11:00:00Z", want: ""},
		{name: "rate of a day is 24 hours across the DST change", expr: "rate(1 day)", loc: ny, anchor: "2026-03-07T17:00:00Z", after: "2026-03-07T17:00:00Z", want: "2026-03-08T17:00:00Z"},

		// cron(): wall-clock times in the time zone.
		{name: "daily at 10:00", expr: "cron(0 10 * * ? *)", after: "2026-01-01T10:00:00Z", want: "2026-01-02T10:00:00Z"},
		{name: "daily at 12:15", expr: "cron(15 12 * * ? *)", after: "2026-01-01T00:00:00Z", want: "2026-01-01T12:15:00Z"},
		{name: "every 15 minutes", expr: "cron(0/15 * * * ? *)", after: "2026-01-01T10:07:00Z", want: "2026-01-01T10:15:00Z"},
		{name: "step from an offset", expr: "cron(1/10 * * * ? *)", after: "2026-01-01T10:12:00Z", want: "2026-01-01T10:21:00Z"},
		{name: "range with a step", expr: "cron(0-15/5 8 ? * MON-FRI *)", after: "2026-01-02T08:15:00Z", want: "2026-01-05T08:00:00Z"},
		{name: "weekdays skip the weekend", expr: "cron(0 18 ? * MON-FRI *)", after: "2026-01-02T19:00:00Z", want: "2026-01-05T18:00:00Z"},
		{name: "numeric weekdays, Sunday is 1", expr: "cron(0 9 ? * 1 *)", after: "2026-01-01T00:00:00Z", want: "2026-01-04T09:00:00Z"},
		{name: "a range that wraps the week", expr: "cron(0 12 ? * FRI-MON *)", after: "2026-01-06T00:00:00Z", want: "2026-01-09T12:00:00Z"},
		{name: "lists and month names", expr: "cron(0 12 1 JAN,JUL ? *)", after: "2026-01-01T12:00:00Z", want: "2026-07-01T12:00:00Z"},
		{name: "first of the month", expr: "cron(0 8 1 * ? *)", after: "2026-01-15T00:00:00Z", want: "2026-02-01T08:00:00Z"},
		{name: "day 31 skips 30-day months", expr: "cron(0 0 31 * ? *)", after: "2026-04-01T00:00:00Z", want: "2026-05-31T00:00:00Z"},
		{name: "L is the last day of February", expr: "cron(0 0 L * ? *)", after: "2026-02-01T00:00:00Z", want: "2026-02-28T00:00:00Z"},
		{name: "L in a leap year", expr: "cron(0 0 L 2 ? *)", after: "2027-03-01T00:00:00Z", want: "2028-02-29T00:00:00Z"},
		{name: "29 February waits for a leap year", expr: "cron(0 0 29 2 ? *)", after: "2026-01-01T00:00:00Z", want: "2028-02-29T00:00:00Z"},
		{name: "2100 is not a leap year", expr: "cron(0 0 29 2 ? 2100-2104)", after: "2099-01-01T00:00:00Z", want: "2104-02-29T00:00:00Z"},
		{name: "15W on a Sunday is Monday the 16th", expr: "cron(0 9 15W * ? *)", after: "2026-02-01T00:00:00Z", want: "2026-02-16T09:00:00Z"},
		{name: "1W on a Saturday is Monday the 3rd", expr: "cron(0 9 1W * ? *)", after: "2026-07-31T00:00:00Z", want: "2026-08-03T09:00:00Z"},
		{name: "31W on a Sunday is Friday the 29th", expr: "cron(0 9 31W 5 ? *)", after: "2026-05-01T00:00:00Z", want: "2026-05-29T09:00:00Z"},
		{name: "LW is the last weekday", expr: "cron(0 9 LW * ? *)", after: "2026-01-01T00:00:00Z", want: "2026-01-30T09:00:00Z"},
		{name: "6#3 is the third Friday", expr: "cron(0 12 ? * 6#3 *)", after: "2026-01-01T00:00:00Z", want: "2026-01-16T12:00:00Z"},
		{name: "a fifth Monday skips months without one", expr: "cron(0 12 ? * MON#5 *)", after: "2026-01-01T00:00:00Z", want: "2026-03-30T12:00:00Z"},
		{name: "6L is the last Friday", expr: "cron(0 12 ? * 6L *)", after: "2026-01-01T00:00:00Z", want: "2026-01-30T12:00:00Z"},
		{name: "L alone in day-of-week is Saturday", expr: "cron(0 12 ? * L *)", after: "2026-01-01T00:00:00Z", want: "2026-01-03T12:00:00Z"},
		{name: "a year in the future", expr: "cron(0 0 1 1 ? 2027)", after: "2026-06-01T00:00:00Z", want: "2027-01-01T00:00:00Z"},
		{name: "a year in the past never fires", expr: "cron(0 0 1 1 ? 2025)", after: "2026-06-01T00:00:00Z", want: ""},
		{name: "cron fires on StartDate itself", expr: "cron(0 * * * ? *)", start: "2026-01-01T10:00:00Z", after: "2026-01-01T08:10:00Z", want: "2026-01-01T10:00:00Z"},
		{name: "cron stops before EndDate", expr: "cron(0 * * * ? *)", end: "2026-01-01T10:00:00Z", after: "2026-01-01T09:00:00Z", want: ""},
		{name: "a half-hour time zone", expr: "cron(0 0 * * ? *)", loc: zone("Asia/Kolkata"), after: "2026-01-01T00:00:00Z", want: "2026-01-01T18:30:00Z"},
		{name: "wall-clock time holds across spring forward", expr: "cron(0 9 * * ? *)", loc: ny, after: "2026-03-07T15:00:00Z", want: "2026-03-08T13:00:00Z"},
		{name: "a time in the skipped hour is skipped", expr: "cron(30 2 * * ? *)", loc: ny, after: "2026-03-07T12:00:00Z", want: "2026-03-09T06:30:00Z"},
		{name: "a time in the repeated hour fires first", expr: "cron(30 1 * * ? *)", loc: ny, after: "2026-10-31T12:00:00Z", want: "2026-11-01T05:30:00Z"},
		{name: "and does not repeat", expr: "cron(30 1 * * ? *)", loc: ny, after: "2026-11-01T05:30:00Z", want: "2026-11-02T06:30:00Z"},

		// at(): once, in the time zone; start and end do not apply.
		{name: "at in UTC", expr: "at(2026-07-01T09:30:00)", after: "2026-01-01T00:00:00Z", want: "2026-07-01T09:30:00Z"},
		{name: "at in Berlin summer time", expr: "at(2026-07-01T09:30:00)", loc: zone("Europe/Berlin"), after: "2026-01-01T00:00:00Z", want: "2026-07-01T07:30:00Z"},
		{name: "at ignores StartDate and EndDate", expr: "at(2026-07-01T09:30:00)", start: "2026-08-01T00:00:00Z", end: "2026-02-01T00:00:00Z", after: "2026-01-01T00:00:00Z", want: "2026-07-01T09:30:00Z"},
		{name: "at fires once", expr: "at(2026-07-01T09:30:00)", after: "2026-07-01T09:30:00Z", want: ""},
		{name: "at on 29 February", expr: "at(2028-02-29T23:59:59)", after: "2028-01-01T00:00:00Z", want: "2028-02-29T23:59:59Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := Parse(c.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.expr, err)
			}
			tm := Timing{Expr: e, Loc: c.loc}
			if c.start != "" {
				tm.Start = utc(c.start)
			}
			if c.end != "" {
				tm.End = utc(c.end)
			}
			if c.anchor != "" {
				tm.Anchor = utc(c.anchor)
			}
			got, ok := tm.Next(utc(c.after))
			switch {
			case c.want == "" && ok:
				t.Errorf("%s after %s = %s, want never", c.expr, c.after, got.UTC().Format(time.RFC3339))
			case c.want != "" && !ok:
				t.Errorf("%s after %s = never, want %s", c.expr, c.after, c.want)
			case c.want != "" && !got.Equal(utc(c.want)):
				t.Errorf("%s after %s = %s, want %s", c.expr, c.after, got.UTC().Format(time.RFC3339), c.want)
			}
		})
	}
}

// TestParseExpressionRejects: what AWS's rules forbid, each with a reason.
func TestParseExpressionRejects(t *testing.T) {
	for _, bad := range []string{
		"rate(1 hours)", "rate(5 hour)", "rate(0 minutes)", "rate(5 seconds)", "rate(five minutes)", "rate(5  minutes)", "rate(-1 minutes)",
		"cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * *)", "cron(60 10 * * ? *)", "cron(0 24 * * ? *)",
		"cron(0 10 32 * ? *)", "cron(0 10 ? * 8 *)", "cron(0 10 ? * 3#1,6#3 *)", "cron(0 10 ? * 3#6 *)", "cron(0 0 1 13 ? *)",
		"cron(0 0 1 1 ? 1969)", "cron(0 0 1 FOO ? *)", "cron(0/0 * * * ? *)", "cron(0 0 32W * ? *)",
		"at(2026-02-30T00:00:00)", "at(2026-01-01 00:00:00)", "at(2026-01-01T24:00:00)", "every day", "",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
	for _, good := range []string{
		"rate(1 minute)", "rate(1 day)", "rate(15 minutes)", "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", "cron(30-30 13-13 ? * 2,4,6 *)",
		"cron(1-31/30 1-1 ? * 1,7 *)", "cron(0 10 * * ? *)", "cron(0 12 ? * mon-fri *)", "at(2030-12-31T23:59:59)",
	} {
		if _, err := Parse(good); err != nil {
			t.Errorf("Parse(%q): %v", good, err)
		}
	}
}
