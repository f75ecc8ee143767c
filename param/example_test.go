package param_test

import (
	"fmt"
	"time"

	"github.com/golocust/golocust/param"
)

// A scenario declares its parameters once and lists them in
// locust.Config.Params; users read the run's values from Env.Params.
func Example() {
	pause := param.Duration("pause", 100*time.Millisecond, "wait between requests")
	env := param.String("env", "dev", "target environment", param.Choices("dev", "staging", "prod"))

	// What --env staging on the command line (or the web form) gives the users:
	values := param.NewValues(map[string]string{"env": "staging"})
	fmt.Println(env.Get(values), pause.Get(values))
	fmt.Println(env.Check("qa"))
	// Output:
	// staging 100ms
	// want one of dev, staging, prod
}
