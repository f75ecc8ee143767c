package locust

import (
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/user"
)

// startRun starts a test, or changes the user count of the running one.
// classes nil keeps the current choice.
func (s *session) startRun(users int, rate float64, host string, runTime time.Duration, classes []user.Spawner) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rate <= 0 {
		rate = 1
	}
	if s.drv != nil && isActive(s.drv.State()) && classes == nil && (host == "" || host == s.host) {
		// An edit of the running test: new count, same test.
		return editUsers(s.drv, users, rate)
	}
	if classes == nil {
		classes = s.classes
		if s.running != nil {
			classes = s.running
		}
	}
	if host == "" {
		host = s.host
	}
	if s.drv != nil {
		s.drv.Stop()
		s.drv.Quit()
		s.drv = nil
		s.testStopped()
	}
	drv, err := s.factory(classes, host)
	if err != nil {
		return err
	}
	drv = s.load.Drive(drv, s.runShape())
	if err := s.hookTestStart(drv, host); err != nil {
		drv.Quit()
		return err
	}
	s.testOn = true
	s.endedLog.reset()
	if s.history != nil {
		s.history.Reset()
	}
	defer s.dropSnapshot() // a new test starts with fresh statistics
	if err := drv.Start(users, rate); err != nil {
		drv.Quit()
		s.testStopped()
		return err
	}
	s.drv, s.host, s.running = drv, host, classes
	s.testBegan, s.testEnded = time.Now(), time.Time{}
	s.peakUsers = max(s.peakUsers, users)
	s.runGen++
	if runTime > 0 {
		gen := s.runGen
		time.AfterFunc(runTime, func() {
			select {
			case s.timeUp <- gen:
			default:
			}
		})
	}
	return nil
}

// stopRun stops the users of the current test, if any, within the stop
// timeout.
func (s *session) stopRun() {
	s.mu.Lock()
	drv := s.drv
	s.runGen++ // a pending run-time timer no longer applies
	if drv != nil && isActive(drv.State()) {
		// Keep the mix that ran, for the report's final ratio.
		s.lastCounts = drv.ClassCounts()
	}
	s.mu.Unlock()
	if drv != nil {
		drv.Stop()
	}
	s.mu.Lock()
	s.testStopped()
	s.mu.Unlock()
}

// testStopped runs Config.OnTestStop and Hooks.TestStop once per test
// that started; s.mu is held.
func (s *session) testStopped() {
	if !s.testOn {
		return
	}
	s.testOn = false
	s.testEnded = time.Now()
	select {
	case s.ended <- struct{}{}:
	default:
	}
	for _, err := range s.hookTestStop() {
		s.log.Error("test stop hook", zap.Error(err))
	}
	// The users that ended early since the last periodic line.
	s.endedLog.log(s.log, s.reg.Snapshot().EndedUsers)
}

func (s *session) quit() {
	s.mu.Lock()
	drv := s.drv
	s.mu.Unlock()
	if drv != nil {
		drv.Quit()
	}
}

func (s *session) currentGen() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runGen
}

// stopTestC is the current driver's stop-test channel (nil, which blocks,
// before the first run).
func (s *session) stopTestC() <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return nil
	}
	return s.drv.StopTest()
}

func isActive(st runner.State) bool {
	return st == runner.StateSpawning || st == runner.StateRunning
}

// active tells whether a test is spawning or running.
func (s *session) active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drv != nil && isActive(s.drv.State())
}

// UserCount is the number of running users.
func (s *session) UserCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return 0
	}
	return s.drv.UserCount()
}

// classCounts is the number of running users per class.
func (s *session) classCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return map[string]int{}
	}
	return s.drv.ClassCounts()
}
