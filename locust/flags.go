package locust

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
)

// UsageError is a problem with the command line or the LOCUST_*
// environment: Main prints it on one line and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// errHelp is returned when -h or --help was asked for.
var errHelp = errors.New("help requested")

// flagDef is one Locust flag: its long and optional short name, where it
// stores its value and which environment variables can set it.
type flagDef struct {
	long, short string
	group       string
	usage       string
	value       flag.Value
	// env lists extra environment variables besides LOCUST_<LONG_NAME>,
	// for the few flags whose Locust variable is named otherwise.
	env []string
	// secret keeps the value out of errors (a secret custom parameter):
	// a mistyped secret is close to the real one.
	secret bool
}

// shown quotes a value for an error about d, or masks it when d is secret.
func (d flagDef) shown(v string) string {
	if d.secret {
		return "(secret)"
	}
	return strconv.Quote(v)
}

// name returns how errors name the flag: "-u/--users" or "--csv".
func (d flagDef) name() string {
	if d.short != "" {
		return "-" + d.short + "/--" + d.long
	}
	return "--" + d.long
}

// envNames returns the variables that set d, the canonical one first.
func (d flagDef) envNames() []string {
	canonical := "LOCUST_" + strings.ToUpper(strings.ReplaceAll(d.long, "-", "_"))
	return append([]string{canonical}, d.env...)
}

// flagAreas lists the functions that declare the flags of each part of
// the program; each part keeps its flags beside its code.
var flagAreas = []func(*Config) []flagDef{coreFlags, webFlags, reportFlags, healthFlags, clusterFlags, loadFlags, otelFlags, baselineFlags}

func coreFlags(c *Config) []flagDef {
	return []flagDef{
		{long: "users", short: "u", group: "Load", usage: "peak number of concurrent users", value: &intValue{p: &c.Users, min: 0, max: maxUsers, want: "a whole number of users"}},
		{long: "user-limit", group: "Load", usage: "refuse a run asking for more users than this, from -u, the web UI or a shape (default 100000)", value: &intValue{p: &c.UserLimit, min: 0, max: maxUsers, want: "a whole number of users"}},
		{long: "spawn-rate", short: "r", group: "Load", usage: "users started (or stopped) per second", value: &rateValue{p: &c.SpawnRate}},
		{long: "run-time", short: "t", group: "Load", usage: "stop after this long, e.g. 20s, 3m, 1h20m (headless or autostart)", value: &spanValue{p: &c.RunTime}},
		{long: "host", short: "H", group: "Load", usage: "base URL of the target, e.g. http://127.0.0.1:8080", value: &stringValue{p: &c.Host}},
		{long: "stop-timeout", short: "s", group: "Load", usage: "let running tasks finish for up to this long when stopping", value: &spanValue{p: &c.StopTimeout}},
		{long: "tags", short: "T", group: "Load", usage: "run only tasks with any of these tags (comma-separated, repeatable)", value: &listValue{p: &c.Tags}},
		{long: "exclude-tags", short: "E", group: "Load", usage: "skip tasks with any of these tags (comma-separated, repeatable)", value: &listValue{p: &c.ExcludeTags}},
		{long: "reset-stats", group: "Load", usage: "reset statistics once spawning completes", value: &boolValue{p: &c.ResetStats}},
		{long: "headless", group: "Mode", usage: "run without the web UI and start at once", value: &boolValue{p: &c.Headless}},
		{long: "headful", group: "Mode", usage: "keep the web UI even if a config file or LOCUST_HEADLESS says --headless", value: &boolValue{p: &c.headful}},
		{long: "autostart", group: "Mode", usage: "start at once and keep the web UI", value: &boolValue{p: &c.Autostart}},
		{long: "autoquit", group: "Mode", usage: "with --autostart: quit this long after the run ends (seconds or a span, e.g. 10 or 1m)", value: &autoquitValue{on: &c.Autoquit, after: &c.AutoquitAfter}},
		{long: "config", group: "Mode", usage: "read flags from this file too, after ~/.locust.conf and ./locust.conf (key = value, keys are long flag names)", value: &stringValue{p: &c.ConfigFile}},
		{long: "list", short: "l", group: "Mode", usage: "list the user classes and exit", value: &boolValue{p: &c.List}},
		{long: "csv", group: "Output", usage: "write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, PREFIX_exceptions.csv", value: &stringValue{p: &c.CSVPrefix}},
		{long: "csv-full-history", group: "Output", usage: "write a history row for every name, not only Aggregated", value: &boolValue{p: &c.CSVFullHistory}},
		{long: "json", group: "Output", usage: "print the final statistics as JSON on stdout", value: &boolValue{p: &c.JSON}},
		{long: "print-stats", group: "Output", usage: "print the stats table every 2 s in web UI runs too", value: &boolValue{p: &c.PrintStats}},
		{long: "only-summary", group: "Output", usage: "print only the final summary, no periodic table", value: &boolValue{p: &c.OnlySummary}},
		{long: "exit-code-on-error", group: "Output", usage: "exit code when a request failed or a task panicked", value: &intValue{p: &c.ExitCodeOnError, min: 0, max: 255, want: "an exit code", zero: ExitZeroOnError}},
		{long: "loglevel", short: "L", group: "Output", usage: "DEBUG, INFO, WARNING, ERROR or CRITICAL", value: &stringValue{p: &c.LogLevel, read: readLevel}},
		{long: "logfile", group: "Output", usage: "write the log to this file instead of stderr", value: &stringValue{p: &c.LogFile}},
	}
}

// parseCommandLine fills c from args (flags with one or two dashes, user
// class names between them), then from the environment for every flag the
// command line left alone, then from the config files for every flag
// neither set (configfile.go).
func parseCommandLine(c *Config, args []string, lookupEnv func(string) (string, bool)) ([]flagDef, error) {
	var defs []flagDef
	for _, area := range flagAreas {
		defs = append(defs, area(c)...)
	}
	defs = append(defs, paramFlags(c)...) // the scenario's own (params.go)
	fs := flag.NewFlagSet("locust", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	byName := map[string]flagDef{}
	for _, d := range defs {
		fs.Var(d.value, d.long, d.usage)
		byName[d.long] = d
		if d.short != "" {
			fs.Var(d.value, d.short, d.usage)
			byName[d.short] = d
		}
	}
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return defs, errHelp
			}
			return defs, &UsageError{Msg: explainFlagError(err, byName, rest)}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		// Locust takes user classes anywhere on the line; Go's flag
		// package stops at the first one, so take it and go on.
		if rest[0] != "--" {
			c.Classes = append(c.Classes, rest[0])
		}
		rest = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[byName[f.Name].long] = true })
	files, err := c.readConfigFiles(byName, lookupEnv)
	if err != nil {
		return defs, &UsageError{Msg: err.Error()}
	}
	for _, d := range defs {
		if set[d.long] {
			continue
		}
		fromEnv := false
		for _, env := range d.envNames() {
			v, ok := lookupEnv(env)
			if !ok {
				continue
			}
			if err := d.value.Set(v); err != nil {
				return defs, &UsageError{Msg: fmt.Sprintf("invalid value %s in %s for %s: %v", d.shown(v), env, d.name(), err)}
			}
			fromEnv = true
			break
		}
		if e, ok := files[d.long]; ok && !fromEnv {
			for _, v := range e.values {
				if err := d.value.Set(v); err != nil {
					return defs, &UsageError{Msg: fmt.Sprintf("invalid value %s in %s for %s: %v", d.shown(v), e.where, d.name(), err)}
				}
			}
		}
	}
	if c.headful {
		c.Headless = false
	}
	if len(c.Classes) == 0 {
		if v, ok := lookupEnv("LOCUST_USER_CLASSES"); ok {
			c.Classes = selection.Names([]string{v})
		}
	}
	return defs, nil
}

var (
	invalidValueRE = regexp.MustCompile(`(?s)^invalid (?:boolean )?value "(.*)" for flag -([^:]+): (.*)$`)
	undefinedRE    = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
	needsArgRE     = regexp.MustCompile(`^flag needs an argument: -(.+)$`)
)

// explainFlagError rewrites the flag package's messages so that they name
// both spellings of the flag and say what to do; args are the arguments
// being parsed, to echo an unknown flag as it was typed.
func explainFlagError(err error, byName map[string]flagDef, args []string) string {
	msg := err.Error()
	if m := invalidValueRE.FindStringSubmatch(msg); m != nil {
		if d, ok := byName[m[2]]; ok {
			v, err := strconv.Unquote(`"` + m[1] + `"`) // the flag package quoted it
			if err != nil {
				v = m[1]
			}
			return fmt.Sprintf("invalid value %s for %s: %s", d.shown(v), d.name(), m[3])
		}
	}
	if m := needsArgRE.FindStringSubmatch(msg); m != nil {
		if d, ok := byName[m[1]]; ok {
			return fmt.Sprintf("%s needs a value: %s", d.name(), d.usage)
		}
	}
	if m := undefinedRE.FindStringSubmatch(msg); m != nil {
		typed := typedFlag(m[1], args)
		if m[1] == "f" || m[1] == "locustfile" {
			return fmt.Sprintf("%s: a golocust scenario is a Go program, so this program is the locustfile: run it without %s (go run . or the built binary, with the other flags)", typed, typed)
		}
		if best := closestFlag(m[1], byName); best != "" {
			return fmt.Sprintf("unknown flag %s: did you mean %s? (-h lists every flag)", typed, best)
		}
		return fmt.Sprintf("unknown flag %s (-h lists every flag)", typed)
	}
	return msg + " (-h lists every flag)"
}

// typedFlag returns name with the dashes it was typed with in args ("-x"
// or "--xyz"); the flag package reports every flag with one dash.
func typedFlag(name string, args []string) string {
	for _, a := range args {
		for _, dashes := range []string{"--", "-"} {
			if a == dashes+name || strings.HasPrefix(a, dashes+name+"=") {
				return dashes + name
			}
		}
	}
	if len(name) > 1 {
		return "--" + name
	}
	return "-" + name
}

// closestFlag suggests the flag nearest to a mistyped one, as Locust's
// "Did you mean" does.
func closestFlag(typed string, byName map[string]flagDef) string {
	typed = strings.TrimLeft(typed, "-")
	best, bestDist := "", 3
	for name, d := range byName {
		if dist := selection.EditDistance(typed, name); dist < bestDist {
			best, bestDist = d.name(), dist
		}
	}
	return best
}

// writeUsage prints the flags grouped, each with its short and long name
// and its environment variable.
func writeUsage(w io.Writer, defs []flagDef) {
	fmt.Fprintf(w, "Usage: %s [flags] [UserClass ...]\n\nFlags take one or two dashes; every flag can also be set as LOCUST_<NAME>, or as\n\"name = value\" in ~/.locust.conf, ./locust.conf or the --config file (the command line wins, then\nthe environment, then --config, ./locust.conf, ~/.locust.conf).\n", programName())
	groups := map[string][]flagDef{}
	var order []string
	for _, d := range defs {
		if _, ok := groups[d.group]; !ok {
			order = append(order, d.group)
		}
		groups[d.group] = append(groups[d.group], d)
	}
	for _, g := range order {
		fmt.Fprintf(w, "\n%s:\n", g)
		ds := groups[g]
		for _, d := range ds {
			names := "    --" + d.long
			if d.short != "" {
				names = "-" + d.short + ", --" + d.long
			}
			def := ""
			if s := d.value.String(); s != "" && s != "false" && s != "0" {
				def = fmt.Sprintf(" (default %s)", s)
			}
			fmt.Fprintf(w, "  %-30s %s%s [%s]\n", names, d.usage, def, d.envNames()[0])
		}
	}
	fmt.Fprintf(w, "\nExit codes: 0 ok; --exit-code-on-error (default 1) when requests failed or tasks panicked; 2 usage error; 3 a threshold was breached or an endpoint regressed against --baseline/--compare; 4 an output file (--csv, --html, --json-file) could not be written.\n")
}

type intValue struct {
	p        *int
	min, max int
	want     string
	zero     int // stored for an input of 0 when the field's zero means its default
}

func (v *intValue) String() string {
	if v.p == nil {
		return ""
	}
	if v.zero != 0 && *v.p == v.zero {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < int64(v.min) || n > int64(v.max) {
		return fmt.Errorf("want %s from %d to %d", v.want, v.min, v.max)
	}
	if n == 0 && v.zero != 0 {
		n = int64(v.zero)
	}
	*v.p = int(n)
	return nil
}

// autoquitValue is --autoquit N: it turns Autoquit on and sets the delay.
type autoquitValue struct {
	on    *bool
	after *time.Duration
}

func (v *autoquitValue) String() string {
	if v.on == nil || !*v.on {
		return ""
	}
	return v.after.String()
}

func (v *autoquitValue) Set(s string) error {
	if err := (&spanValue{p: v.after}).Set(s); err != nil {
		return err
	}
	*v.on = true
	return nil
}

type rateValue struct{ p *float64 }

func (v *rateValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *rateValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || bounds.SpawnRate(f) != nil {
		return fmt.Errorf("want a number %s, such as 10 or 0.5", bounds.SpawnRateRange)
	}
	*v.p = f
	return nil
}

type spanValue struct{ p *time.Duration }

func (v *spanValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return v.p.String()
}

func (v *spanValue) Set(s string) error {
	d, err := ParseTimespan(s)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// stringValue is a string flag; read, when set, checks and normalises it.
type stringValue struct {
	p    *string
	read func(string) (string, error)
}

func (v *stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v *stringValue) Set(s string) error {
	if v.read != nil {
		r, err := v.read(s)
		if err != nil {
			return err
		}
		s = r
	}
	*v.p = s
	return nil
}

type boolValue struct{ p *bool }

func (v *boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "on":
		*v.p = true
	case "0", "f", "false", "no", "off", "":
		*v.p = false
	default:
		return fmt.Errorf("want true or false")
	}
	return nil
}

func (v *boolValue) IsBoolFlag() bool { return true }

// listValue collects a repeatable list flag. Each value may hold several
// items separated by sep (by commas and spaces when sep is ""); items are
// trimmed, empty ones dropped, and check, when set, refuses a bad one.
type listValue struct {
	p     *[]string
	sep   string
	check func(item string) error
}

func (v *listValue) String() string {
	if v.p == nil {
		return ""
	}
	if v.sep != "" {
		return strings.Join(*v.p, v.sep+" ")
	}
	return strings.Join(*v.p, ",")
}

func (v *listValue) Set(s string) error {
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	if v.sep != "" {
		items = strings.Split(s, v.sep)
	}
	for _, item := range items {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if v.check != nil {
			if err := v.check(item); err != nil {
				return err
			}
		}
		*v.p = append(*v.p, item)
	}
	return nil
}

// readLevel reads --loglevel: a level name, upper case.
func readLevel(s string) (string, error) {
	if _, err := parseLevel(s); err != nil {
		return "", fmt.Errorf("want DEBUG, INFO, WARNING, ERROR or CRITICAL")
	}
	return strings.ToUpper(strings.TrimSpace(s)), nil
}
