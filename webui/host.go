package webui

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// hostGuard refuses requests whose Host header is not a name the UI is
// served under, with 421 Misdirected Request.
//
// Why: a page on evil.example whose DNS name is rebound to 127.0.0.1 is
// same-origin with itself, so the browser sends its requests (cookies
// aside) to the UI and the cross-origin check sees nothing wrong. Only the
// Host header still says evil.example. Names accepted by default:
// "localhost", any loopback IP, the address the connection came in on
// (the bound address; for a wildcard bind the interface the client
// reached), and the host the UI was told to listen on. Options.PublicNames
// adds more (the names a reverse proxy or DNS serves the UI under). IP
// literals other than these are refused too: they are harmless against
// rebinding but a proxy in front should name itself.
type hostGuard struct {
	names []string // lower case, without port
}

func newHostGuard(listenHost string, public []string) *hostGuard {
	g := &hostGuard{names: []string{"localhost"}}
	add := func(h string) {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]"))
		if h != "" && !slices.Contains(g.names, h) {
			g.names = append(g.names, h)
		}
	}
	add(listenHost)
	for _, n := range public {
		add(n)
	}
	return g
}

// allowed reports whether the request's Host names this server.
func (g *hostGuard) allowed(r *http.Request) bool {
	host := r.Host
	if host == "" {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	host = strings.TrimSuffix(host, ".") // "localhost." is localhost
	if slices.Contains(g.names, host) {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if lh, _, err := net.SplitHostPort(local.String()); err == nil {
			if lip := net.ParseIP(lh); lip != nil && lip.Equal(ip) {
				return true
			}
		}
	}
	return false
}

func (g *hostGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.allowed(r) {
			writeJSON(w, http.StatusMisdirectedRequest, map[string]any{"success": false,
				"message": "this web UI is not served under the name " + truncate(r.Host, 100) +
					"; open it by the address it listens on, or add the name with --web-public-names"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
