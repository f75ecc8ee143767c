// Command manyusers measures the memory of many idle users: each user
// wakes every second (user.Constant(time.Second)) and records one custom
// sample, with no network I/O. At the end it prints the peak resident set
// size of the process.
//
//	go run ./bench/manyusers -users 100000 -t 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Sleeper wakes once a second and records a sample.
type Sleeper struct{ user.Base }

// Tick records one sample without any I/O.
func (s *Sleeper) Tick(ctx context.Context) error {
	user.Record(s.Env(), "custom", "tick", time.Microsecond, 0, nil)
	return nil
}

func main() {
	users := flag.Int("users", 100_000, "number of users")
	runTime := flag.Duration("t", 30*time.Second, "run time")
	flag.Parse()
	class := user.Class[Sleeper]{
		Wait:  user.Constant(time.Second),
		Tasks: taskset.Weighted(taskset.Task[Sleeper]{Name: "tick", Run: (*Sleeper).Tick}),
	}
	args := []string{"--headless", "--only-summary", "-L", "WARNING",
		"-u", fmt.Sprint(*users), "-r", fmt.Sprint(*users), "-t", runTime.String()}
	var out strings.Builder
	code := locust.Run(context.Background(), args, nil, &out, &out, class)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("users: %d\npeak RSS: %s\nper user: %.1f KiB\nGo heap in use at end: %.1f MiB\n",
		*users, peakRSS(), float64(vmHWMKiB())/float64(*users), float64(ms.HeapInuse)/(1<<20))
	if code != 0 {
		fmt.Println(out.String())
		os.Exit(code)
	}
}

func peakRSS() string { return fmt.Sprintf("%.1f MiB", float64(vmHWMKiB())/1024) }

// vmHWMKiB reads the peak resident set size from /proc/self/status.
func vmHWMKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kib)
			return kib
		}
	}
	return 0
}
