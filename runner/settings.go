package runner

import (
	"fmt"
	"slices"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/user"
)

// classSettings returns the wire form of the settings of the classes that
// differ from the originals of the same name (edited in the web UI's
// class picker): the master sends them with every Spawn, and each worker
// runs its own classes with them (Locust's update_user_class). Classes
// that are not user.Configurable, or unchanged, are left out.
func classSettings(originals, classes []user.Spawner) []*locustpb.ClassSettings {
	var out []*locustpb.ClassSettings
	for _, c := range classes {
		cc, ok := c.(user.Configurable)
		if !ok {
			continue
		}
		i := slices.IndexFunc(originals, func(o user.Spawner) bool { return o.ClassName() == c.ClassName() })
		if i < 0 {
			continue
		}
		orig, ok := originals[i].(user.Configurable)
		if !ok {
			continue
		}
		s, o := cc.Settings(), orig.Settings()
		if s.Weight == o.Weight && s.FixedCount == o.FixedCount && s.Host == o.Host && slices.Equal(s.Tasks, o.Tasks) {
			continue
		}
		out = append(out, &locustpb.ClassSettings{
			Name: c.ClassName(), Weight: int64(s.Weight), FixedCount: int64(s.FixedCount), Host: s.Host, Tasks: s.Tasks,
		})
	}
	return out
}

// applyClassSettings runs a worker's classes with the settings the master
// sent. A class the worker does not have is ignored (the master only
// spawns classes by name).
func applyClassSettings(classes []user.Spawner, settings []*locustpb.ClassSettings) ([]user.Spawner, error) {
	if len(settings) == 0 {
		return classes, nil
	}
	out := slices.Clone(classes)
	for _, s := range settings {
		i := slices.IndexFunc(out, func(c user.Spawner) bool { return c.ClassName() == s.GetName() })
		if i < 0 {
			continue
		}
		cc, ok := out[i].(user.Configurable)
		if !ok {
			return nil, fmt.Errorf("the master changed the settings of user class %q, which cannot be configured here", s.GetName())
		}
		var tasks []string
		if len(s.GetTasks()) > 0 {
			tasks = s.GetTasks()
		}
		c, err := cc.Configure(user.ClassSettings{
			Weight: int(s.GetWeight()), FixedCount: int(s.GetFixedCount()), Host: s.GetHost(), Tasks: tasks,
		})
		if err != nil {
			return nil, fmt.Errorf("the master's class settings: %w", err)
		}
		out[i] = c
	}
	return out, nil
}
