package runner

import (
	"testing"

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
