package runner

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"go.uber.org/zap"

	"github.com/golocust/golocust/user"
)

// BenchmarkSpawnAndStop spawns 1,000 users that wait to be stopped, then
// stops them all: the runner's cost per user, beside the user's own.
func BenchmarkSpawnAndStop(b *testing.B) {
	const users = 1000
	p := newUserPool(poolConfig{classes: []user.Spawner{class("A", 1, 0, nil)}, log: zap.NewNop(), seed: 1})
	b.ReportAllocs()
	for b.Loop() {
		for range users {
			p.spawn(0)
		}
		if n := p.stopAll(0, DefaultStopGrace); n != 0 {
			b.Fatal(n, "users left")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*users), "ns/user")
}

func TestPoolApplyAndSeqOf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		p := newUserPool(poolConfig{
			classes: []user.Spawner{class("A", 2, 0, rec), class("B", 1, 0, rec), class("F", 1, 1, rec)},
			log:     zap.NewNop(),
			seed:    7,
		})
		// A worker with index 1 of 2 numbers its users 1, 3, 5, ...
		p.seqOf = func(class int, local int64) int64 { return local*2 + 1 }
		weights, fixed := []int{2, 1, 1}, []bool{false, false, true}
		assert.Equal(t, []int{4, 2, 1}, p.apply([]int{4, 2, 1}, weights, fixed))
		synctest.Wait()
		assert.Equal(t, "FABAABA", rec.order(), "fixed first, then the weighted order")
		assert.Equal(t, []int{2, 1, 1}, p.apply([]int{2, 1, 1}, weights, fixed))
		synctest.Wait()
		assert.Equal(t, []int{4, 5, 6}, rec.exitedIDs(), "the newest users of the classes above target stop")
		seqs := map[string][]int64{}
		rec.mu.Lock()
		for id, env := range rec.started {
			if _, gone := rec.exited[id]; !gone {
				seqs[env.Class] = append(seqs[env.Class], env.Seq)
			}
		}
		rec.mu.Unlock()
		assert.Equal(t, map[string][]int64{"A": {1, 3}, "B": {1}, "F": {1}}, sortedSeqs(seqs))
		assert.Equal(t, 0, p.stopAll(0, time.Second))
		assert.Equal(t, 0, p.total())
	})
}

func sortedSeqs(m map[string][]int64) map[string][]int64 {
	for _, s := range m {
		slices.Sort(s)
	}
	return m
}
