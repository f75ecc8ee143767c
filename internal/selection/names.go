package selection

import (
	"fmt"
	"slices"
	"strings"
)

// Names reads a list of names (class names, tags) as people write it:
// each entry may hold several names separated by commas or white space
// ("a,b", "a b", " a "). Empty names and repeats are dropped; the order of
// first appearance is kept. It returns nil when no name is left.
func Names(entries []string) []string {
	var out []string
	for _, e := range entries {
		for _, n := range strings.FieldsFunc(e, isSeparator) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

func isSeparator(r rune) bool {
	return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
}

// UnknownClassError is a class name that names no class.
type UnknownClassError struct {
	Name string
	// Suggestion is the known name closest to Name, "" when none is close.
	Suggestion string
	// Known are the names that exist, sorted.
	Known []string
}

func (e *UnknownClassError) Error() string {
	msg := fmt.Sprintf("unknown user class %q", e.Name)
	if e.Suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggestion)
	}
	return msg + ": choose from " + strings.Join(e.Known, ", ")
}

// Classes reads the class names asked for and checks each against the
// known ones. An entry that is a known name as it stands (trimmed) is that
// name, even with a space or comma in it; any other entry is read as Names
// reads it ("A,B" and "A B" are two names). It returns the asked names in
// the order asked, each once; nil when none was asked (all classes run). An
// unknown name is an *UnknownClassError that suggests the closest known
// name.
func Classes(known, asked []string) ([]string, error) {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, e := range asked {
		if t := strings.TrimSpace(e); slices.Contains(known, t) {
			add(t)
			continue
		}
		for _, n := range Names([]string{e}) {
			if !slices.Contains(known, n) {
				sorted := slices.Sorted(slices.Values(known))
				return nil, &UnknownClassError{Name: n, Suggestion: closest(n, sorted), Known: sorted}
			}
			add(n)
		}
	}
	return names, nil
}

// closest returns the known name nearest to name when it is near enough
// to be a slip (the same but for case, or a few edits for its length).
func closest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := EditDistance(strings.ToLower(name), strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD < 0 || bestD > max(1, len([]rune(name))/3) {
		return ""
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in runes: the
// measure of every "did you mean" (class names here, flags in locust).
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
