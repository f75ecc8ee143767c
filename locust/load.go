package locust

// LoadConfig configures load models beyond a fixed number of closed-loop
// users.
type LoadConfig struct{}

func loadFlags(c *Config) []flagDef { return nil }

func (l *LoadConfig) validate() []error { return nil }
