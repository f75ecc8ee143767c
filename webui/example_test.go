package webui_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/webui"
)

// idle is the smallest Controller: a runner that only remembers the last
// start request. The locust package provides the real one.
type idle struct {
	state string
	users int
}

func (c *idle) Start(req webui.StartRequest) error {
	c.state, c.users = webui.StateRunning, req.Users
	return nil
}
func (c *idle) Stop() error                   { c.state, c.users = webui.StateStopped, 0; return nil }
func (c *idle) ResetStats()                   {}
func (c *idle) State() string                 { return c.state }
func (c *idle) UserCount() int                { return c.users }
func (c *idle) Snapshot() *stats.Snapshot     { return nil }
func (c *idle) History() []stats.HistoryPoint { return nil }
func (c *idle) ClassNames() []string          { return []string{"Shopper"} }
func (c *idle) TaskRatio() webui.TaskRatios   { return webui.TaskRatios{} }
func (c *idle) Workers() []webui.WorkerInfo   { return nil }
func (c *idle) IsMaster() bool                { return false }
func (c *idle) Logs() webui.Logs              { return webui.Logs{} }
func (c *idle) Host() string                  { return "http://127.0.0.1:8080" }

// Serve the UI on a loopback port and start a test through Locust's API.
func Example() {
	ui, err := webui.New(webui.Options{Controller: &idle{state: webui.StateReady}})
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ui.Serve(ctx, l) }()
	base := ui.URL(l)

	form := url.Values{"user_count": {"10"}, "spawn_rate": {"2"}}
	resp, err := http.Post(base+"/swarm", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	form.Set("spawn_rate", "NaN")
	resp, err = http.Post(base+"/swarm", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	cancel()
	fmt.Println(<-done)
	http.DefaultClient.CloseIdleConnections()
	// Output:
	// 200 {"host":"http://127.0.0.1:8080","message":"Swarming started","success":true}
	// 400 {"field":"spawn_rate","message":"spawn_rate: must be a finite number, got \"NaN\"","success":false}
	// <nil>
}
