package locust

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/health"
	"github.com/golocust/golocust/metrics"
	"github.com/golocust/golocust/stats"
)

// serve runs the session until ctx ends, or, headless, until the run is
// over; then it stops the users and writes the final outputs.
func (s *session) serve(ctx context.Context) (*Result, error) {
	cfg := s.cfg
	s.started = time.Now()
	s.ctx = ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.hookInit(); err != nil {
		return nil, err
	}
	// The probes listen before the web UI, so that they answer as soon
	// as the UI does.
	healthDone, err := serveHealth(ctx, cfg, s.log, s.readiness,
		health.Route{Pattern: "GET /metrics", Handler: metrics.Handler(s.metricsHandler())})
	if err != nil {
		return nil, err
	}
	defer func() {
		cancel()
		if healthDone != nil {
			<-healthDone
		}
	}()
	webDone, err := s.startWeb(ctx)
	if err != nil {
		return nil, err
	}
	if s.beforeStart != nil && (cfg.Headless || cfg.Autostart) {
		// A master waits for its workers here, with the web UI and the
		// probes already up (readiness says how many have connected).
		if err := s.beforeStart(ctx); err != nil {
			cancel()
			if webDone != nil {
				<-webDone
			}
			if errors.Is(err, context.Canceled) {
				s.log.Info("shutting down before the run started")
				return s.finish(time.Now())
			}
			return nil, err
		}
	}
	if cfg.Headless || cfg.Autostart {
		s.log.Info("starting run", zap.Int("users", cfg.Users), zap.Float64("spawn_rate", cfg.SpawnRate),
			zap.Duration("run_time", cfg.RunTime), zap.String("host", cfg.Host))
		if err := s.startRun(cfg.Users, cfg.SpawnRate, cfg.Host, cfg.RunTime, nil); err != nil {
			cancel()
			if webDone != nil {
				<-webDone
			}
			return nil, err
		}
	}
	console := time.NewTicker(consoleInterval)
	defer console.Stop()
	csvTick := time.NewTicker(csvInterval)
	defer csvTick.Stop()
	historyTick := time.NewTicker(historyInterval)
	defer historyTick.Stop()
	thresholdTick := time.NewTicker(thresholdInterval)
	defer thresholdTick.Stop()
	watchTick := time.NewTicker(generatorWatchInterval)
	defer watchTick.Stop()
	var watch generatorWatch
	printTables := (cfg.Headless && !cfg.OnlySummary) || cfg.PrintStats
	// autoquit fires --autoquit after an autostarted run has ended.
	var autoquit <-chan time.Time
loop:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
			break loop
		case <-s.ended:
			if cfg.Autostart && cfg.Autoquit && !cfg.Headless {
				s.log.Info("the run has ended; quitting after --autoquit", zap.Duration("autoquit", cfg.AutoquitAfter))
				autoquit = time.After(cfg.AutoquitAfter)
			}
		case <-autoquit:
			autoquit = nil
			if s.active() {
				// A run started from the web UI meanwhile: its end
				// re-arms the quit.
				continue
			}
			s.log.Info("--autoquit time reached, shutting down")
			break loop
		case err := <-webDone:
			if err != nil {
				s.log.Error("web UI stopped", zap.Error(err))
				s.stopRun()
				res, ferr := s.finish(time.Now())
				return res, errors.Join(err, ferr)
			}
			webDone = nil
		case gen := <-s.timeUp:
			if s.currentGen() != gen {
				continue
			}
			s.log.Info("run time limit reached, stopping")
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case <-s.loadFinished():
			s.log.Info("the load model has ended the run, stopping")
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case err := <-s.stopTestC():
			s.log.Info("a user stopped the test", zap.Error(err))
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case now := <-console.C:
			if printTables && s.active() {
				snap := s.snapshot()
				stats.WriteConsoleStats(s.stderr, snap, now, false)
				s.writeStatus(s.stderr, snap, now)
			}
		case now := <-thresholdTick.C:
			if s.active() && s.checkAbort(now) {
				s.stopRun()
				if cfg.Headless {
					break loop
				}
			}
		case <-watchTick.C:
			if s.active() {
				snap := s.snapshot()
				watch.check(s.log, snap, s.currentGen())
				s.endedLog.log(s.log, snap.EndedUsers)
			}
		case now := <-csvTick.C:
			if s.csv != nil && s.active() {
				if err := s.csv.write(s.snapshot(), s.UserCount(), now); err != nil {
					s.log.Error("writing CSV", zap.Error(err))
				}
			}
		case now := <-historyTick.C:
			if s.active() {
				s.appendHistory(now)
			}
		}
	}
	s.stopRun()
	s.quit()
	cancel()
	if webDone != nil {
		<-webDone
	}
	return s.finish(time.Now())
}

// startWeb serves the web UI unless the run is headless; the returned
// channel yields once the server has stopped.
func (s *session) startWeb(ctx context.Context) (<-chan error, error) {
	if s.cfg.Headless {
		return nil, nil
	}
	return serveWeb(ctx, s)
}
