package user

import (
	"errors"
	"fmt"
	"slices"
)

// ClassSettings are the settings of a user class that the web UI's class
// picker edits (Locust's POST /user): weight, fixed count, host and the
// subset of its top-level tasks.
type ClassSettings struct {
	Weight     int    // >= 1 unless FixedCount > 0
	FixedCount int    // > 0: exactly this many users
	Host       string // the class's host; "" = none (the run's -H still wins)
	// Tasks names the top-level tasks to run, in any order; nil runs
	// them all.
	Tasks []string
}

// Configurable is a user class whose settings can be changed at run time.
// Class[U] implements it.
type Configurable interface {
	Spawner
	// Settings returns the class's current settings (Tasks lists every
	// task it runs).
	Settings() ClassSettings
	// AllTasks lists the names of the class's top-level tasks.
	AllTasks() []string
	// Configure returns the class with settings s; the receiver is not
	// changed.
	Configure(s ClassSettings) (Spawner, error)
}

var _ Configurable = Class[struct{}]{}

// Settings implements Configurable.
func (c Class[U]) Settings() ClassSettings {
	return ClassSettings{Weight: c.ClassWeight(), FixedCount: c.FixedCount, Host: c.Host, Tasks: c.Tasks.TaskNames()}
}

// AllTasks implements Configurable.
func (c Class[U]) AllTasks() []string { return c.Tasks.TaskNames() }

// Configure implements Configurable. It checks s and says what to fix:
// a negative weight or count, neither a weight nor a fixed count, an
// unknown task.
func (c Class[U]) Configure(s ClassSettings) (Spawner, error) {
	var errs []error
	if s.Weight < 0 {
		errs = append(errs, fmt.Errorf("weight is %d: want a whole number >= 1", s.Weight))
	}
	if s.FixedCount < 0 {
		errs = append(errs, fmt.Errorf("fixed_count is %d: want 0 (weighted) or a number of users", s.FixedCount))
	}
	if s.Weight == 0 && s.FixedCount <= 0 {
		errs = append(errs, errors.New("weight is 0 and fixed_count is 0: the class would get no users; give a weight >= 1 or a fixed count"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("user class %q: %w", c.ClassName(), errors.Join(errs...))
	}
	c.Name = c.ClassName() // a renamed type keeps its name
	c.Weight, c.FixedCount, c.Host = max(s.Weight, 1), s.FixedCount, s.Host
	if s.Tasks != nil && !slices.Equal(s.Tasks, c.Tasks.TaskNames()) {
		set, err := c.Tasks.Select(s.Tasks)
		if err != nil {
			return nil, fmt.Errorf("user class %q: tasks: %w", c.ClassName(), err)
		}
		c.Tasks = set
	}
	return c, nil
}
