package user_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// traceLog is a gRPC health server on 127.0.0.1 that logs the traceparent
// of every call ("" when it had none).
type traceLog struct {
	healthpb.UnimplementedHealthServer
	addr string
	mu   sync.Mutex
	seen []string
}

func newTraceLog(t *testing.T) *traceLog {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &traceLog{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, g)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return g
}

func (g *traceLog) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	tp := ""
	if vs := metadata.ValueFromIncomingContext(ctx, user.TraceparentHeader); len(vs) > 0 {
		tp = vs[0]
	}
	g.mu.Lock()
	g.seen = append(g.seen, tp)
	g.mu.Unlock()
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (g *traceLog) log() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

// tracedProber makes 30 health checks, then stops; with own set, each
// carries the traceparent the task chose.
type tracedProber struct {
	prober
	own string
}

func (p *tracedProber) Run(ctx context.Context) error {
	for range 30 {
		c := ctx
		if p.own != "" {
			c = metadata.AppendToOutgoingContext(ctx, user.TraceparentHeader, p.own)
		}
		_, _ = p.health.Check(c, &healthpb.HealthCheckRequest{})
	}
	return user.ErrStopUser
}

func exemplarHeaders(e *stats.Entry) []string {
	var out []string
	for _, x := range e.Exemplars {
		out = append(out, "00-"+x.TraceID.String()+"-"+x.SpanID.String()+"-01")
	}
	return out
}

func TestGRPCCallsCarryATraceparentWhoseIdsTheStatsKeep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		class  bool // Class.Traceparent, else the client's field
		own    string
		traced bool
	}{
		{name: "class option", class: true, traced: true},
		{name: "client option", traced: true},
		{name: "the caller's own header is kept", class: true, own: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", traced: true},
		{name: "off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newTraceLog(t)
			c := user.Class[tracedProber]{Traceparent: tc.class, Tasks: taskset.Weighted(taskset.Task[tracedProber]{Name: "run",
				Run: func(p *tracedProber, ctx context.Context) error {
					p.own = tc.own
					p.GRPC.Traceparent = tc.traced && !tc.class
					return p.Run(ctx)
				}})}
			r := start(t, c, "grpc://"+g.addr, 1)
			r.wait(t, 10*time.Second)
			seen := g.log()
			require.Len(t, seen, 30)
			e := entry(r.reg.Snapshot(), user.GRPCMethod, checkMethod)
			require.NotNil(t, e)
			switch {
			case !tc.traced:
				for _, tp := range seen {
					assert.Empty(t, tp)
				}
				assert.Empty(t, e.Exemplars)
			case tc.own != "":
				for _, tp := range seen {
					assert.Equal(t, tc.own, tp)
				}
				assert.Equal(t, []string{tc.own}, exemplarHeaders(e), "the caller's ids, kept once")
			default:
				distinct := map[string]bool{}
				for _, tp := range seen {
					assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, tp)
					distinct[tp] = true
				}
				assert.Len(t, distinct, 30, "fresh ids per call")
				require.Len(t, e.Exemplars, stats.MaxExemplars)
				for _, h := range exemplarHeaders(e) {
					assert.True(t, distinct[h], "exemplar %s is a call the target saw", h)
				}
			}
		})
	}
}
