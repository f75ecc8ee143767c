package runner

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/user"
)

// A shape drives a Local through the LoadModel: its user count cannot be
// edited (ErrUsersDriven), and the run finishes by itself after the last
// stage. Without a shape or a gate the model leaves the driver as it is.
func TestLoadModelDrivesALocalWithAShape(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rec := newRecord()
	l, err := NewLocal(Options{Classes: []user.Spawner{&fakeClass{name: "A", weight: 1, rec: rec}}})
	require.NoError(t, err)
	shape := Stages{{Duration: 200 * time.Millisecond, Users: 3, SpawnRate: 100}}
	m := NewLoadModel(Load{Shape: shape}, LoadModelOptions{})
	assert.Nil(t, m.Gate(), "a shape hands out no iterations")
	assert.Nil(t, m.Cluster())
	it, _, ok := m.Iterations()
	assert.False(t, ok, "nothing counts iterations")
	assert.Zero(t, it)

	d := m.Drive(l, shape)
	run, isRun := d.(*LoadRun)
	require.True(t, isRun)
	defer run.Quit()
	require.NoError(t, run.Start(50, 1), "the first Start starts the shape; its counts are ignored")
	require.NoError(t, l.WaitState(ctx, StateRunning))
	assert.ErrorIs(t, run.Start(10, 1), ErrUsersDriven)
	select {
	case <-run.Finished():
	case <-ctx.Done():
		t.Fatal("the shape did not end the run")
	}
	waitStarted(t, rec, 3)
	assert.Equal(t, "AAA", rec.order(), "the shape's 3 users, not the 50 asked")

	plain := NewLoadModel(Load{}, LoadModelOptions{})
	assert.Same(t, Driver(l), plain.Drive(l, nil), "no model: the driver itself")
	var none *LoadModel
	assert.Same(t, Driver(l), none.Drive(l, nil))
	assert.Nil(t, none.Gate())
}
