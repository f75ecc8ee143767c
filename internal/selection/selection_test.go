package selection

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostNormalisesWhatTheUsersCanRequest(t *testing.T) {
	for in, want := range map[string]string{
		"":                               "",
		"   ":                            "",
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080",
		" http://127.0.0.1:8080/ ":       "http://127.0.0.1:8080",
		"HTTP://127.0.0.1:8080":          "http://127.0.0.1:8080",
		"https://shop.example.com/api/":  "https://shop.example.com/api",
		"http://127.0.0.1//":             "http://127.0.0.1",
		"http://[::1]:9":                 "http://[::1]:9",
		"http://user:secret@127.0.0.1:9": "http://user:secret@127.0.0.1:9",
	} {
		got, err := Host(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
		again, err := Host(got)
		require.NoError(t, err, "%q", got)
		assert.Equal(t, got, again, "normalising twice changes nothing")
	}
}

func TestHostRefusesWithTheReason(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":          `"127.0.0.1:8080": want a base URL starting with http:// or https://, such as http://127.0.0.1:8080`,
		"ftp://x":                 `"ftp://x": want a base URL`,
		"http://":                 "(it names no host)",
		"http://:8080":            "(it names no host)",
		"http:x":                  "(it names no host)",
		"http://127.0.0.1:9?a=1":  "(a query or a fragment would be dropped from every request)",
		"http://127.0.0.1:9/#top": "(a query or a fragment would be dropped from every request)",
		"http://127.0.0.1:0":      "(the port must be from 1 to 65535)",
		"http://127.0.0.1:65536":  "(the port must be from 1 to 65535)",
		"http://a b":              "(no spaces, quotes, backslashes or angle brackets)",
		"javascript:alert(1)":     `"javascript:alert(1)": want a base URL`,
		"http://x/" + strings.Repeat("a", MaxHostLen): "(longer than 2048 bytes)",
	} {
		_, err := Host(in)
		var he *HostError
		require.True(t, errors.As(err, &he), "%q: %v", in, err)
		assert.Contains(t, err.Error(), want, "%q", in)
		assert.LessOrEqual(t, len(he.Value), 80+len("…"), "the value shown is shortened")
	}
}

func TestClassesKeepsTheAskedOrderAndSuggestsTheClosestName(t *testing.T) {
	known := []string{"Shopper", "Admin", "Night Owl"}
	for _, c := range []struct {
		asked []string
		want  []string
	}{
		{nil, nil},
		{[]string{"", " "}, nil},
		{[]string{"Admin", "Shopper", "Admin"}, []string{"Admin", "Shopper"}},
		{[]string{"Admin,Shopper"}, []string{"Admin", "Shopper"}},
		{[]string{" Shopper Admin "}, []string{"Shopper", "Admin"}},
		{[]string{" Night Owl "}, []string{"Night Owl"}},
	} {
		got, err := Classes(known, c.asked)
		require.NoError(t, err, "%q", c.asked)
		assert.Equal(t, c.want, got, "%q", c.asked)
	}
	for asked, want := range map[string]string{
		"Shoper":  `unknown user class "Shoper" (did you mean "Shopper"?): choose from Admin, Night Owl, Shopper`,
		"shopper": `unknown user class "shopper" (did you mean "Shopper"?): choose from Admin, Night Owl, Shopper`,
		"admn":    `unknown user class "admn" (did you mean "Admin"?): choose from Admin, Night Owl, Shopper`,
		"Nobody":  `unknown user class "Nobody": choose from Admin, Night Owl, Shopper`,
		"Admin,X": `unknown user class "X": choose from Admin, Night Owl, Shopper`,
	} {
		_, err := Classes(known, []string{asked})
		var ue *UnknownClassError
		require.True(t, errors.As(err, &ue), "%q", asked)
		assert.EqualError(t, err, want)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"Shopper", "Shoper", 1}, {"é", "e", 1}} {
		assert.Equal(t, c.d, EditDistance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.d, EditDistance(c.b, c.a), "%q %q", c.b, c.a)
	}
}

// tagged is a class as the tag filter sees it: tasks with tags.
type tagged struct {
	name  string
	tasks map[string][]string // task -> tags
}

func (c tagged) ClassName() string { return c.name }

func (c tagged) Filter(include, exclude []string) (tagged, error) {
	has := func(tags, any []string) bool {
		return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(any, t) })
	}
	out := tagged{name: c.name, tasks: map[string][]string{}}
	for task, tags := range c.tasks {
		if (len(include) == 0 || has(tags, include)) && !has(tags, exclude) {
			out.tasks[task] = tags
		}
	}
	if len(out.tasks) == 0 {
		return tagged{}, errors.New("no task left")
	}
	return out, nil
}

func TestTagsFilterEveryClassAndNameTheDropped(t *testing.T) {
	shop := tagged{"Shop", map[string][]string{"Items": {"list"}, "Item": {"item"}, "Buy": {"item", "slow"}}}
	admin := tagged{"Admin", map[string][]string{"Report": {"slow"}}}
	classes := []tagged{shop, admin}

	kept, dropped, err := Tags(classes, nil, []string{" "})
	require.NoError(t, err)
	assert.Equal(t, classes, kept, "no tags: the classes as given")
	assert.Nil(t, dropped)

	kept, dropped, err = Tags(classes, []string{"item,list"}, []string{"slow"})
	require.NoError(t, err)
	require.Len(t, kept, 1)
	assert.Equal(t, map[string][]string{"Items": {"list"}, "Item": {"item"}}, kept[0].tasks)
	assert.Equal(t, []string{"Admin"}, dropped)

	kept, dropped, err = Tags(classes, []string{"list item"}, nil)
	require.NoError(t, err, "a space separates tags as a comma does")
	assert.Len(t, kept, 1)
	assert.Equal(t, []string{"Admin"}, dropped)

	_, dropped, err = Tags(classes, []string{"nope", "nope"}, nil)
	assert.EqualError(t, err, `no tasks left after filtering by tags ["nope"], excluding tags []: no user class has a task left; check the tag names`)
	assert.Equal(t, []string{"Shop", "Admin"}, dropped)
}

func TestNames(t *testing.T) {
	assert.Nil(t, Names(nil))
	assert.Nil(t, Names([]string{"", " , ,"}))
	assert.Equal(t, []string{"a", "b", "c"}, Names([]string{"a,b", " b c\t", "a"}))
}

// FuzzHost: what Host accepts is a base URL the users' clients request
// (http or https, a host, no query or fragment), is accepted again
// unchanged, and what it refuses is a *HostError that shows the value.
func FuzzHost(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080", " HTTP://127.0.0.1:8080/ ", "https://h/api//", "127.0.0.1:8080",
		"http://127.0.0.1:9?a=1", "http://127.0.0.1:0", "http://[::1]:9", "http://[::1", "http://u:p@h", "http:x",
		"http://h:65536", "javascript:alert(1)", "http://%zz", "http://h/%2F/", "https://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Host(s)
		if err != nil {
			var he *HostError
			if !errors.As(err, &he) || he.Value == "" {
				t.Fatalf("refused %q without a HostError naming it: %v", s, err)
			}
			return
		}
		if h == "" {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("read %q as no host", s)
			}
			return
		}
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("accepted %q as %q, which the users cannot request", s, h)
		}
		if again, err := Host(h); err != nil || again != h {
			t.Fatalf("%q read as %q, then as %q, %v", s, h, again, err)
		}
	})
}
