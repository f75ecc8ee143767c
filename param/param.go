package param

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Values are one run's custom parameters, by name, as text. The zero
// Values holds none: every Get returns its parameter's default.
type Values struct{ m map[string]string }

// NewValues copies m into Values.
func NewValues(m map[string]string) Values {
	if len(m) == 0 {
		return Values{}
	}
	return Values{m: maps.Clone(m)}
}

// Lookup returns the text of the named parameter, if the run set it.
func (v Values) Lookup(name string) (string, bool) {
	s, ok := v.m[name]
	return s, ok
}

// Map returns a copy of the values by name.
func (v Values) Map() map[string]string { return maps.Clone(v.m) }

// Len is the number of values set.
func (v Values) Len() int { return len(v.m) }

// Kind is the type of a parameter, as the web form shows it.
type Kind string

// The kinds of parameters.
const (
	KindString   Kind = "string"
	KindInt      Kind = "int"
	KindFloat    Kind = "float"
	KindBool     Kind = "bool"
	KindDuration Kind = "duration"
)

// Info describes a parameter: what the command line's help and the web
// form show and check.
type Info struct {
	Name    string   // long flag name: --Name, LOCUST_NAME, "name = ..." in a config file
	Usage   string   // one line of help; the form's label
	Kind    Kind     // the value's type
	Default string   // the default, as text
	Choices []string // allowed values (a drop-down in the form); empty: any
	Secret  bool     // masked in the form, never printed or logged
	// Hidden keeps the parameter out of the web form (Locust's
	// include_in_web_ui=False); the command line, env and files still set it.
	Hidden bool
}

// Spec is a declared parameter; *Param[T] implements it.
type Spec interface {
	Info() Info
	// Check tells whether s is a valid value, and why not.
	Check(s string) error
}

// Option changes a parameter's declaration.
type Option func(*Info)

// Secret masks the value in the web form and keeps it out of help texts
// and logs (Locust's is_secret).
func Secret() Option { return func(i *Info) { i.Secret = true } }

// Choices restricts the value to these (a drop-down in the web form;
// Locust's choices).
func Choices(values ...string) Option {
	return func(i *Info) { i.Choices = slices.Clone(values) }
}

// Hidden keeps the parameter out of the web form (Locust's
// include_in_web_ui=False).
func Hidden() Option { return func(i *Info) { i.Hidden = true } }

// Param is a typed parameter.
type Param[T any] struct {
	info  Info
	def   T
	parse func(string) (T, error)
}

// Info implements Spec.
func (p *Param[T]) Info() Info {
	i := p.info
	i.Choices = slices.Clone(i.Choices)
	return i
}

// Check implements Spec.
func (p *Param[T]) Check(s string) error {
	if _, err := p.parse(s); err != nil {
		return err
	}
	if len(p.info.Choices) > 0 && !slices.Contains(p.info.Choices, s) {
		return fmt.Errorf("want one of %s", strings.Join(p.info.Choices, ", "))
	}
	return nil
}

// Default is the declared default.
func (p *Param[T]) Default() T { return p.def }

// Name is the parameter's name.
func (p *Param[T]) Name() string { return p.info.Name }

// Get returns the parameter's value in v, or its default when v does not
// set it (or, which the run's checks prevent, sets it to a bad value).
func (p *Param[T]) Get(v Values) T {
	s, ok := v.m[p.info.Name]
	if !ok {
		return p.def
	}
	t, err := p.parse(s)
	if err != nil {
		return p.def
	}
	return t
}

func newParam[T any](kind Kind, name string, def T, text string, usage string, parse func(string) (T, error), opts []Option) *Param[T] {
	p := &Param[T]{info: Info{Name: name, Usage: usage, Kind: kind, Default: text}, def: def, parse: parse}
	for _, o := range opts {
		o(&p.info)
	}
	return p
}

// String declares a text parameter.
func String(name, def, usage string, opts ...Option) *Param[string] {
	return newParam(KindString, name, def, def, usage, func(s string) (string, error) { return s, nil }, opts)
}

// Int declares a whole-number parameter.
func Int(name string, def int, usage string, opts ...Option) *Param[int] {
	return newParam(KindInt, name, def, strconv.Itoa(def), usage, func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, fmt.Errorf("want a whole number, such as 10")
		}
		return n, nil
	}, opts)
}

// Float declares a number parameter.
func Float(name string, def float64, usage string, opts ...Option) *Param[float64] {
	return newParam(KindFloat, name, def, strconv.FormatFloat(def, 'g', -1, 64), usage, func(s string) (float64, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, such as 0.5")
		}
		return f, nil
	}, opts)
}

// Bool declares a true/false parameter (true, false, yes, no, on, off,
// 1, 0).
func Bool(name string, def bool, usage string, opts ...Option) *Param[bool] {
	return newParam(KindBool, name, def, strconv.FormatBool(def), usage, parseBool, opts)
}

// Duration declares a time-span parameter ("250ms", "2s", "1m30s"; a bare
// number is seconds, as Locust's spans).
func Duration(name string, def time.Duration, usage string, opts ...Option) *Param[time.Duration] {
	return newParam(KindDuration, name, def, def.String(), usage, func(s string) (time.Duration, error) {
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("want a time span, such as 250ms, 2s or 1m30s")
		}
		return d, nil
	}, opts)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "on":
		return true, nil
	case "0", "f", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}
