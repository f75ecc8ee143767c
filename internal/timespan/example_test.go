package timespan_test

import (
	"fmt"

	"github.com/golocust/golocust/internal/timespan"
)

func ExampleParse() {
	for _, s := range []string{"90", "1h20m", "1.5s", "2700000h"} {
		d, err := timespan.Parse(s)
		fmt.Println(d, err)
	}
	// Output:
	// 1m30s <nil>
	// 1h20m0s <nil>
	// 1.5s <nil>
	// 0s "2700000h" is longer than the largest accepted span, 8760h (365 days)
}
