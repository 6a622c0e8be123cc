package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// table is the one table the program prints: sections, each saying what
// its figures measure, with figures and their targets. Figures go into
// their section as they are measured, so a run that stops early still
// prints what it measured.
type table struct {
	title    []string
	sections []*section
	// problems are what did not work (a wrong count); they fail the run
	// once the table is printed.
	problems []string
}

type section struct {
	t       *table
	heading string
	rows    []row
}

type row struct{ figure, value, target, met string }

// section adds a section; its rows print under heading, in the order the
// sections were added.
func (t *table) section(format string, args ...any) *section {
	s := &section{t: t, heading: fmt.Sprintf(format, args...)}
	t.sections = append(t.sections, s)
	return s
}

// add records a figure without a target.
func (s *section) add(figure, value string) {
	s.rows = append(s.rows, row{figure: figure, value: value})
}

// check records a figure with its target and whether it met it.
func (s *section) check(figure, value, target string, met bool) {
	m := "no"
	if met {
		m = "yes"
	}
	s.rows = append(s.rows, row{figure, value, target, m})
}

// count records a count with the value it must have; a wrong count is a
// problem, not a missed target.
func (s *section) count(figure string, got, want int) {
	s.check(figure, fmt.Sprint(got), fmt.Sprint(want), got == want)
	if got != want {
		s.t.problems = append(s.t.problems, fmt.Sprintf("%s: %d, want %d", strings.TrimSpace(figure), got, want))
	}
}

// countPair records the run's own count of invocations (its invoked
// attribute) and the emulator's, which must both be want.
func (s *section) countPair(figure string, invoked, emulator, want int) {
	s.check(figure, fmt.Sprintf("%d / %d", invoked, emulator), fmt.Sprintf("%d / %d", want, want), invoked == want && emulator == want)
	if invoked != want || emulator != want {
		s.t.problems = append(s.t.problems, fmt.Sprintf("%s: invoked %d, emulator %d, want %d", strings.TrimSpace(figure), invoked, emulator, want))
	}
}

func (t *table) print(w io.Writer) {
	head := row{figure: "figure", value: "value", target: "target", met: "met"}
	width := [3]int{len(head.figure), len(head.value), len(head.target)}
	for _, s := range t.sections {
		for _, r := range s.rows {
			width[0] = max(width[0], len(r.figure)+2)
			width[1] = max(width[1], len(r.value))
			width[2] = max(width[2], len(r.target))
		}
	}
	line := func(a, b, c, d string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-*s  %-*s  %-*s  %s", width[0], a, width[1], b, width[2], c, d), " "))
	}
	for _, l := range t.title {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	line(head.figure, head.value, head.target, head.met)
	line(strings.Repeat("-", width[0]), strings.Repeat("-", width[1]), strings.Repeat("-", width[2]), "---")
	for _, s := range t.sections {
		if len(s.rows) == 0 {
			continue
		}
		fmt.Fprintln(w, s.heading)
		for _, r := range s.rows {
			line("  "+r.figure, r.value, r.target, r.met)
		}
	}
}

// secs formats a duration as seconds with two decimals.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func msecs(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
