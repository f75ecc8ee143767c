package locustpb

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The distributed load-model fields of Spawn and StatsReport are checked.
func TestValidateArrivalShareAndIterations(t *testing.T) {
	spawn := func(a *Arrival) *MasterMessage {
		return &MasterMessage{Kind: &MasterMessage_Spawn{Spawn: &Spawn{Options: &RunOptions{Arrival: a}}}}
	}
	ok := &Arrival{ClusterRate: 100, Part: 1, Parts: 2, PreAllocate: 3, MaxUsers: 4, MaxIterations: 5, IterationLimit: true, RunId: 9,
		ClusterStages: []*RateStage{{DurationUs: 1_000_000, Rate: 50}}}
	assert.NoError(t, ValidateMasterMessage(spawn(ok), Limits{}))
	for name, a := range map[string]*Arrival{
		"part out of range":  {ClusterRate: 1, Part: 2, Parts: 2},
		"part without parts": {ClusterRate: 1, Part: 1},
		"negative parts":     {ClusterRate: 1, Parts: -1},
		"NaN rate":           {ClusterRate: math.NaN()},
		"negative pre":       {ClusterRate: 1, PreAllocate: -1},
		"bad stage":          {ClusterStages: []*RateStage{{DurationUs: -1, Rate: 1}}},
		"NaN stage rate":     {ClusterStages: []*RateStage{{DurationUs: 1, Rate: math.NaN()}}},
	} {
		assert.ErrorIs(t, ValidateMasterMessage(spawn(a), Limits{}), ErrInvalidMessage, name)
	}
	stats := func(r *StatsReport) *WorkerMessage { return &WorkerMessage{Kind: &WorkerMessage_Stats{Stats: r}} }
	assert.NoError(t, ValidateWorkerMessage(stats(&StatsReport{IterationsRun: 3, IterationsDropped: 1, ShareDone: true, RunId: 9}), Limits{}))
	assert.ErrorIs(t, ValidateWorkerMessage(stats(&StatsReport{IterationsRun: -1}), Limits{}), ErrInvalidMessage)
	assert.ErrorIs(t, ValidateWorkerMessage(stats(&StatsReport{OmittedHistogram: make([]byte, 10)}), Limits{MaxHistogramLen: 5}), ErrInvalidMessage)
}
