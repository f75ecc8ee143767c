package locust

import (
	"fmt"
	"sync"

	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
)

// classEdits are the class picker's per-class settings (--class-picker,
// POST /user), kept apart from the classes as compiled: a start applies
// them to the chosen classes, and in distributed mode the master sends
// them to the workers with the spawn.
type classEdits struct {
	mu sync.Mutex
	m  map[string]user.ClassSettings
}

func (e *classEdits) get(name string) (user.ClassSettings, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.m[name]
	return s, ok
}

func (e *classEdits) any() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.m) > 0
}

func (e *classEdits) set(name string, s user.ClassSettings) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]user.ClassSettings{}
	}
	e.m[name] = s
}

// original returns the session's class named name as compiled (after tag
// filtering).
func (s *session) original(name string) (user.Spawner, bool) {
	for _, c := range s.classes {
		if c.ClassName() == name {
			return c, true
		}
	}
	return nil, false
}

// configured returns classes with the class picker's edits applied (each
// to the class as compiled).
func (s *session) configured(classes []user.Spawner) ([]user.Spawner, error) {
	out := make([]user.Spawner, len(classes))
	for i, c := range classes {
		out[i] = c
		orig, ok := s.original(c.ClassName())
		if !ok {
			continue
		}
		out[i] = orig
		set, edited := s.edits.get(c.ClassName())
		cc, ok := orig.(user.Configurable)
		if !edited || !ok {
			continue
		}
		e, err := cc.Configure(set)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// UserClasses implements webui.ClassEditor.
func (c *webController) UserClasses() []webui.UserClass {
	var out []webui.UserClass
	for _, cl := range c.s.classes {
		cc, ok := cl.(user.Configurable)
		if !ok {
			continue
		}
		set := cc.Settings()
		if e, ok := c.s.edits.get(cl.ClassName()); ok {
			set = e
			if set.Tasks == nil {
				set.Tasks = cc.AllTasks()
			}
		}
		out = append(out, webui.UserClass{Name: cl.ClassName(), Weight: set.Weight, FixedCount: set.FixedCount,
			Host: set.Host, Tasks: set.Tasks, AllTasks: cc.AllTasks()})
	}
	return out
}

// UpdateUserClass implements webui.ClassEditor: the settings are checked
// now and used from the next start.
func (c *webController) UpdateUserClass(u webui.UserClass) error {
	orig, ok := c.s.original(u.Name)
	cc, configurable := orig.(user.Configurable)
	if !ok || !configurable {
		return &webui.FieldError{Field: "user_class_name", Message: fmt.Sprintf("user class %q cannot be edited", u.Name)}
	}
	if u.Host != "" {
		if err := c.s.allowed.check(u.Host); err != nil {
			return &webui.FieldError{Field: "host", Message: err.Error()}
		}
	}
	set := user.ClassSettings{Weight: u.Weight, FixedCount: u.FixedCount, Host: u.Host, Tasks: u.Tasks}
	if len(set.Tasks) == 0 {
		return &webui.FieldError{Field: "tasks", Message: "pick at least one task"}
	}
	if _, err := cc.Configure(set); err != nil {
		return &webui.FieldError{Field: "", Message: err.Error()}
	}
	c.s.edits.set(u.Name, set)
	c.s.log.Info(fmt.Sprintf("user class %s edited: weight %d, fixed count %d, host %q, tasks %v", u.Name, set.Weight, set.FixedCount, set.Host, set.Tasks))
	return nil
}

// lastClasses returns the classes a start without a class choice runs:
// those of the previous test, else all.
func (s *session) lastClasses() []user.Spawner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		return s.running
	}
	return s.classes
}
