package locust

import (
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// parseLevel maps Locust's level names (and zap's) onto zap levels.
func parseLevel(s string) (zapcore.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "INFO":
		return zapcore.InfoLevel, nil
	case "DEBUG":
		return zapcore.DebugLevel, nil
	case "WARNING", "WARN":
		return zapcore.WarnLevel, nil
	case "ERROR":
		return zapcore.ErrorLevel, nil
	case "CRITICAL", "FATAL":
		return zapcore.FatalLevel, nil
	}
	return 0, fmt.Errorf("-L/--loglevel is %q: want DEBUG, INFO, WARNING, ERROR or CRITICAL", s)
}

// newLogger builds the run's logger: console-encoded lines to the log file
// or stderr. The returned func closes the log file, if one was opened.
func newLogger(c *Config, stderr io.Writer, ring *logRing) (*zap.Logger, func(), error) {
	if c.Logger != nil {
		return c.Logger, func() {}, nil
	}
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	out := zapcore.AddSync(stderr)
	closeFn := func() {}
	if c.LogFile != "" {
		f, err := os.OpenFile(c.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--logfile: %w", err)
		}
		out = zapcore.AddSync(f)
		closeFn = func() { _ = f.Close() }
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeLevel = zapcore.CapitalLevelEncoder
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(out), level)
	if ring != nil {
		// The web UI's Logs tab shows the same lines.
		core = zapcore.NewTee(core, zapcore.NewCore(zapcore.NewConsoleEncoder(enc), ring, level))
	}
	return zap.New(core).Named("locust"), closeFn, nil
}
