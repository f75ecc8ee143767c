// Command custom_arguments ports Locust's examples/add_command_line_argument.py:
// the scenario declares its own parameters, which the command line
// (--my-argument x), the environment (LOCUST_MY_ARGUMENT=x), locust.conf
// and the web form's "Custom parameters" set; every user reads them from
// its Env, and the test-start hook from its Environment.
//
//	go run ./examples/custom_arguments -H http://127.0.0.1:8080 --my-argument hello --env staging
//
// then open http://127.0.0.1:8089: the form shows my-argument, env (a
// drop-down), the password (masked), the flag and the count;
// my-ui-invisible-argument is for the command line only.
package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// The parameters, as Locust's parser.add_argument calls declare them.
var (
	myArgument = param.String("my-argument", "", "It's working")
	env        = param.String("env", "dev", "Environment", param.Choices("dev", "staging", "prod"))
	invisible  = param.String("my-ui-invisible-argument", "I am invisible", "Not shown in the web UI", param.Hidden())
	password   = param.String("my-ui-password-argument", "I am a secret", "Masked in the web UI", param.Secret())
	boolFlag   = param.Bool("my-bool-flag", false, "A flag")
	intArg     = param.Int("my-int-argument", 1, "Requests per task run")
)

var params = []param.Spec{myArgument, env, invisible, password, boolFlag, intArg}

// WebsiteUser sends the parameters to the target, so that a run shows
// which values its users saw.
type WebsiteUser struct{ user.HTTP }

// MyTask makes my-int-argument requests carrying the parameters.
func (u *WebsiteUser) MyTask(ctx context.Context) error {
	p := u.Env().Params
	q := url.Values{
		"arg":       {myArgument.Get(p)},
		"env":       {env.Get(p)},
		"flag":      {strconv.FormatBool(boolFlag.Get(p))},
		"invisible": {invisible.Get(p)},
	}
	for range intArg.Get(p) {
		if err := u.Get(ctx, "/echo?"+q.Encode(), user.Name("/echo"), user.Header("X-Secret", password.Get(p))).Err(); err != nil {
			return err
		}
	}
	return nil
}

var website = user.Class[WebsiteUser]{
	Wait:  user.Between(10*time.Millisecond, 50*time.Millisecond),
	Tasks: taskset.Weighted(taskset.Task[WebsiteUser]{Weight: 1, Run: (*WebsiteUser).MyTask}),
}

// config declares the parameters and the hook that reports them, as
// Locust's @events.test_start listener does.
func config() locust.Config {
	cfg := locust.DefaultConfig()
	cfg.Params = params
	cfg.Hooks.TestStart = func(ctx context.Context, e *locust.Environment) error {
		fmt.Printf("Custom argument supplied: %s (env %s, host %s)\n", myArgument.Get(e.Params()), env.Get(e.Params()), e.Host())
		return nil
	}
	return cfg
}

func main() { locust.MainWith(config(), website) }
