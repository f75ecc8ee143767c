package locust

import (
	"time"

	"github.com/golocust/golocust/internal/timespan"
)

// MaxTimespan is the longest span ParseTimespan, the span flags, their
// LOCUST_* variables, --stages, --steps and the web form accept: 8760h
// (365 days).
const MaxTimespan = timespan.Max

// ParseTimespan reads a time span the way Locust's -t/--run-time does:
// a bare number of seconds ("20") or a sequence of whole numbers with the
// units h, m and s in that order ("20s", "3m", "1h20m", "3h30m10s").
// Go duration strings ("1.5s", "250ms") are accepted too, since Go users
// write them by habit. Negative spans and spans longer than MaxTimespan
// are refused with an error that names MaxTimespan. The command line, the
// environment and the web UI all parse spans with this one function.
func ParseTimespan(s string) (time.Duration, error) { return timespan.Parse(s) }
