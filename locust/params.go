package locust

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/webui"
)

// paramNameRE is what a custom parameter's name may be: a long flag name.
var paramNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$`)

// paramFlags declares a flag (and so LOCUST_<NAME> and a config-file key)
// for each custom parameter. A name that is not a valid flag name or that
// a built-in flag already uses gets no flag; Validate reports it.
func paramFlags(c *Config) []flagDef {
	if len(c.Params) == 0 {
		return nil
	}
	builtin := map[string]bool{}
	for _, area := range flagAreas {
		for _, d := range area(&Config{}) {
			builtin[d.long] = true
			builtin[d.short] = true
		}
	}
	var defs []flagDef
	seen := map[string]bool{}
	for _, p := range c.Params {
		if p == nil {
			continue
		}
		info := p.Info()
		if !paramNameRE.MatchString(info.Name) || builtin[info.Name] || seen[info.Name] {
			continue
		}
		seen[info.Name] = true
		usage := info.Usage
		if len(info.Choices) > 0 {
			usage += " (" + strings.Join(info.Choices, ", ") + ")"
		}
		defs = append(defs, flagDef{long: info.Name, group: "Custom parameters (this scenario's)", usage: usage,
			value: &paramValue{spec: p, vals: &c.ParamValues}, secret: info.Secret})
	}
	return defs
}

// paramValue is the flag of one custom parameter: it checks the value and
// stores its text in Config.ParamValues.
type paramValue struct {
	spec param.Spec
	vals *map[string]string
}

func (v *paramValue) String() string {
	if v.spec == nil {
		return ""
	}
	info := v.spec.Info()
	if info.Secret {
		return ""
	}
	if s, ok := (*v.vals)[info.Name]; ok {
		return s
	}
	return info.Default
}

func (v *paramValue) Set(s string) error {
	if err := v.spec.Check(s); err != nil {
		return err
	}
	if *v.vals == nil {
		*v.vals = map[string]string{}
	}
	(*v.vals)[v.spec.Info().Name] = s
	return nil
}

// IsBoolFlag lets a bool parameter be given as a bare --name.
func (v *paramValue) IsBoolFlag() bool { return v.spec != nil && v.spec.Info().Kind == param.KindBool }

// validateParams checks the declarations and the values.
func (c *Config) validateParams() []error {
	var errs []error
	builtin := map[string]bool{}
	for _, area := range flagAreas {
		for _, d := range area(&Config{}) {
			builtin[d.long] = true
		}
	}
	specs := map[string]param.Spec{}
	for i, p := range c.Params {
		if p == nil {
			errs = append(errs, fmt.Errorf("Config.Params[%d] is nil", i))
			continue
		}
		name := p.Info().Name
		switch {
		case !paramNameRE.MatchString(name):
			errs = append(errs, fmt.Errorf("custom parameter %q: want a flag name of lower-case letters, digits and dashes, such as my-param", name))
		case builtin[name]:
			errs = append(errs, fmt.Errorf("custom parameter %q is the name of a built-in flag: choose another name", name))
		case specs[name] != nil:
			errs = append(errs, fmt.Errorf("custom parameter %q is declared twice", name))
		}
		specs[name] = p
	}
	for _, name := range slices.Sorted(maps.Keys(c.ParamValues)) {
		p, ok := specs[name]
		if !ok {
			errs = append(errs, fmt.Errorf("Config.ParamValues[%q]: no such custom parameter in Config.Params", name))
			continue
		}
		if err := p.Check(c.ParamValues[name]); err != nil {
			errs = append(errs, fmt.Errorf("--%s is %s: %v", name, shownValue(p, c.ParamValues[name]), err))
		}
	}
	return errs
}

// shownValue quotes a value for an error, masking secrets.
func shownValue(p param.Spec, v string) string {
	if p.Info().Secret {
		return "(secret)"
	}
	return fmt.Sprintf("%q", v)
}

// paramSpec finds a declared parameter by name (dashes or underscores).
func (c *Config) paramSpec(name string) param.Spec {
	for _, p := range c.Params {
		if p != nil && (p.Info().Name == name || strings.ReplaceAll(p.Info().Name, "-", "_") == name) {
			return p
		}
	}
	return nil
}

// currentParams are the values of the current (or next) test.
func (s *session) currentParams() param.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// mergeParams overlays the web form's values on the current ones; an empty
// secret keeps the current secret (the form never receives it). s.mu is
// held.
func (s *session) mergeParams(form map[string]string) (param.Values, error) {
	if len(form) == 0 {
		return s.params, nil
	}
	merged := s.params.Map()
	if merged == nil {
		merged = map[string]string{}
	}
	for name, v := range form {
		p := s.cfg.paramSpec(name)
		if p == nil {
			return param.Values{}, &webui.FieldError{Field: name, Message: "no such custom parameter"}
		}
		info := p.Info()
		if info.Hidden {
			return param.Values{}, &webui.FieldError{Field: name, Message: "this parameter is set from the command line only"}
		}
		if info.Secret && v == "" {
			continue
		}
		if err := p.Check(v); err != nil {
			return param.Values{}, &webui.FieldError{Field: info.Name, Message: err.Error()}
		}
		merged[info.Name] = v
	}
	return param.NewValues(merged), nil
}

// webParams describes the custom parameters for the web form: current
// values, but never a secret's.
func (s *session) webParams() []webui.CustomParam {
	vals := s.currentParams()
	var out []webui.CustomParam
	for _, p := range s.cfg.Params {
		if p == nil {
			continue
		}
		info := p.Info()
		if info.Hidden {
			continue
		}
		cp := webui.CustomParam{Name: info.Name, Label: info.Usage, Kind: string(info.Kind), Choices: info.Choices, Secret: info.Secret}
		v, set := vals.Lookup(info.Name)
		if !set {
			v = info.Default
		}
		if info.Secret {
			cp.HasValue = v != ""
			v = ""
		}
		cp.Value = v
		out = append(out, cp)
	}
	return out
}
