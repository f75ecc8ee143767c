package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// picked records one sample per task, named after the task and the host
// its user runs against.
type picked struct{ user.Base }

func (p *picked) rec(name string) error {
	user.Record(p.Env(), "T", name+" "+p.Env().Host, time.Millisecond, 0, nil)
	return nil
}
func (p *picked) A(context.Context) error { return p.rec("A") }
func (p *picked) B(context.Context) error { return p.rec("B") }
func (p *picked) C(context.Context) error { return p.rec("C") }

func pickedClass() user.Class[picked] {
	return user.Class[picked]{Name: "Picked", Host: "http://127.0.0.1:1", Wait: user.Constant(5 * time.Millisecond),
		Tasks: taskset.Weighted(
			taskset.Task[picked]{Run: (*picked).A},
			taskset.Task[picked]{Run: (*picked).B},
			taskset.Task[picked]{Run: (*picked).C},
		)}
}

// A class edited on the master (host, task subset, weight) reaches the
// workers with the spawn: their users, built from the classes as
// compiled, run only the picked tasks against the new host.
func TestClassSettingsReachTheWorkers(t *testing.T) {
	orig := pickedClass()
	classes := []user.Spawner{orig}
	edited, err := orig.Configure(user.ClassSettings{Weight: 3, Host: "http://127.0.0.2:2", Tasks: []string{"C", "A"}})
	require.NoError(t, err)

	reg := stats.NewRegistry(stats.Options{})
	m := startMaster(t, MasterOptions{Classes: classes, Registry: reg, StopTimeout: time.Second})
	ws := []*testWorker{
		startWorker(t, m.Addr(), WorkerOptions{Classes: classes}),
		startWorker(t, m.Addr(), WorkerOptions{Classes: classes}),
	}
	waitWorkers(t, m, 2)
	require.NoError(t, m.Configure([]user.Spawner{edited}, ""))
	require.NoError(t, m.Start(4, 100))
	waitFor(t, "samples from both workers", func() bool {
		return ws[0].UserCount() == 2 && ws[1].UserCount() == 2 && reg.Snapshot().Total.NumRequests > 100
	})
	m.Stop()

	names := map[string]int64{}
	for _, e := range reg.Snapshot().Entries {
		names[e.Name] += e.NumRequests
	}
	assert.Len(t, names, 2, "only the picked tasks ran: %v", names)
	assert.Positive(t, names["A http://127.0.0.2:2"])
	assert.Positive(t, names["C http://127.0.0.2:2"])
	for n := range names {
		assert.False(t, strings.HasPrefix(n, "B "), "task B was not picked: %v", names)
	}

	// Back to the class as compiled: nothing is sent, every task runs.
	require.NoError(t, m.Configure(classes, ""))
	require.NoError(t, m.Start(2, 100))
	waitFor(t, "task B again", func() bool {
		for _, e := range reg.Snapshot().Entries {
			if e.Name == "B http://127.0.0.1:1" {
				return true
			}
		}
		return false
	})
	m.Stop()
}

func TestApplyClassSettingsSaysWhatIsWrong(t *testing.T) {
	orig := pickedClass()
	edited, err := orig.Configure(user.ClassSettings{Weight: 1, Tasks: []string{"A"}})
	require.NoError(t, err)
	wire := classSettings([]user.Spawner{orig}, []user.Spawner{edited})
	require.Len(t, wire, 1)
	wire[0].Tasks = []string{"Z"}
	_, err = applyClassSettings([]user.Spawner{orig}, wire)
	assert.EqualError(t, err, `the master's class settings: user class "Picked": tasks: no task named "Z": choose from A, B, C`)
	assert.Empty(t, classSettings([]user.Spawner{orig}, []user.Spawner{orig}), "unchanged classes are not sent")
}
