package locust

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// selectionClasses are two classes: Shopper's tasks are tagged list and
// item, Admin's one task slow.
func selectionClasses() []user.Spawner {
	admin := user.Class[shopper]{Name: "Admin", Tasks: taskset.Weighted(
		taskset.Task[shopper]{Weight: 1, Run: (*shopper).Items, Tags: []string{"slow"}})}
	return []user.Spawner{shopperClass(""), admin}
}

// entry fills a Config from one input the way one entry point does.
type entry struct {
	name string
	fill func(t *testing.T, flag, envName, value string) Config
}

var configEntries = []entry{
	{"command line", func(t *testing.T, flag, _, value string) Config {
		c := DefaultConfig()
		args := []string{"--headless", value} // a class name is positional
		if flag != "" {
			args = []string{"--headless", flag, value}
		}
		_, err := parseCommandLine(&c, args, env(nil))
		require.NoError(t, err)
		return c
	}},
	{"environment", func(t *testing.T, _, envName, value string) Config {
		c := DefaultConfig()
		_, err := parseCommandLine(&c, []string{"--headless"}, env(map[string]string{envName: value}))
		require.NoError(t, err)
		return c
	}},
	{"RunHeadless Config", func(t *testing.T, flag, _, value string) Config {
		c := Config{Headless: true}
		switch flag {
		case "-H":
			c.Host = value
		case "-T":
			c.Tags = []string{value}
		default:
			c.Classes = []string{value}
		}
		return c
	}},
}

// readEntry runs what execute does with a filled Config before the run:
// defaults, validation and normalisation, class and tag selection.
func readEntry(c Config) (Config, []string, error) {
	c = c.withDefaults()
	if err := c.read(); err != nil {
		return c, nil, err
	}
	picked, err := selectClasses(&c, selectionClasses(), zap.NewNop())
	var names []string
	for _, p := range picked {
		names = append(names, p.ClassName())
	}
	return c, names, err
}

// webAnswered checks a POST /swarm answer against the error the parser
// gave: a 400 naming field and saying the same, or a 200 (true).
func webAnswered(t *testing.T, code int, ans map[string]any, field, in string, wantErr error) bool {
	t.Helper()
	if wantErr != nil {
		assert.Equal(t, 400, code, "web form %q", in)
		assert.Equal(t, field, ans["field"], "web form %q", in)
		assert.Contains(t, ans["message"], wantErr.Error(), "web form %q", in)
		return false
	}
	require.Equal(t, 200, code, "web form %q: %v", in, ans)
	return true
}

// One input gives one result, or one error, whichever entry it comes
// through: the command line, a LOCUST_* variable, a Config in code, and
// (hosts and classes) the web form's POST /swarm.
func TestHostsClassesAndTagsReadAlikeThroughEveryEntry(t *testing.T) {
	base, end := startWebSessionWith(t, Config{}, selectionClasses()...)
	defer end()
	swarm := func(t *testing.T, field, value string) (int, map[string]any) {
		code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"0"}, "spawn_rate": {"1"}, field: {value}})
		var ans map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &ans), body)
		stop, _ := postForm(t, base+"/stop", nil) // the next POST starts a new test, not an edit
		require.Equal(t, 200, stop)
		return code, ans
	}

	t.Run("hosts", func(t *testing.T) {
		for _, in := range []string{" http://127.0.0.1:9/ ", "HTTP://127.0.0.1:9/api/", "127.0.0.1:9", "ftp://127.0.0.1",
			"http://127.0.0.1:9?a=1", "http://127.0.0.1:0", "http://127.0.0.1:9/#x"} {
			want, wantErr := selection.Host(in)
			for _, e := range configEntries {
				c, _, err := readEntry(e.fill(t, "-H", "LOCUST_HOST", in))
				if wantErr != nil {
					assert.ErrorContains(t, err, "-H/--host is "+wantErr.Error(), "%s %q", e.name, in)
					continue
				}
				require.NoError(t, err, "%s %q", e.name, in)
				assert.Equal(t, want, c.Host, "%s %q", e.name, in)
			}
			code, ans := swarm(t, "host", in)
			if !webAnswered(t, code, ans, "host", in, wantErr) {
				continue
			}
			assert.Equal(t, want, ans["host"], "web form %q", in)
		}
	})

	t.Run("classes", func(t *testing.T) {
		for _, in := range []string{"Admin,Shopper", " Shopper ", "Admin Shopper Admin", "Shoper", "Nobody"} {
			want, wantErr := selection.Classes([]string{"Shopper", "Admin"}, []string{in})
			for _, e := range configEntries {
				_, names, err := readEntry(e.fill(t, "", "LOCUST_USER_CLASSES", in))
				if wantErr != nil {
					assert.EqualError(t, err, wantErr.Error()+" (-l lists them)", "%s %q", e.name, in)
					continue
				}
				require.NoError(t, err, "%s %q", e.name, in)
				assert.Equal(t, want, names, "%s %q", e.name, in)
			}
			code, ans := swarm(t, "user_classes", in)
			if !webAnswered(t, code, ans, "user_classes", in, wantErr) {
				continue
			}
			var got []string
			for _, n := range ans["user_classes"].([]any) {
				got = append(got, n.(string))
			}
			assert.Equal(t, want, got, "web form %q", in)
		}
		_, err := selection.Classes([]string{"Shopper", "Admin"}, []string{"Shoper"})
		assert.ErrorContains(t, err, `did you mean "Shopper"?`)
	})

	t.Run("tags", func(t *testing.T) {
		for in, wantClasses := range map[string][]string{"list,item": {"Shopper"}, " slow ": {"Admin"}, "list slow": {"Shopper", "Admin"}, "nope": nil} {
			kept, _, wantErr := selection.Tags(selectionClasses(), []string{in}, nil)
			require.Equal(t, len(wantClasses), len(kept), "%q", in)
			for _, e := range configEntries {
				c, names, err := readEntry(e.fill(t, "-T", "LOCUST_TAGS", in))
				if wantErr != nil {
					assert.EqualError(t, err, "-T/--tags, -E/--exclude-tags: "+wantErr.Error(), "%s %q", e.name, in)
					continue
				}
				require.NoError(t, err, "%s %q", e.name, in)
				assert.Equal(t, selection.Names([]string{in}), c.Tags, "%s %q", e.name, in)
				assert.Equal(t, wantClasses, names, "%s %q", e.name, in)
			}
		}
	})
}

// A class's own Host is checked as -H is when it is an HTTP base URL; a
// gRPC target (grpc://…, host:port) is left to the class's own client.
func TestClassHostIsCheckedWhenItIsAnHTTPURL(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.read())
	for host, wantErr := range map[string]string{
		"http://127.0.0.1:8080/api/": "",
		"grpc://127.0.0.1:50051":     "",
		"127.0.0.1:50051":            "",
		"dns:///svc:443":             "",
		"http://127.0.0.1:8080/?q=1": `user class Q: Host is "http://127.0.0.1:8080/?q=1": want a base URL starting with http:// or https://, such as http://127.0.0.1:8080 (a query or a fragment would be dropped from every request)`,
		"HTTPS://":                   `user class Q: Host is "HTTPS://": want a base URL starting with http:// or https://, such as http://127.0.0.1:8080 (it names no host)`,
	} {
		q := user.Class[shopper]{Name: "Q", Host: host, Tasks: taskset.Weighted(taskset.Task[shopper]{Weight: 1, Run: (*shopper).Items})}
		_, err := selectClasses(&c, []user.Spawner{q}, zap.NewNop())
		if wantErr == "" {
			assert.NoError(t, err, host)
		} else {
			assert.EqualError(t, err, wantErr, host)
		}
	}
}

// A class whose Markov chain has states no user can reach is run, with a
// warning naming them, once, as Locust warns when it loads the class.
func TestUnreachableMarkovStatesAreWarnedAboutOnce(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	m := taskset.NewMarkov[shopper]()
	items, item := m.State((*shopper).Items), m.State((*shopper).Item)
	items.To(items, 1)
	item.To(items, 1) // nothing leads to Item
	class := user.Class[shopper]{Name: "Walker", Wait: user.Constant(2 * time.Millisecond), Tasks: m.Set()}
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-t", "1s", "-u", "2", "-r", "100", "-H", srv.URL, "--json"}, env(nil), &stdout, &stderr, class)
	require.Equal(t, ExitOK, code, stderr.String())
	assert.Equal(t, 1, strings.Count(stderr.String(), "user class Walker: the Markov states Item of MarkovTaskSet are never reached from its first state"), stderr.String())
	assert.Zero(t, srv.Count("/item"), "the unreachable state never ran")
	assert.Equal(t, srv.Count("/items"), jsonRequestTotal(t, stdout.Bytes()))
}
