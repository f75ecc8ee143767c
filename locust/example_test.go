package locust_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/user"
)

// Counter records a custom sample per task and stops the whole test after
// five of them.
type Counter struct {
	user.Base
	n int
}

func (c *Counter) Count(ctx context.Context) error {
	c.n++
	user.Record(c.Env(), "custom", "count", time.Millisecond, 10, nil)
	if c.n == 5 {
		return user.ErrStopTest
	}
	return nil
}

// Run is Main without the process: flags and environment in, exit code
// out. Here one user records five samples and then stops the test.
func ExampleRun() {
	class := user.Class[Counter]{
		Tasks: user.Tasks(user.Task(1, (*Counter).Count)),
	}
	var tables discard
	code := locust.Run(context.Background(), []string{"--headless", "-u", "1", "-t", "1m", "--json", "-L", "ERROR"},
		nil, &tables, &tables, class)
	fmt.Println("exit code:", code)
	// The JSON went to the discarded stdout; tables to the discarded stderr.
	// Output:
	// exit code: 0
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Main turns a program into Locust's command line: run it with
// --headless -u 10 -r 2 -t 1m -H http://127.0.0.1:8080, or with no flags
// for the web UI on http://127.0.0.1:8089.
func ExampleMain() {
	if len(os.Args) > 1 && os.Args[1] == "--example-main" { // never true under go test
		locust.Main(user.Class[Counter]{
			Weight: 1,
			Wait:   user.Between(time.Second, 3*time.Second),
			Tasks:  user.Tasks(user.Task(1, (*Counter).Count)),
		})
	}
}

// DefaultConfig is where a hand-built Config starts; Validate names every
// problem with the flag a user would fix.
func ExampleConfig_Validate() {
	cfg := locust.DefaultConfig()
	cfg.Users = -1
	cfg.Host = "127.0.0.1:8080"
	fmt.Println(cfg.Validate())
	// Output:
	// -u/--users is -1: want a whole number from 0 to 10000000
	// -H/--host is "127.0.0.1:8080": want a base URL starting with http:// or https://, such as http://127.0.0.1:8080
}

// ParseTimespan reads -t values as Locust does.
func ExampleParseTimespan() {
	for _, s := range []string{"20", "3m", "1h20m", "1.5s"} {
		d, _ := locust.ParseTimespan(s)
		fmt.Println(s, "=", d)
	}
	// Output:
	// 20 = 20s
	// 3m = 3m0s
	// 1h20m = 1h20m0s
	// 1.5s = 1.5s
}

// Config.Load.Shapes offers named shapes in the web form's "Shape class"
// select (with the class picker on): each test started from the form runs
// the shape chosen for it, or, with "Default", the configured load.
func ExampleLoadConfig_shapes() {
	cfg := locust.DefaultConfig()
	cfg.Web.ClassPicker = true
	cfg.Load.Shapes = map[string]runner.Shape{
		"ramp":  runner.Stages{{Duration: time.Minute, Users: 50}, {Duration: time.Minute, Users: 0}},
		"spike": runner.Stages{{Duration: 10 * time.Second, Users: 200, SpawnRate: 100}},
	}
	fmt.Println(cfg.Validate())
	cfg.Load.Shapes["Default"] = runner.Stages{}
	fmt.Println(cfg.Validate())
	// Output:
	// <nil>
	// Config.Load.Shapes: "Default" is the form's name for no choice: name the shape otherwise
}
