package selection

import "fmt"

// Filterable is a user class as the tag filter sees it (user.Spawner).
// Generic so that this package imports nothing of golocust's.
type Filterable[T any] interface {
	ClassName() string
	// Filter keeps the tasks tagged with any of include (all when empty)
	// and drops those tagged with any of exclude; an error means the class
	// has no task left.
	Filter(include, exclude []string) (T, error)
}

// Tags applies -T/--tags and -E/--exclude-tags to classes. The tag lists
// are read as Names reads them ("a,b" is two tags). It returns the classes
// with a task left, filtered, and the names of those without; classes as
// given when there are no tags. No class left is an error that names the
// tags.
func Tags[T Filterable[T]](classes []T, tags, exclude []string) (kept []T, dropped []string, err error) {
	tags, exclude = Names(tags), Names(exclude)
	if len(tags) == 0 && len(exclude) == 0 {
		return classes, nil, nil
	}
	for _, c := range classes {
		f, err := c.Filter(tags, exclude)
		if err != nil {
			dropped = append(dropped, c.ClassName())
			continue
		}
		kept = append(kept, f)
	}
	if len(kept) == 0 {
		return nil, dropped, fmt.Errorf("no tasks left after filtering by tags %q, excluding tags %q: no user class has a task left; check the tag names", tags, exclude)
	}
	return kept, dropped, nil
}
