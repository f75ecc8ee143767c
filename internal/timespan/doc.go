// Package timespan parses the time spans that golocust reads from people:
// -t/--run-time and the other span flags, their LOCUST_* variables, the
// durations of --stages and --steps, and the web form's run_time. One
// grammar and one maximum serve them all, so that a span accepted in one
// place is accepted everywhere.
//
// The grammar is Locust's, widened to what Go users write by habit:
//
//	20            a bare whole number is seconds
//	20s 3m 2h     a number and a unit
//	1h20m 3h30m10s  parts with units in decreasing size, each at most once
//	1.5s 250ms    fractions and the units ms, us (µs) and ns, as Go durations
//
// Signs, spaces between parts, repeated or out-of-order units and spans
// longer than Max are refused with an error that says what was wrong and
// names Max. Every accepted span d satisfies 0 <= d <= Max, and
// Parse(d.String()) gives d back.
package timespan
