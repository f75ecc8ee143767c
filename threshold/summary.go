package threshold

import (
	"fmt"
	"io"
	"strings"
	"unicode"
)

// WriteSummary prints every result with its measured value and verdict,
// then a count, for the console at the end of a run:
//
//	Thresholds:
//	  PASS  p95<300ms              p95 = 212.5ms
//	  FAIL  "GET /item:p99<500ms"  p99 of "GET /item" = 812ms (must be < 500ms)
//	1 of 2 thresholds held, 1 breached
//
// It prints nothing for no results. Control characters in expressions are
// escaped so that a name cannot rewrite the terminal.
func WriteSummary(w io.Writer, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	width := 0
	exprs := make([]string, len(rs))
	for i, r := range rs {
		exprs[i] = printable(r.Expr)
		if n := len([]rune(exprs[i])); n > width {
			width = n
		}
	}
	if width > 60 {
		width = 60
	}
	var b strings.Builder
	b.WriteString("Thresholds:\n")
	failed := 0
	for i, r := range rs {
		verdict := "PASS"
		if !r.Passed {
			verdict = "FAIL"
			failed++
		}
		pad := width - len([]rune(exprs[i]))
		if pad < 0 {
			pad = 0
		}
		fmt.Fprintf(&b, "  %s  %s%s  ", verdict, exprs[i], strings.Repeat(" ", pad))
		name := printable(r.Name())
		switch {
		case r.Missing:
			b.WriteString("not measured: " + printable(r.Message))
		case r.Passed:
			fmt.Fprintf(&b, "%s = %s", name, r.MeasuredText())
		default:
			fmt.Fprintf(&b, "%s = %s (must be %s %s)", name, r.MeasuredText(), r.Op, r.BoundText())
		}
		b.WriteByte('\n')
	}
	// Not "N passed, N failed": CI systems read that shape as a test
	// runner's closing line.
	fmt.Fprintf(&b, "%d of %d thresholds held, %d breached\n", len(rs)-failed, len(rs), failed)
	_, err := io.WriteString(w, b.String())
	return err
}

// printable escapes control and other non-printable characters.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := fmt.Sprintf("%+q", s)
	return q[1 : len(q)-1]
}
