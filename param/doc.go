// Package param declares a scenario's custom parameters, Locust's
// init_command_line_parser arguments: typed values that the command line
// (--name value), LOCUST_NAME, config files and the web form set for a
// run, and that every user (Env.Params) and the test hooks read.
//
// Declare them once, as package variables, and list them in
// locust.Config.Params:
//
//	var (
//		pause  = param.Duration("pause", 100*time.Millisecond, "wait between a user's requests")
//		apiKey = param.String("api-key", "", "key sent in X-Api-Key", param.Secret())
//		mode   = param.String("mode", "browse", "what users do", param.Choices("browse", "buy"))
//	)
//
//	func (u *Shopper) Browse(ctx context.Context) error {
//		key := apiKey.Get(u.Env().Params)
//		...
//	}
//
// Values is immutable and safe to read from any goroutine; a run's values
// are fixed when the run starts (the web form may change them for the
// next run). The package imports nothing of golocust's.
package param
