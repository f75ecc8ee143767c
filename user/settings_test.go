package user_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

func TestConfigureChangesACopyOfTheClass(t *testing.T) {
	c := user.Class[web]{Name: "Web", Host: "http://127.0.0.1:1", Tasks: taskset.Weighted(
		taskset.Task[web]{Run: (*web).OK, Weight: 3},
		taskset.Task[web]{Run: (*web).Fail},
	)}
	assert.Equal(t, user.ClassSettings{Weight: 1, Host: "http://127.0.0.1:1", Tasks: []string{"OK", "Fail"}}, c.Settings())
	s, err := c.Configure(user.ClassSettings{Weight: 4, FixedCount: 2, Host: "http://127.0.0.1:2", Tasks: []string{"Fail"}})
	require.NoError(t, err)
	got := s.(user.Configurable)
	assert.Equal(t, user.ClassSettings{Weight: 4, FixedCount: 2, Host: "http://127.0.0.1:2", Tasks: []string{"Fail"}}, got.Settings())
	assert.Equal(t, []string{"Fail"}, got.AllTasks())
	assert.Equal(t, 2, s.ClassFixedCount())
	assert.Equal(t, "Web", s.ClassName())
	assert.Equal(t, []string{"OK", "Fail"}, c.AllTasks(), "the original is unchanged")

	_, err = c.Configure(user.ClassSettings{Weight: -1})
	assert.EqualError(t, err, `user class "Web": weight is -1: want a whole number >= 1`)
	_, err = c.Configure(user.ClassSettings{})
	assert.EqualError(t, err, `user class "Web": weight is 0 and fixed_count is 0: the class would get no users; give a weight >= 1 or a fixed count`)
	_, err = c.Configure(user.ClassSettings{Weight: 1, Tasks: []string{"Nope"}})
	assert.EqualError(t, err, `user class "Web": tasks: no task named "Nope": choose from OK, Fail`)
}
