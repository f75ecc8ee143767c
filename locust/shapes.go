package locust

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"go.uber.org/zap"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
)

// DefaultShape is the name the web form's "Shape class" select gives to
// no choice (Locust's "Default"): the run is driven by the configured
// load model (Config.Load.Shape, --stages, --steps) or, without one, by
// the form's user count and spawn rate.
const DefaultShape = webui.DefaultShape

// shapePick is the web form's shape choice for the next run: the run
// started with it keeps its shape (runner.LoadModel.Drive), a later start
// chooses again.
type shapePick struct {
	// start serialises a web start's choice with the start itself, so
	// that two forms sent at once each run the shape they chose.
	start sync.Mutex

	mu    sync.Mutex
	name  string // "": DefaultShape
	shape runner.Shape
}

func (p *shapePick) get() (string, runner.Shape) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name, p.shape
}

// with records the choice (name "" for the default) and runs start, which
// creates the run that takes it; a start that fails leaves the previous
// choice, which the last run had.
func (p *shapePick) with(name string, shape runner.Shape, start func() error) error {
	p.start.Lock()
	defer p.start.Unlock()
	p.mu.Lock()
	oldName, oldShape := p.name, p.shape
	p.name, p.shape = name, shape
	p.mu.Unlock()
	err := start()
	if err != nil {
		p.mu.Lock()
		p.name, p.shape = oldName, oldShape
		p.mu.Unlock()
	}
	return err
}

// runShape returns the shape that drives the next run (and, once it has
// started, the current one): the one chosen in the web form, else the
// configured one; nil when none does.
func (s *session) runShape() runner.Shape {
	if _, sh := s.pick.get(); sh != nil {
		return sh
	}
	return s.cfg.Load.shape()
}

// shapeName is the name of the shape chosen for the current or next run,
// "" for the default.
func (s *session) shapeName() string {
	name, _ := s.pick.get()
	return name
}

// shapeNames lists the offered shapes, sorted.
func (l *LoadConfig) shapeNames() []string {
	names := make([]string, 0, len(l.Shapes))
	for n := range l.Shapes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// validateShapes checks Config.Load.Shapes.
func (c *Config) validateShapes() []error {
	l := &c.Load
	if len(l.Shapes) == 0 {
		return nil
	}
	var errs []error
	for _, n := range l.shapeNames() {
		switch {
		case strings.TrimSpace(n) == "" || n != strings.TrimSpace(n):
			errs = append(errs, fmt.Errorf("Config.Load.Shapes: the name %q must be non-empty, without leading or trailing spaces", n))
		case strings.EqualFold(n, DefaultShape):
			errs = append(errs, fmt.Errorf("Config.Load.Shapes: %q is the form's name for no choice: name the shape otherwise", n))
		case len(n) > 100 || strings.ContainsFunc(n, unicode.IsControl):
			errs = append(errs, fmt.Errorf("Config.Load.Shapes: the name %q must be at most 100 characters, without control characters", n))
		case l.Shapes[n] == nil:
			errs = append(errs, fmt.Errorf("Config.Load.Shapes: shape %q is nil: give a runner.Shape such as runner.Stages{...}", n))
		}
	}
	if l.arrival() {
		errs = append(errs, errors.New("Config.Load.Shapes and --arrival-rate/--arrival-stages each drive the run: choose one"))
	}
	if l.Iterations > 0 && c.Cluster.Master {
		errs = append(errs, errors.New("-i/--iterations with Config.Load.Shapes runs standalone for now: drop --master, or drop the shapes"))
	}
	return errs
}

// ShapeNames implements webui.ShapeChooser: the shapes of
// Config.Load.Shapes, sorted.
func (c *webController) ShapeNames() []string { return c.s.cfg.Load.shapeNames() }

// CurrentShape implements webui.ShapeChooser: the shape chosen for the
// current (or last) run, "" for the default.
func (c *webController) CurrentShape() string { return c.s.shapeName() }

// startWithShape starts a test from the web form with its shape choice
// (name "" or DefaultShape: the configured load model).
func (c *webController) startWithShape(name string, classes []user.Spawner, host string, start func() error) error {
	if c.s.editsRun(classes, host) {
		// An edit of the running test keeps its shape (the form sends
		// none then).
		return start()
	}
	if len(c.s.cfg.Load.Shapes) == 0 {
		if name != "" && name != DefaultShape {
			return &webui.FieldError{Field: "shape_class", Message: fmt.Sprintf("unknown shape %q: this scenario offers no shapes (Config.Load.Shapes); send %q or nothing", name, DefaultShape)}
		}
		return start()
	}
	if name == DefaultShape {
		name = ""
	}
	var shape runner.Shape
	if name != "" {
		shape = c.s.cfg.Load.Shapes[name]
		if shape == nil {
			return &webui.FieldError{Field: "shape_class", Message: fmt.Sprintf("unknown shape %q: choose from %s", name, strings.Join(append([]string{DefaultShape}, c.ShapeNames()...), ", "))}
		}
	}
	if err := c.s.pick.with(name, shape, start); err != nil {
		return err
	}
	if name != "" {
		c.s.log.Info("the load shape chosen in the web form drives the run", zap.String("shape", name))
	}
	return nil
}

// editsRun tells whether startRun(…, host, …, classes) would edit the
// running test rather than start a new one.
func (s *session) editsRun(classes []user.Spawner, host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drv != nil && isActive(s.drv.State()) && classes == nil && (host == "" || host == s.host)
}

// defaultLoadInfo is the load model of a run with DefaultShape: model is
// that of the current run, which is the default's unless a shape was
// chosen.
func (s *session) defaultLoadInfo(model string) (string, bool) {
	l := &s.cfg.Load
	driven := l.shape() != nil || l.arrival()
	if s.shapeName() == "" {
		return model, driven
	}
	switch {
	case l.Shape != nil:
		return "shape", driven
	case len(l.Stages) > 0:
		return "stages", driven
	case l.Steps != nil:
		return "steps", driven
	case l.Iterations > 0:
		return "iteration limit", driven
	}
	return "", driven
}
