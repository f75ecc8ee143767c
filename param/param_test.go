package param_test

import (
	"testing"
	"time"

	"github.com/golocust/golocust/param"
)

func TestGetReturnsTheValueOrTheDefault(t *testing.T) {
	n := param.Int("n", 3, "a count")
	d := param.Duration("pause", time.Second, "a pause")
	b := param.Bool("fast", false, "a flag")
	f := param.Float("ratio", 0.5, "a ratio")
	mode := param.String("mode", "a", "a mode", param.Choices("a", "b"))
	var none param.Values
	if n.Get(none) != 3 || d.Get(none) != time.Second || b.Get(none) || f.Get(none) != 0.5 || mode.Get(none) != "a" {
		t.Fatal("the zero Values must give the defaults")
	}
	v := param.NewValues(map[string]string{"n": "7", "pause": "250ms", "fast": "yes", "ratio": "0.25", "mode": "b"})
	if n.Get(v) != 7 || d.Get(v) != 250*time.Millisecond || !b.Get(v) || f.Get(v) != 0.25 || mode.Get(v) != "b" {
		t.Fatalf("got %d %v %v %v %q", n.Get(v), d.Get(v), b.Get(v), f.Get(v), mode.Get(v))
	}
	if d.Get(param.NewValues(map[string]string{"pause": "2"})) != 2*time.Second {
		t.Error("a bare number is seconds")
	}
}

func TestCheckSaysWhatIsWanted(t *testing.T) {
	cases := []struct {
		spec param.Spec
		in   string
		want string
	}{
		{param.Int("n", 0, ""), "x", "want a whole number, such as 10"},
		{param.Float("r", 0, ""), "x", "want a number, such as 0.5"},
		{param.Bool("b", false, ""), "maybe", "want true or false"},
		{param.Duration("d", 0, ""), "-1s", "want a time span, such as 250ms, 2s or 1m30s"},
		{param.String("env", "dev", "", param.Choices("dev", "prod")), "qa", "want one of dev, prod"},
	}
	for _, c := range cases {
		err := c.spec.Check(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s.Check(%q) = %v, want %q", c.spec.Info().Name, c.in, err, c.want)
		}
	}
	if err := param.Int("n", 0, "").Check("12"); err != nil {
		t.Error(err)
	}
}

func TestInfoDescribesTheDeclaration(t *testing.T) {
	i := param.String("api-key", "", "the key", param.Secret(), param.Hidden()).Info()
	if i.Name != "api-key" || i.Kind != param.KindString || !i.Secret || !i.Hidden || i.Usage != "the key" {
		t.Fatalf("%+v", i)
	}
	if param.Int("n", 5, "").Info().Default != "5" {
		t.Error("the default as text")
	}
}
