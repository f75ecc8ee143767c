package user_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// netBenchUser is benchUser with the net/http client: it stops after
// benchLimit GETs; OnStart applies netBenchSetup.
type netBenchUser struct {
	user.NetHTTP
	n int
}

var netBenchSetup func(*user.NetHTTP)

func (u *netBenchUser) OnStart(context.Context) error {
	if netBenchSetup != nil {
		netBenchSetup(&u.NetHTTP)
	}
	return nil
}

func (u *netBenchUser) Bench(ctx context.Context) error {
	err := u.Get(ctx, "/bench", user.Name("bench")).Err()
	u.n++
	if u.n >= benchLimit {
		return user.ErrStopUser
	}
	return err
}

// benchNet runs b.N recorded GETs of one NetHTTP user against host.
func benchNet(b *testing.B, host string, setup func(*user.NetHTTP)) {
	c := user.Class[netBenchUser]{Tasks: taskset.Weighted(taskset.Task[netBenchUser]{Run: (*netBenchUser).Bench})}
	netBenchSetup = setup
	defer func() { netBenchSetup = nil }()
	s := runRecorded(b, host, c)
	if s.Total.NumRequests != int64(b.N) || s.Total.NumFailures != 0 {
		b.Fatalf("recorded %d requests, %d failures; want %d, 0: %v", s.Total.NumRequests, s.Total.NumFailures, b.N, s.Errors)
	}
}

// netServer is a net/http server on 127.0.0.1 answering "hello": plain
// HTTP/1.1 and h2c, or TLS with HTTP/2.
func netServer(b *testing.B, useTLS bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetHTTP1(true)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
		srv.Start()
	}
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkGet compares the two clients per recorded GET over a reused
// connection, one user, client and server on the same machine:
//
//	go test -run '^$' -bench BenchmarkGet -benchtime 2s ./user/
//
// fasthttp-server rows use the fasthttp test server (cheaper, so the
// client's share shows); net/http-server rows a net/http one.
func BenchmarkGet(b *testing.B) {
	b.Run("HTTP/h1/fasthttp-server", func(b *testing.B) { benchFast(b, localServer(b)) })
	b.Run("NetHTTP/h1/fasthttp-server", func(b *testing.B) { benchNet(b, localServer(b), nil) })
	b.Run("HTTP/h1/net-http-server", func(b *testing.B) { benchFast(b, netServer(b, false).URL) })
	b.Run("NetHTTP/h1/net-http-server", func(b *testing.B) { benchNet(b, netServer(b, false).URL, nil) })
	b.Run("NetHTTP/h2c/net-http-server", func(b *testing.B) {
		benchNet(b, netServer(b, false).URL, func(h *user.NetHTTP) { h.Protocols = user.H2C() })
	})
	b.Run("NetHTTP/h2-tls/net-http-server", func(b *testing.B) {
		srv := netServer(b, true)
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		cfg := &tls.Config{RootCAs: pool}
		benchNet(b, srv.URL, func(h *user.NetHTTP) { h.TLSConfig = cfg })
	})
}

type idleNetUser struct{ user.NetHTTP }

// BenchmarkNetHTTPUserMemory is BenchmarkUserMemory for NetHTTP: heap and
// stack per waiting user that holds a keep-alive HTTP/1.1 connection (and
// its transport's read and write loops) and two cookies. Run with
// -benchtime=1x.
func BenchmarkNetHTTPUserMemory(b *testing.B) {
	benchMemory(b, 1000, "NetHTTP", loginAndWait(func(u *idleNetUser) httpClient { return &u.NetHTTP }))
}

// BenchmarkGetCPU is the generator's own CPU per recorded GET (user and
// system time of this process, the target runs in another process), for
// both clients over HTTP/1.1:
//
//	go test -run '^$' -bench BenchmarkGetCPU -benchtime 20000x ./user/
func BenchmarkGetCPU(b *testing.B) {
	host := targetProcess(b)
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, bc := range []struct {
		name string
		run  func(b *testing.B)
	}{
		{"HTTP", func(b *testing.B) { benchFast(b, host) }},
		{"NetHTTP", func(b *testing.B) { benchNet(b, host, nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c0 := cpu()
			bc.run(b)
			b.ReportMetric(float64(cpu()-c0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}
