// Tests of a master facing misbehaving, restarting or custom-message
// sending workers, and of its options.

package runner

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// rawWorker is a worker made by hand from a transport client, to misbehave.
func rawWorker(t *testing.T, addr, id string) *transport.Stream {
	t.Helper()
	c, err := transport.NewClient(transport.ClientOptions{Address: addr, Hello: &locustpb.Hello{WorkerId: id}, Retries: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	st, err := c.Connect(context.Background())
	require.NoError(t, err)
	return st
}

func heartbeatMsg(users int64) *locustpb.WorkerMessage {
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{
		State: locustpb.WorkerState_WORKER_STATE_READY, UserCount: users}}}
}

func workerState(m *Master, id string) State {
	for _, w := range m.Workers() {
		if w.ID == id {
			return w.State
		}
	}
	return ""
}

// A worker that stops heartbeating is marked missing and its users move;
// when it heartbeats again it rejoins; missing long enough, it is
// forgotten. When the last worker is gone the test stops.
func TestMissingSelfHealForgetAndLastWorker(t *testing.T) {
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes, MissingForget: 1500 * time.Millisecond})
	good := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	silent := rawWorker(t, m.Addr(), "silent_1")
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(10, 10_000))
	waitFor(t, "half on the good worker", func() bool { return good.UserCount() == 5 })

	waitFor(t, "silent worker missing", func() bool { return workerState(m, "silent_1") == StateMissing })
	waitFor(t, "its users moved", func() bool { return good.UserCount() == 10 })

	require.NoError(t, silent.Send(heartbeatMsg(0)))
	waitFor(t, "self-healed", func() bool { return workerState(m, "silent_1") == StateReady })
	waitFor(t, "rebalanced back", func() bool { return good.UserCount() == 5 })

	waitFor(t, "missing again", func() bool { return workerState(m, "silent_1") == StateMissing })
	waitFor(t, "forgotten", func() bool { return workerState(m, "silent_1") == "" })
	assert.Equal(t, StateRunning, m.State(), "a missing worker does not stop the run while others run")
	select {
	case err := <-m.StopTest():
		t.Fatalf("stop-test signal while a worker runs: %v", err)
	default:
	}

	require.NoError(t, good.stop(t))
	select {
	case err := <-m.StopTest():
		assert.ErrorContains(t, err, "last worker")
	case <-time.After(5 * time.Second):
		t.Fatal("the run did not stop when the last worker left")
	}
	m.Stop()
}

// A message that breaks the protocol gets only its sender told to
// reconnect; the other worker keeps its users.
func TestBadMessageOnlyAffectsThatWorker(t *testing.T) {
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes})
	good := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	bad := rawWorker(t, m.Addr(), "bad_1")
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(4, 10_000))
	waitFor(t, "users", func() bool { return good.UserCount() == 2 })

	require.NoError(t, bad.Send(heartbeatMsg(-5))) // negative user count: invalid
	var got []string
	for {
		msg, err := bad.Recv()
		if err != nil {
			break
		}
		got = append(got, string(msg.ProtoReflect().WhichOneof(msg.ProtoReflect().Descriptor().Oneofs().ByName("kind")).Name()))
		if msg.GetReconnect() != nil {
			break
		}
	}
	assert.Contains(t, got, "reconnect")
	waitFor(t, "users moved to the good worker", func() bool { return good.UserCount() == 4 })
	assert.Equal(t, StateRunning, m.State())

	// A stats report with a bad histogram: reconnect too.
	bad2 := rawWorker(t, m.Addr(), "bad_2")
	require.NoError(t, bad2.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: &locustpb.StatsReport{
		Entries: []*locustpb.StatsEntry{{Method: "GET", Name: "/", NumRequests: 1, Histogram: []byte("not a histogram")}}}}}))
	sawReconnect := false
	for {
		msg, err := bad2.Recv()
		if err != nil {
			break
		}
		if msg.GetReconnect() != nil {
			sawReconnect = true
		}
	}
	assert.True(t, sawReconnect)
	assert.Equal(t, StateRunning, m.State())
	m.Stop()
}

func TestCustomMessages(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes, Logger: zap.New(core)})
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: classes, Logger: zap.New(core)})
	waitWorkers(t, m, 1)
	waitFor(t, "worker connected", w.Connected)

	fromWorker := make(chan string, 1)
	require.NoError(t, m.RegisterHandler("ping", func(id string, data []byte) { fromWorker <- id + ":" + string(data) }))
	assert.Error(t, m.RegisterHandler("ping", func(string, []byte) {}), "registering twice")
	assert.Error(t, m.RegisterHandler("golocust.seq", func(string, []byte) {}), "reserved")
	fromMaster := make(chan string, 1)
	require.NoError(t, w.RegisterHandler("pong", func(data []byte) { fromMaster <- string(data) }))
	assert.Error(t, w.RegisterHandler("pong", func([]byte) {}))

	require.NoError(t, w.Send("ping", []byte("hi")))
	select {
	case got := <-fromWorker:
		assert.Equal(t, w.ID()+":hi", got)
	case <-time.After(5 * time.Second):
		t.Fatal("no custom message at the master")
	}
	require.NoError(t, m.Send("pong", []byte("ho"), ""))
	select {
	case got := <-fromMaster:
		assert.Equal(t, "ho", got)
	case <-time.After(5 * time.Second):
		t.Fatal("no custom message at the worker")
	}
	require.NoError(t, w.Send("nobody", nil))
	require.NoError(t, m.Send("nobody", nil, w.ID()))
	waitFor(t, "unknown type warnings on both sides", func() bool {
		return logs.FilterMessageSnippet("unknown message type").Len() == 2
	})
	assert.Error(t, m.Send("pong", nil, "no-such-worker"))

	// The runner's own types never travel as users' messages: a 1.0 peer
	// would read them as control (a stop-test request, a numbering).
	assert.EqualError(t, w.Send("golocust.stoptest", []byte("spoofed")), `runner: custom message type "golocust.stoptest" is empty or reserved (types starting with "golocust." are the runner's): choose another`)
	assert.ErrorContains(t, w.Send("", nil), "empty or reserved")
	assert.ErrorContains(t, m.Send("golocust.seq", []byte("{}"), ""), "empty or reserved")
	assert.ErrorContains(t, m.Send("", nil, w.ID()), "empty or reserved")
	select {
	case err := <-m.StopTest():
		t.Fatalf("a refused message reached the master: %v", err)
	default:
	}
}

// testServer is a bare transport server standing in for a master.
func testServer(t *testing.T, l net.Listener) (*transport.Server, func()) {
	t.Helper()
	srv, err := transport.NewServer(transport.ServerOptions{Listener: l})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return srv, stop
}

func accept(t *testing.T, srv *transport.Server) *transport.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := srv.Accept(ctx)
	require.NoError(t, err)
	return s
}

func spawnMsg(seq uint64, n int64) *locustpb.MasterMessage {
	return &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Sequence: seq, UserClassCounts: map[string]int64{"A": n}}}}
}

// A worker ignores spawn messages with a sequence number it has seen, and
// registers again after a reconnect message.
func TestWorkerSequenceAndReconnect(t *testing.T) {
	srv, _ := testServer(t, localListener(t))
	w := startWorker(t, srv.Addr().String(), WorkerOptions{Classes: []user.Spawner{class("A", 1, 0, nil)}})
	s := accept(t, srv)
	require.NoError(t, s.Send(spawnMsg(2, 3)))
	waitFor(t, "3 users", func() bool { return w.UserCount() == 3 })
	require.NoError(t, s.Send(spawnMsg(1, 0))) // older: ignored
	require.NoError(t, s.Send(spawnMsg(2, 0))) // seen: ignored
	require.NoError(t, s.Send(spawnMsg(3, 4)))
	waitFor(t, "4 users", func() bool { return w.UserCount() == 4 })
	assert.Equal(t, 4, w.UserCount())

	s.Reconnect("testing")
	s2 := accept(t, srv)
	assert.Equal(t, w.ID(), s2.ID(), "the same worker registers again")
	waitFor(t, "connected", w.Connected)
}

// A worker whose master is gone for MasterTimeout exits with an error
// wrapping ErrMasterGone (no panic).
func TestWorkerGivesUpWithoutMaster(t *testing.T) {
	srv, stop := testServer(t, localListener(t))
	w := startWorker(t, srv.Addr().String(), WorkerOptions{Classes: []user.Spawner{class("A", 1, 0, nil)}, MasterTimeout: time.Second})
	accept(t, srv)
	stop()
	select {
	case err := <-w.done:
		assert.ErrorIs(t, err, ErrMasterGone)
		close(w.done)
	case <-time.After(15 * time.Second):
		t.Fatal("the worker did not give up")
	}
}

// A master restarted on the same port: workers reconnect and take a new
// run.
func TestMasterRestart(t *testing.T) {
	lg := zap.NewNop()
	classes := []user.Spawner{class("A", 1, 0, nil)}
	l := localListener(t)
	port := l.Addr().(*net.TCPAddr).Port
	m1, err := NewMaster(MasterOptions{Logger: lg, Classes: classes, HeartbeatInterval: tHeartbeat, Server: transport.ServerOptions{Listener: l}})
	require.NoError(t, err)
	w := startWorker(t, m1.Addr(), WorkerOptions{Logger: lg, Classes: classes})
	waitWorkers(t, m1, 1)
	require.NoError(t, m1.Start(3, 1000))
	waitFor(t, "3 users", func() bool { return w.UserCount() == 3 })
	m1.Close() // a crash, as far as the worker knows

	m2 := startMaster(t, MasterOptions{Logger: lg, Classes: classes, Server: transport.ServerOptions{BindHost: "127.0.0.1", BindPort: port}})
	waitWorkers(t, m2, 1)
	require.NoError(t, m2.Start(2, 1000))
	waitFor(t, "new run on the worker", func() bool { return w.UserCount() == 2 && m2.UserCount() == 2 })
	m2.Stop()
}

func TestMasterOptionsValidation(t *testing.T) {
	_, err := NewMaster(MasterOptions{})
	assert.Error(t, err)
	l := localListener(t)
	defer func() { _ = l.Close() }()
	_, err = NewMaster(MasterOptions{Classes: []user.Spawner{class("A", 1, 0, nil), class("A", 1, 0, nil)}, Server: transport.ServerOptions{Listener: l}})
	assert.Error(t, err)
	_, err = NewWorker(WorkerOptions{})
	assert.Error(t, err)
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{class("A", 1, 0, nil)}})
	assert.Error(t, m.Start(-1, 1))
	assert.Error(t, m.Start(1, 0))
	m.Quit()
	assert.True(t, errors.Is(m.Start(1, 1), ErrQuit))
}
