package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gproto "google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// Control messages are typed oneof cases for a 1.1 peer and reserved
// Custom messages for a 1.0 peer; both forms decode to the same thing and
// pass validation.
func TestControlMessagesByPeerVersion(t *testing.T) {
	si := seqInfo{Base: 40, Stride: 3, Pos: map[string]int{"A": 2, "B": 0}}
	for _, tc := range []struct {
		peer  string
		typed bool
	}{{"1.0.0", false}, {"1.1.0", true}, {locustpb.Version, true}, {"1.7.2", true}} {
		t.Run(tc.peer, func(t *testing.T) {
			assert.Equal(t, tc.typed, locustpb.TypedControl(tc.peer))

			mm := numberingMessage(si, tc.peer)
			mm = roundTripMaster(t, mm)
			_, custom := mm.GetKind().(*locustpb.MasterMessage_Custom)
			assert.Equal(t, !tc.typed, custom)
			got, isNumbering, ok := numberingOf(mm)
			require.True(t, isNumbering)
			require.True(t, ok)
			assert.Equal(t, si, got)

			st := roundTripWorker(t, stopTestMessage("enough", tc.peer))
			lv := roundTripWorker(t, leavingMessage(tc.peer))
			lg := roundTripWorker(t, logsMessage([]string{"a", "b"}, tc.peer))
			if tc.typed {
				assert.Equal(t, "enough", st.GetStopTest().GetReason())
				assert.NotNil(t, lv.GetLeaving())
				assert.Equal(t, []string{"a", "b"}, lg.GetLogs().GetLines())
				return
			}
			wc, ok := controlOf(st.GetCustom())
			require.True(t, ok)
			assert.Equal(t, "enough", wc.stopTest.GetReason())
			wc, ok = controlOf(lv.GetCustom())
			require.True(t, ok)
			assert.True(t, wc.leaving)
			wc, ok = controlOf(lg.GetCustom())
			require.True(t, ok)
			require.NoError(t, wc.badLogs)
			assert.Equal(t, []string{"a", "b"}, wc.logs)
		})
	}
	_, ok := controlOf(&locustpb.Custom{Type: "mine", Data: []byte("x")})
	assert.False(t, ok, "a user's message is not a control message")
	_, isNumbering, _ := numberingOf(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: "mine"}}})
	assert.False(t, isNumbering)
	assert.Error(t, locustpb.ValidateMasterMessage(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Numbering{Numbering: &locustpb.Numbering{Stride: 2, Positions: map[string]int32{"A": 2}}}}, locustpb.Limits{}),
		"a position past the stride is refused")
}

func roundTripMaster(t *testing.T, m *locustpb.MasterMessage) *locustpb.MasterMessage {
	t.Helper()
	b, err := gproto.Marshal(m)
	require.NoError(t, err)
	var out locustpb.MasterMessage
	require.NoError(t, gproto.Unmarshal(b, &out))
	require.NoError(t, locustpb.ValidateMasterMessage(&out, locustpb.Limits{}))
	return &out
}

func roundTripWorker(t *testing.T, m *locustpb.WorkerMessage) *locustpb.WorkerMessage {
	t.Helper()
	b, err := gproto.Marshal(m)
	require.NoError(t, err)
	var out locustpb.WorkerMessage
	require.NoError(t, gproto.Unmarshal(b, &out))
	require.NoError(t, locustpb.ValidateWorkerMessage(&out, locustpb.Limits{}))
	return &out
}

// A 1.0 worker beside a 1.1 one: the master numbers both (the old one
// through the reserved Custom form) and hears a stop-test message in the
// 1.0 form.
func TestMixedProtocolMinorVersions(t *testing.T) {
	a := newCounting("A", 1, 0)
	classes := []user.Spawner{a}
	m := startMaster(t, MasterOptions{Classes: classes})
	old := startWorker(t, m.Addr(), WorkerOptions{Classes: classes,
		Client: transport.ClientOptions{Hello: &locustpb.Hello{WorkerId: "old_1", Version: "1.0.0"}}})
	startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(20, 1000))
	want := make([]int64, 20)
	for i := range want {
		want[i] = int64(i)
	}
	waitFor(t, "20 users numbered 0..19", func() bool { return slices.Equal(a.liveSeqs(), want) })

	old.mu.Lock()
	st := old.stream
	old.mu.Unlock()
	require.NotNil(t, st)
	require.NoError(t, st.Send(legacyWorkerCustom(legacyStopTestType, []byte("enough"))))
	select {
	case err := <-m.StopTest():
		assert.ErrorIs(t, err, user.ErrStopTest)
		assert.ErrorContains(t, err, "worker old_1: enough")
	case <-time.After(10 * time.Second):
		t.Fatal("no stop-test signal from the 1.0 worker")
	}
	require.NoError(t, old.stop(t))
	waitFor(t, "the 1.1 worker runs all 20 users", func() bool { return m.UserCount() == 20 && m.WorkerCount() == 1 })
	m.Stop()
}
