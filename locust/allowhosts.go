package locust

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	"github.com/golocust/golocust/user"
)

// allowlist is the set of targets load may be aimed at (--allow-hosts):
// whoever reaches the web UI can only point the users at these, so access
// to the UI is not access to any target.
//
// A pattern is a host name or IP ("127.0.0.1", "shop.example.com"), a glob
// over names ("*.example.com"), a CIDR range ("10.0.0.0/8"), any of them
// with a port ("localhost:8080": that port only), a base URL (its host is
// taken) or "*" (any target). Without --allow-hosts the allowed targets are
// the run's -H host and the classes' hosts; when there is neither, only
// loopback targets (127.0.0.0/8, ::1, localhost).
type allowlist struct {
	patterns []string
	implicit bool // built from -H and the classes, not from --allow-hosts
}

func newAllowlist(explicit []string, host string, classes []user.Spawner) allowlist {
	if len(explicit) > 0 {
		return allowlist{patterns: explicit}
	}
	var ps []string
	add := func(u string) {
		if u == "" {
			return
		}
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			ps = append(ps, p.Host)
		}
	}
	add(host)
	for _, c := range classes {
		add(c.ClassHost())
	}
	if len(ps) == 0 {
		ps = []string{"127.0.0.0/8", "::1", "localhost"}
	}
	return allowlist{patterns: ps, implicit: true}
}

// check reports whether the base URL target may be loaded, and if not
// says what to do.
func (a allowlist) check(target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a base URL such as http://127.0.0.1:8080", target)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, p := range a.patterns {
		if matchHost(p, strings.ToLower(u.Hostname()), port) {
			return nil
		}
	}
	how := "add it to --allow-hosts"
	if a.implicit {
		how = "start with -H " + u.Scheme + "://" + u.Host + " or --allow-hosts " + u.Host
	}
	return fmt.Errorf("target %s is not allowed (allowed: %s): %s", u.Host, strings.Join(a.patterns, ", "), how)
}

func matchHost(pattern, host, port string) bool {
	p := strings.ToLower(strings.TrimSpace(pattern))
	if p == "*" {
		return true
	}
	if strings.Contains(p, "://") {
		if u, err := url.Parse(p); err == nil {
			p = u.Host
		}
	}
	if _, ipnet, err := net.ParseCIDR(p); err == nil {
		ip := net.ParseIP(host)
		return ip != nil && ipnet.Contains(ip)
	}
	wantPort := ""
	if h, pp, err := net.SplitHostPort(p); err == nil {
		p, wantPort = h, pp
	}
	p = strings.Trim(p, "[]")
	if wantPort != "" && wantPort != "*" && wantPort != port {
		return false
	}
	if ip := net.ParseIP(p); ip != nil {
		hip := net.ParseIP(host)
		return hip != nil && hip.Equal(ip)
	}
	ok, err := path.Match(p, host)
	return err == nil && ok
}
