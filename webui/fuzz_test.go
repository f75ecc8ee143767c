package webui

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/internal/timespan"
)

// FuzzSwarmForm feeds POST /swarm's parser any form body, as a new test
// and as an edit of a running one. What it accepts must be a run the
// runner can start: users and spawn rate in the ranges runner.Start
// checks (internal/bounds), a run time within timespan.Max, a host the
// users can request, only known classes. What it refuses names a field.
func FuzzSwarmForm(f *testing.F) {
	for _, s := range []string{
		"user_count=10&spawn_rate=2.5&host=http%3A%2F%2F127.0.0.1%3A9&run_time=1h20m&user_classes=Shopper",
		"user_count=1&spawn_rate=1&run_time=2700000h", "user_count=1&spawn_rate=1&run_time=9223372036s",
		"user_count=1&spawn_rate=1&run_time=1.5s", "user_count=1e12&spawn_rate=1", "user_count=NaN&spawn_rate=Inf",
		"user_count=5&spawn_rate=0.00001", "user_count=5&spawn_rate=1&host=javascript:alert(1)",
		"user_count=5&spawn_rate=1&user_classes=Nope&user_classes=Shopper", "user_count=0x10&spawn_rate=1_0",
		"", "user_count=%ff&spawn_rate=%00",
		"user_count=1&spawn_rate=1&host=+HTTP%3A%2F%2F127.0.0.1%3A9%2F+&user_classes=Shopper%2CBrowser",
		"user_count=1&spawn_rate=1&host=http%3A%2F%2F127.0.0.1%3A9%3Fa%3D1&user_classes=Shoper",
		"user_count=1&spawn_rate=1&host=http%3A%2F%2F127.0.0.1%3A0&user_classes=+Browser+Shopper+",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	classes := []string{"Shopper", "Browser"}
	f.Fuzz(func(t *testing.T, body string, edit bool) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		req, ferr := parseSwarm(form, classes, nil, edit)
		if ferr != nil {
			if ferr.Field == "" || ferr.Message == "" || !strings.Contains(ferr.Error(), ferr.Field) {
				t.Fatalf("refused %q with an error naming no field: %+v", body, ferr)
			}
			if ferr.Field == "run_time" && !strings.Contains(ferr.Message, timespan.MaxText) {
				t.Fatalf("refused run_time %q without naming the largest span: %s", form.Get("run_time"), ferr.Message)
			}
			return
		}
		if req.Users < 0 || req.Users > bounds.MaxUsers {
			t.Fatalf("accepted %q with %d users", body, req.Users)
		}
		if bounds.SpawnRate(req.SpawnRate) != nil {
			t.Fatalf("accepted %q with spawn rate %v", body, req.SpawnRate)
		}
		if req.RunTime < 0 || req.RunTime > timespan.Max {
			t.Fatalf("accepted %q with run time %v", body, req.RunTime)
		}
		if edit && (req.Host != "" || req.RunTime != 0 || req.Classes != nil) {
			t.Fatalf("an edit read more than users and rate from %q: %+v", body, req)
		}
		if req.Host != "" {
			u, err := url.Parse(req.Host)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("accepted %q with host %q the users cannot request", body, req.Host)
			}
		}
		// The form reads the host as -H/--host does.
		if want, err := selection.Host(form.Get("host")); !edit && (err != nil || want != req.Host) {
			t.Fatalf("the form read host %q as %q, -H/--host as %q (%v)", form.Get("host"), req.Host, want, err)
		}
		for _, c := range req.Classes {
			if !slices.Contains(classes, c) {
				t.Fatalf("accepted %q with unknown class %q", body, c)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(req.Classes)))) != len(req.Classes) {
			t.Fatalf("accepted %q with a class twice: %v", body, req.Classes)
		}
	})
}
