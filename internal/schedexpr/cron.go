package schedexpr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a parsed AWS cron expression: six fields, minutes hours
// day-of-month month day-of-week year, as the EventBridge cron reference
// documents them:
//
//	Minutes       0-59              , - * /
//	Hours         0-23              , - * /
//	Day-of-month  1-31              , - * ? / L W
//	Month         1-12 or JAN-DEC   , - * /
//	Day-of-week   1-7 or SUN-SAT    , - * ? L #
//	Year          1970-2199         , - * /
//
// One of the two day fields must be ? and the other not. L in the
// day-of-month is the month's last day, nW the weekday nearest day n (not
// leaving the month), LW the last weekday; in the day-of-week, L alone is
// Saturday (7), dL the month's last day d, d#n its n-th day d. A # stands
// alone in its field ("3#1,6#3" is two expressions and invalid).
type cronSpec struct {
	minutes, hours, months set
	years                  map[int]bool
	anyDOM, anyDOW         bool // the field is ?
	dom                    domSpec
	dow                    dowSpec
}

// set holds the values a field allows, as bits.
type set uint64

func (s set) has(v int) bool { return s&(1<<uint(v)) != 0 }

type domSpec struct {
	days      set  // plain days 1-31
	last      bool // L
	lastWeek  bool // LW
	nearestTo []int
}

type dowSpec struct {
	days    set   // plain days 1-7, Sunday = 1
	lastOf  []int // dL: the last weekday d of the month
	nth     [2]int
	hasNth  bool
	lastSat bool // L alone
}

// field bounds and names.
type bounds struct {
	name     string
	min, max int
	names    []string // names[0] is value min
}

var (
	minuteBounds = bounds{name: "minutes", min: 0, max: 59}
	hourBounds   = bounds{name: "hours", min: 0, max: 23}
	domBounds    = bounds{name: "day-of-month", min: 1, max: 31}
	monthBounds  = bounds{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	dowBounds    = bounds{name: "day-of-week", min: 1, max: 7, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	yearBounds   = bounds{name: "year", min: 1970, max: 2199}
)

func parseCron(fields string) (*cronSpec, error) {
	f := strings.Fields(fields)
	if len(f) != 6 {
		return nil, fmt.Errorf("a cron expression has six fields (minutes hours day-of-month month day-of-week year), not %d", len(f))
	}
	c := &cronSpec{}
	var err error
	if c.minutes, err = parseSet(f[0], minuteBounds); err != nil {
		return nil, err
	}
	if c.hours, err = parseSet(f[1], hourBounds); err != nil {
		return nil, err
	}
	if c.months, err = parseSet(f[3], monthBounds); err != nil {
		return nil, err
	}
	years, err := parseYears(f[5])
	if err != nil {
		return nil, err
	}
	c.years = years
	c.anyDOM, c.anyDOW = f[2] == "?", f[4] == "?"
	if c.anyDOM == c.anyDOW {
		return nil, fmt.Errorf("exactly one of day-of-month (%q) and day-of-week (%q) must be ?", f[2], f[4])
	}
	if !c.anyDOM {
		if c.dom, err = parseDOM(f[2]); err != nil {
			return nil, err
		}
	}
	if !c.anyDOW {
		if c.dow, err = parseDOW(f[4]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseSet reads a field of values, names, ranges (wrapping past the end,
// as FRI-MON), steps (a/n, a-b/n, */n) and lists.
func parseSet(field string, b bounds) (set, error) {
	var s set
	for _, part := range strings.Split(field, ",") {
		if part == "" {
			return 0, fmt.Errorf("%s field %q has an empty list item", b.name, field)
		}
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s field %q: step %q is not a positive number", b.name, field, stepText)
			}
			step = n
		}
		var lo, hi int
		switch {
		case rng == "*":
			lo, hi = b.min, b.max
		case strings.Contains(rng, "-"):
			a, z, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = b.value(a); err != nil {
				return 0, err
			}
			if hi, err = b.value(z); err != nil {
				return 0, err
			}
		default:
			v, err := b.value(rng)
			if err != nil {
				return 0, err
			}
			lo, hi = v, v
			if hasStep {
				hi = b.max // a/n: from a to the end, every n
			}
		}
		span := hi - lo
		if span < 0 {
			span += b.max - b.min + 1 // a range that wraps, as FRI-MON
		}
		for i := 0; i <= span; i += step {
			v := lo + i
			if v > b.max {
				v -= b.max - b.min + 1
			}
			s |= 1 << uint(v)
		}
	}
	return s, nil
}

func (b bounds) value(text string) (int, error) {
	for i, n := range b.names {
		if strings.EqualFold(text, n) {
			return b.min + i, nil
		}
	}
	v, err := strconv.Atoi(text)
	if err != nil || v < b.min || v > b.max {
		if len(b.names) > 0 {
			return 0, fmt.Errorf("%s value %q is not %d-%d or %s-%s", b.name, text, b.min, b.max, b.names[0], b.names[len(b.names)-1])
		}
		return 0, fmt.Errorf("%s value %q is not %d-%d", b.name, text, b.min, b.max)
	}
	return v, nil
}

func parseYears(field string) (map[int]bool, error) {
	years := map[int]bool{}
	for _, part := range strings.Split(field, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("year field %q: step %q is not a positive number", field, stepText)
			}
			step = n
		}
		lo, hi := yearBounds.min, yearBounds.max
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, z, _ := strings.Cut(rng, "-")
			var err error
			if lo, err = yearBounds.value(a); err != nil {
				return nil, err
			}
			if hi, err = yearBounds.value(z); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, fmt.Errorf("year range %q runs backwards", rng)
			}
		default:
			v, err := yearBounds.value(rng)
			if err != nil {
				return nil, err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		for y := lo; y <= hi; y += step {
			years[y] = true
		}
	}
	return years, nil
}

func parseDOM(field string) (domSpec, error) {
	var d domSpec
	var plain []string
	for _, part := range strings.Split(field, ",") {
		switch {
		case strings.EqualFold(part, "L"):
			d.last = true
		case strings.EqualFold(part, "LW"):
			d.lastWeek = true
		case len(part) > 1 && (part[len(part)-1] == 'W' || part[len(part)-1] == 'w'):
			v, err := domBounds.value(part[:len(part)-1])
			if err != nil {
				return d, fmt.Errorf("day-of-month %q: W follows a single day 1-31", part)
			}
			d.nearestTo = append(d.nearestTo, v)
		default:
			plain = append(plain, part)
		}
	}
	if len(plain) > 0 {
		s, err := parseSet(strings.Join(plain, ","), domBounds)
		if err != nil {
			return d, err
		}
		d.days = s
	}
	return d, nil
}

func parseDOW(field string) (dowSpec, error) {
	var d dowSpec
	if strings.Contains(field, "#") {
		if strings.Contains(field, ",") {
			return d, fmt.Errorf("day-of-week %q: a # expression stands alone in its field", field)
		}
		day, n, _ := strings.Cut(field, "#")
		v, err := dowBounds.value(day)
		if err != nil {
			return d, err
		}
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 || k > 5 {
			return d, fmt.Errorf("day-of-week %q: the number after # is 1-5", field)
		}
		d.nth, d.hasNth = [2]int{v, k}, true
		return d, nil
	}
	var plain []string
	for _, part := range strings.Split(field, ",") {
		switch {
		case strings.EqualFold(part, "L"):
			d.lastSat = true
		case len(part) > 1 && (part[len(part)-1] == 'L' || part[len(part)-1] == 'l'):
			v, err := dowBounds.value(part[:len(part)-1])
			if err != nil {
				return d, err
			}
			d.lastOf = append(d.lastOf, v)
		default:
			plain = append(plain, part)
		}
	}
	if len(plain) > 0 {
		s, err := parseSet(strings.Join(plain, ","), dowBounds)
		if err != nil {
			return d, err
		}
		d.days = s
	}
	return d, nil
}

// dayMatches reports whether the date y-m-d is a day the expression fires
// on (its month and year already match).
func (c *cronSpec) dayMatches(y int, m time.Month, day int) bool {
	last := daysIn(y, m)
	if !c.anyDOM {
		d := c.dom
		if d.days.has(day) || (d.last && day == last) {
			return true
		}
		if d.lastWeek && day == nearestWeekday(y, m, last) {
			return true
		}
		for _, n := range d.nearestTo {
			if n <= last && day == nearestWeekday(y, m, n) {
				return true
			}
		}
		return false
	}
	d := c.dow
	wd := int(time.Date(y, m, day, 12, 0, 0, 0, time.UTC).Weekday()) + 1 // Sunday = 1
	switch {
	case d.days.has(wd), d.lastSat && wd == 7:
		return true
	case d.hasNth:
		return wd == d.nth[0] && (day-1)/7+1 == d.nth[1]
	}
	for _, l := range d.lastOf {
		if wd == l && day+7 > last {
			return true
		}
	}
	return false
}

// nearestWeekday is the weekday nearest day n of the month, without leaving
// the month: Saturday the 1st moves to Monday the 3rd, Sunday the last day
// to Friday.
func nearestWeekday(y int, m time.Month, n int) int {
	last := daysIn(y, m)
	switch time.Date(y, m, n, 12, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// next is the first instant strictly after `after` whose wall-clock time in
// loc matches the expression. A wall time that does not exist (the hour
// skipped when clocks go forward) is skipped; one that exists twice (the
// hour repeated when they go back) fires once, at its first instant.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	local := after.In(loc)
	y, m, d := local.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC) // a calendar date, stepped in UTC
	for day.Year() <= yearBounds.max {
		y, m, d := day.Date()
		switch {
		case !c.years[y]:
			day = time.Date(y+1, 1, 1, 12, 0, 0, 0, time.UTC)
			continue
		case !c.months.has(int(m)):
			day = time.Date(y, m+1, 1, 12, 0, 0, 0, time.UTC)
			continue
		case !c.dayMatches(y, m, d):
			day = day.AddDate(0, 0, 1)
			continue
		}
		for h := 0; h < 24; h++ {
			if !c.hours.has(h) {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if !c.minutes.has(mi) {
					continue
				}
				if t, ok := wallInstant(y, m, d, h, mi, 0, loc); ok && t.After(after) {
					return t, true
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}

// wallInstant is the first instant whose wall-clock time in loc is the
// given one; false when the wall time does not exist there.
func wallInstant(y int, m time.Month, d, h, mi, s int, loc *time.Location) (time.Time, bool) {
	asUTC := time.Date(y, m, d, h, mi, s, 0, time.UTC)
	var best time.Time
	found := false
	// The instant lies within a day of the wall time read as UTC; the
	// offsets in force on either side cover a transition between them.
	for _, probe := range []time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := asUTC.Add(probe).In(loc).Zone()
		t := asUTC.Add(-time.Duration(off) * time.Second)
		lt := t.In(loc)
		ly, lm, ld := lt.Date()
		if ly == y && lm == m && ld == d && lt.Hour() == h && lt.Minute() == mi && lt.Second() == s {
			if !found || t.Before(best) {
				best, found = t, true
			}
		}
	}
	return best, found
}
