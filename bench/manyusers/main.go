// Command manyusers measures the memory of many idle users: each user
// wakes every second (user.Constant(time.Second)) and records one custom
// sample, with no network I/O. At the end it prints the peak resident set
// size of the process.
//
//	go run ./bench/manyusers -users 100000 -t 30s
//
// With -host, each user instead sends one GET / a second over its own
// keep-alive connection (user.HTTP) to that loopback target, which should
// run in another process (bench/manyusers.sh starts nginx for it):
//
//	go run ./bench/manyusers -users 10000 -t 30s -host http://127.0.0.1:18090
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

// Getter sends one GET / a second over its own keep-alive connection.
type Getter struct{ user.HTTP }

// Get sends GET /.
func (g *Getter) Get(ctx context.Context) error { return g.HTTP.Get(ctx, "/").Err() }

func main() {
	users := flag.Int("users", 100_000, "number of users")
	runTime := flag.Duration("t", 30*time.Second, "run time")
	host := flag.String("host", "", "loopback target (http://127.0.0.1:PORT): users send GET / a second to it")
	flag.Parse()
	var class user.Spawner = user.Class[Sleeper]{
		Wait:  user.Constant(time.Second),
		Tasks: taskset.Weighted(taskset.Task[Sleeper]{Name: "tick", Run: (*Sleeper).Tick}),
	}
	if *host != "" {
		if !strings.HasPrefix(*host, "http://127.") {
			fmt.Fprintln(os.Stderr, "-host must be a loopback URL such as http://127.0.0.1:18090")
			os.Exit(2)
		}
		class = user.Class[Getter]{
			Wait:  user.Constant(time.Second),
			Tasks: taskset.Weighted(taskset.Task[Getter]{Name: "get", Run: (*Getter).Get}),
		}
	}
	// Spawn over about a third of the run so that the connections do not
	// all open in the same instant.
	rate := max(1, float64(*users)/max(1, runTime.Seconds()/3))
	args := []string{"--headless", "--only-summary", "-L", "WARNING",
		"-u", fmt.Sprint(*users), "-r", fmt.Sprint(rate), "-t", runTime.String()}
	if *host != "" {
		args = append(args, "-H", *host)
	}
	// The heap and stacks are sampled while the users run (at the end they
	// are gone).
	var peakHeap, peakStack uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peakHeap, peakStack = max(peakHeap, m.HeapInuse), max(peakStack, m.StackInuse)
			}
		}
	}()
	var out strings.Builder
	code := locust.Run(context.Background(), args, nil, &out, &out, class)
	close(stop)
	<-sampled
	ms := runtime.MemStats{HeapInuse: peakHeap, StackInuse: peakStack}
	fmt.Printf("users: %d\npeak RSS: %s\nper user: %.1f KiB\npeak Go heap in use: %.1f MiB (%.1f KiB per user)\npeak goroutine stacks: %.1f MiB (%.1f KiB per user)\n",
		*users, peakRSS(), float64(vmHWMKiB())/float64(*users), float64(ms.HeapInuse)/(1<<20),
		float64(ms.HeapInuse)/1024/float64(*users), float64(ms.StackInuse)/(1<<20), float64(ms.StackInuse)/1024/float64(*users))
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "Aggregated") {
			fmt.Println(strings.Join(strings.Fields(line), " ")) // the run did what it says
			break
		}
	}
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
