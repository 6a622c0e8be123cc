// Package schedexpr reads EventBridge Scheduler's schedule expressions,
// at(), rate() and cron() with AWS's rules, and says when one fires next.
// The provider checks expressions with it at plan time, and the emulated
// Scheduler fires by it, so the two never disagree on what is valid.
package schedexpr

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expression is a parsed schedule expression: at(yyyy-mm-ddThh:mm:ss) for a
// one-time schedule, rate(value unit) or cron(fields) for a recurring one.
type Expression struct {
	text  string
	at    *civil        // at()
	every time.Duration // rate()
	cron  *cronSpec     // cron()
}

// civil is a wall-clock date and time, read in the schedule's time zone.
type civil struct {
	y           int
	m           time.Month
	d, h, mi, s int
}

var (
	atRE   = regexp.MustCompile(`^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$`)
	rateRE = regexp.MustCompile(`^rate\((\d+) ([a-z]+)\)$`)
)

// Parse reads a schedule expression, or says what is wrong with
// it. Rates follow AWS's rule for units: minute, hour or day for a value of
// 1, minutes, hours or days above it ("rate(1 hours)" and "rate(5 hour)"
// are invalid).
func Parse(text string) (Expression, error) {
	e := Expression{text: text}
	switch {
	case strings.HasPrefix(text, "at("):
		m := atRE.FindStringSubmatch(text)
		if m == nil {
			return e, errors.New("a one-time schedule is at(yyyy-mm-ddThh:mm:ss)")
		}
		n := make([]int, 6)
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		c := civil{y: n[0], m: time.Month(n[1]), d: n[2], h: n[3], mi: n[4], s: n[5]}
		if c.m < 1 || c.m > 12 || c.d < 1 || c.d > daysIn(c.y, c.m) || c.h > 23 || c.mi > 59 || c.s > 59 {
			return e, fmt.Errorf("%s is not a date and time", text)
		}
		e.at = &c
	case strings.HasPrefix(text, "rate("):
		m := rateRE.FindStringSubmatch(text)
		if m == nil {
			return e, errors.New("a rate is rate(value unit), e.g. rate(5 minutes)")
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v < 1 {
			return e, errors.New("a rate's value is a positive whole number")
		}
		unit := m[2]
		units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
		base := strings.TrimSuffix(unit, "s")
		d, ok := units[base]
		if !ok {
			return e, fmt.Errorf("a rate's unit is minute(s), hour(s) or day(s), not %q", unit)
		}
		if plural := unit != base; plural != (v > 1) {
			return e, fmt.Errorf("a rate of 1 takes the singular unit and any other value the plural: rate(1 %s) or rate(%d %ss)", base, max(v, 2), base)
		}
		e.every = time.Duration(v) * d
	case strings.HasPrefix(text, "cron(") && strings.HasSuffix(text, ")"):
		c, err := parseCron(text[len("cron(") : len(text)-1])
		if err != nil {
			return e, err
		}
		e.cron = c
	default:
		return e, errors.New("a schedule expression is at(...), rate(...) or cron(...)")
	}
	return e, nil
}

// String is the expression as written.
func (e Expression) String() string { return e.text }

// OneTime reports whether the expression is at(): the schedule fires once.
func (e Expression) OneTime() bool { return e.at != nil }

// Timing is when a schedule fires: its expression, the time zone it is read
// in, and its start and end dates (zero for none), which one-time schedules
// ignore, as AWS does.
type Timing struct {
	Expr Expression
	Loc  *time.Location
	// Start and End bound a recurring schedule: it fires on or after Start
	// and before End.
	Start, End time.Time
	// Anchor is a rate's first occurrence when Start is zero: the time the
	// schedule was created or last updated, as a rate without a StartDate
	// "starts invoking the target immediately".
	Anchor time.Time
}

// Next is the first time the schedule fires strictly after `after`, and
// false when it never fires again. Rates are elapsed time (a day is 24
// hours, whatever the clocks do); cron and at() are wall-clock times in Loc.
// A cron time that does not exist on a day clocks go forward is skipped, and
// one that happens twice when they go back fires once, as EventBridge
// Scheduler documents for daylight saving time.
func (t Timing) Next(after time.Time) (time.Time, bool) {
	loc := t.Loc
	if loc == nil {
		loc = time.UTC
	}
	e := t.Expr
	if e.at != nil {
		a := e.at
		at, ok := wallInstant(a.y, a.m, a.d, a.h, a.mi, a.s, loc)
		if !ok {
			// The wall time falls in a gap when clocks go forward: it
			// happens when the gap ends.
			at = time.Date(a.y, a.m, a.d, a.h, a.mi, a.s, 0, loc)
		}
		if at.After(after) {
			return at, true
		}
		return time.Time{}, false
	}
	var next time.Time
	switch {
	case e.every > 0:
		first := t.Start
		if first.IsZero() {
			first = t.Anchor
		}
		if after.Before(first) {
			next = first
		} else {
			k := after.Sub(first)/e.every + 1
			next = first.Add(k * e.every)
		}
	case e.cron != nil:
		from := after
		if !t.Start.IsZero() && t.Start.After(after) {
			from = t.Start.Add(-time.Nanosecond) // Start itself may fire
		}
		n, ok := e.cron.next(from, loc)
		if !ok {
			return time.Time{}, false
		}
		next = n
	default:
		return time.Time{}, false
	}
	if !t.End.IsZero() && !next.Before(t.End) {
		return time.Time{}, false
	}
	return next, true
}
