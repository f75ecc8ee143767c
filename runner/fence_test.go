package runner

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/golocust/golocust/user"
)

// partition is a TCP relay on 127.0.0.1 that can stop forwarding in both
// directions without closing anything: packets dropped by a network
// partition, not a reset the peers would notice.
type partition struct {
	lis    net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newPartition(t *testing.T, target string) *partition {
	t.Helper()
	p := &partition{lis: localListener(t), target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *partition) addr() string { return p.lis.Addr().String() }

func (p *partition) accept() {
	defer p.wg.Done()
	for {
		c, err := p.lis.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_, _ = c.Close(), up.Close()
			return
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *partition) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.frozen && !p.closed {
			p.cond.Wait()
		}
		closed := p.closed
		p.mu.Unlock()
		if n > 0 && !closed {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil || closed {
			_, _ = src.Close(), dst.Close()
			return
		}
	}
}

func (p *partition) set(frozen bool) {
	p.mu.Lock()
	p.frozen = frozen
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *partition) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	conns := p.conns
	p.mu.Unlock()
	_ = p.lis.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}

// activeClass is a user class whose users note the time of every
// iteration in last.
func activeClass(last *atomic.Int64) *fakeClass {
	return &fakeClass{name: "A", weight: 1, behave: func(ctx context.Context, env *user.Env) {
		for {
			last.Store(time.Now().UnixNano())
			select {
			case <-env.Stopping:
				return
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}}
}

// TestACutOffWorkerStopsItsUsersWithinTheLivenessWindow reproduces Locust
// #1158 with a partition between the master and one of two workers, at the
// default heartbeat timing: the master gives the cut-off worker's users to
// the other worker after its liveness window, and the cut-off worker stops
// its own at about the same time (at most 5 s of extra load after the
// partition), stays stopped while cut off, and runs users again only once
// the master dispatches to it after the partition heals.
func TestACutOffWorkerStopsItsUsersWithinTheLivenessWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 10 s at the default heartbeat timing")
	}
	core, logs := observer.New(zapcore.InfoLevel)
	lg := zap.New(core)
	var lastA, lastB atomic.Int64
	m := startMaster(t, MasterOptions{Logger: lg, Classes: []user.Spawner{activeClass(new(atomic.Int64))}, HeartbeatInterval: time.Second})
	p := newPartition(t, m.Addr())
	hb := WorkerOptions{HeartbeatInterval: time.Second, ReportInterval: time.Second}
	oa, ob := hb, hb
	oa.Classes, ob.Classes = []user.Spawner{activeClass(&lastA)}, []user.Spawner{activeClass(&lastB)}
	ob.Logger = lg
	a := startWorker(t, m.Addr(), oa)
	b := startWorker(t, p.addr(), ob)
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(4, 100))
	require.Eventually(t, func() bool { return a.UserCount() == 2 && b.UserCount() == 2 }, 10*time.Second, 10*time.Millisecond)

	p.set(true)
	cut := time.Now()
	require.Eventually(t, func() bool { return b.UserCount() == 0 }, 10*time.Second, 10*time.Millisecond, "the cut-off worker fenced itself")
	extra := time.Duration(lastB.Load() - cut.UnixNano())
	assert.LessOrEqual(t, extra, 5*time.Second, "extra load after the partition")
	assert.Positive(t, extra, "it ran until it fenced")
	require.Eventually(t, func() bool { return a.UserCount() == 4 }, 10*time.Second, 10*time.Millisecond, "the master moved the users")
	assert.Equal(t, 1, logs.FilterMessageSnippet("self-fencing").Len())
	t.Logf("extra load after the partition: %v", extra)

	// Cut off, it stays fenced.
	fenced := lastB.Load()
	time.Sleep(1500 * time.Millisecond)
	assert.Equal(t, fenced, lastB.Load(), "no load while cut off")
	assert.Zero(t, b.UserCount())

	p.set(false)
	healed := time.Now().UnixNano()
	require.Eventually(t, func() bool { return b.UserCount() > 0 && a.UserCount()+b.UserCount() == 4 }, 30*time.Second, 10*time.Millisecond,
		"the master dispatches to the worker again")
	assert.Greater(t, lastB.Load(), healed, "users run again after the partition healed")
	require.NoError(t, b.stop(t))
	err := a.stop(t)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
