package validators

import (
	"strings"
	"testing"
)

func TestCheckSchedule(t *testing.T) {
	good := []string{"cron(0 6 * * ? *)", "cron(0/15 * ? * MON-FRI *)", "cron(30 2 1 * ? 2027)", "rate(1 hour)", "rate(5 minutes)"}
	bad := map[string]string{
		"0 6 * * *":          "not a cron",
		"cron(0 6 * * *)":    "6 fields",
		"cron(61 6 * * ? *)": "outside 0 to 59",
		"cron(0 6 * * * *)":  "must be ?",
		"cron(0 25 ? * * *)": "outside 0 to 23",
		"rate(0 minutes)":    "at least 1",
		"rate(1 minutes)":    "use \"minute\"",
		"rate(5 weeks)":      "not a cron",
		"cron(0 6 ? * $ *)":  "characters",
	}
	for _, s := range good {
		if msg := checkSchedule(s); msg != "" {
			t.Errorf("%q rejected: %s", s, msg)
		}
	}
	for s, want := range bad {
		msg := checkSchedule(s)
		if msg == "" || !strings.Contains(msg, want) {
			t.Errorf("%q: message %q, want one containing %q", s, msg, want)
		}
	}
}
