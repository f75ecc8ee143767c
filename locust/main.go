package locust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/user"
)

// Exit codes of Main, besides Config.ExitCodeOnError.
const (
	ExitOK    = 0
	ExitUsage = 2
	// ExitOutput: an output file (--csv, --html, --json-file) could not
	// be written, and the run had no other failure to report. The file
	// from an earlier run, if any, is left whole.
	ExitOutput = 4
)

// Main runs the command line with the given user classes and exits the
// process with the run's exit code. Call it from your program's main:
//
//	func main() { locust.Main(shopperClass, adminClass) }
//
// SIGINT or SIGTERM stops the run gracefully (within --stop-timeout),
// writes its outputs and exits with the run's code; a second signal exits
// at once.
func Main(classes ...user.Spawner) { MainWith(DefaultConfig(), classes...) }

// MainWith is Main starting from base instead of DefaultConfig, for what
// only code can set (a load Shape, OnTestStart/OnTestStop hooks) and for
// defaults of your own; flags and LOCUST_* variables still override it.
// Build base from DefaultConfig:
//
//	cfg := locust.DefaultConfig()
//	cfg.Load.Shape = myShape
//	locust.MainWith(cfg, shopperClass)
func MainWith(base Config, classes ...user.Spawner) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal has cancelled ctx, a second one must end
		// the process even if a task ignores every context.
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "second signal: exiting at once")
		os.Exit(130)
	}()
	os.Exit(RunWith(ctx, base, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr, classes...))
}

// Run is Main without the process around it: it parses args and the
// environment (through lookupEnv), runs until ctx ends or the run does,
// and returns the exit code. Tests and embedding programs call it directly.
func Run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer, classes ...user.Spawner) int {
	return RunWith(ctx, DefaultConfig(), args, lookupEnv, stdout, stderr, classes...)
}

// RunWith is Run starting from base instead of DefaultConfig (see
// MainWith).
func RunWith(ctx context.Context, base Config, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer, classes ...user.Spawner) int {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	cfg := base
	cfg.Stdout, cfg.Stderr = stdout, stderr
	defs, err := parseCommandLine(&cfg, args, lookupEnv)
	if errors.Is(err, errHelp) {
		writeUsage(stdout, defs)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitUsage
	}
	if cfg.Baseline.compareOld != "" {
		return runCompare(&cfg, stdout, stderr)
	}
	if cfg.List {
		listClasses(stdout, classes)
		return ExitOK
	}
	if cfg.Web.hashPassword {
		return hashPassword(stdin, stdout, stderr)
	}
	res, err := execute(ctx, &cfg, classes)
	if err != nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return ExitUsage
		}
		fmt.Fprintf(stderr, "error: %v\n", err)
		var oe *outputError
		if errors.As(err, &oe) && (res == nil || res.ExitCode == ExitOK) {
			return ExitOutput // CI must not show green with the artefacts missing
		}
		if res == nil {
			return 1
		}
	}
	return res.ExitCode
}

func listClasses(w io.Writer, classes []user.Spawner) {
	names := make([]string, 0, len(classes))
	for _, c := range classes {
		names = append(names, c.ClassName())
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Available Users:")
	for _, n := range names {
		fmt.Fprintf(w, "    %s\n", n)
	}
}

// selectClasses keeps the classes named in cfg.Classes (all when empty)
// and applies the tag filters, refusing unknown names, classes without a
// name of their own and classes left with no tasks.
func selectClasses(cfg *Config, classes []user.Spawner, log *zap.Logger) ([]user.Spawner, error) {
	if len(classes) == 0 {
		return nil, &UsageError{Msg: "no user classes: pass at least one user.Class to locust.Main"}
	}
	byName := map[string]user.Spawner{}
	names := make([]string, 0, len(classes))
	for _, c := range classes {
		if _, dup := byName[c.ClassName()]; dup {
			return nil, &UsageError{Msg: fmt.Sprintf("two user classes are named %q: give each class a distinct Name", c.ClassName())}
		}
		byName[c.ClassName()] = c
		names = append(names, c.ClassName())
	}
	asked, err := selection.Classes(names, cfg.Classes)
	if err != nil {
		return nil, &UsageError{Msg: err.Error() + " (-l lists them)"}
	}
	picked := classes
	if asked != nil {
		picked = make([]user.Spawner, len(asked))
		for i, n := range asked {
			picked[i] = byName[n]
		}
	}
	for _, c := range picked {
		// A class's own HTTP base URL is checked as -H is; another target
		// (grpc://…, dns:///svc:443, host:port) is for the class's own
		// client (user.GRPC) to read.
		if h := strings.ToLower(c.ClassHost()); !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
			continue
		}
		if _, err := selection.Host(c.ClassHost()); err != nil {
			return nil, &UsageError{Msg: fmt.Sprintf("user class %s: Host is %v", c.ClassName(), err)}
		}
	}
	kept, dropped, err := selection.Tags(picked, cfg.Tags, cfg.ExcludeTags)
	if err != nil {
		return nil, &UsageError{Msg: "-T/--tags, -E/--exclude-tags: " + err.Error()}
	}
	if len(dropped) > 0 {
		log.Warn("user classes had no tasks left after filtering by tags and are not run", zap.Strings("classes", dropped))
	}
	for _, c := range kept {
		if w, ok := c.(user.Warner); ok {
			for _, msg := range w.ClassWarnings() {
				log.Warn(msg)
			}
		}
	}
	return kept, nil
}
