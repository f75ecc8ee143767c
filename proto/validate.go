package locustpb

import (
	"errors"
	"fmt"
)

// Limits bound what a single decoded message may contain. Zero fields take
// the defaults in DefaultLimits.
type Limits struct {
	MaxIDLen        int // worker id, hostname, version
	MaxNameLen      int // stats names, methods, class names, custom types
	MaxTextLen      int // error messages, exception messages and tracebacks, reasons
	MaxEntries      int // stats entries, errors or exceptions in one report; user classes in a map
	MaxSeconds      int // per-second counters per entry
	MaxHistogramLen int // encoded histogram bytes
	MaxCustomLen    int // custom message payload
}

// DefaultLimits are generous for honest peers and keep a hostile one from
// making the receiver do unbounded work.
var DefaultLimits = Limits{
	MaxIDLen:        256,
	MaxNameLen:      8 << 10,
	MaxTextLen:      64 << 10,
	MaxEntries:      100_000,
	MaxSeconds:      3600,
	MaxHistogramLen: 256 << 10,
	MaxCustomLen:    8 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxIDLen > 0 {
		d.MaxIDLen = l.MaxIDLen
	}
	if l.MaxNameLen > 0 {
		d.MaxNameLen = l.MaxNameLen
	}
	if l.MaxTextLen > 0 {
		d.MaxTextLen = l.MaxTextLen
	}
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	if l.MaxSeconds > 0 {
		d.MaxSeconds = l.MaxSeconds
	}
	if l.MaxHistogramLen > 0 {
		d.MaxHistogramLen = l.MaxHistogramLen
	}
	if l.MaxCustomLen > 0 {
		d.MaxCustomLen = l.MaxCustomLen
	}
	return d
}

// ErrInvalidMessage is wrapped by every validation error.
var ErrInvalidMessage = errors.New("invalid message")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, a...))
}

// ValidateWorkerMessage checks a decoded worker message against the
// protocol's rules and the limits: exactly one kind is set, required fields
// are present, counts are non-negative, sizes are bounded. It does not
// decode histograms (DecodeHistogram validates those). proto.Unmarshal has
// already checked that strings are valid UTF-8.
func ValidateWorkerMessage(m *WorkerMessage, lim Limits) error {
	if m == nil {
		return invalid("nil message")
	}
	l := lim.withDefaults()
	switch k := m.GetKind().(type) {
	case *WorkerMessage_Hello:
		return validateHello(k.Hello, l)
	case *WorkerMessage_Heartbeat:
		h := k.Heartbeat
		if h == nil {
			return nil
		}
		if h.GetState() < 0 || h.GetState() > WorkerState_WORKER_STATE_STOPPED {
			return invalid("heartbeat: unknown worker state %d", h.GetState())
		}
		if h.GetCpuPercent() < 0 || h.GetCpuPercent() != h.GetCpuPercent() || h.GetCpuPercent() > 1e6 {
			return invalid("heartbeat: cpu percent %v out of range", h.GetCpuPercent())
		}
		if h.GetUserCount() < 0 {
			return invalid("heartbeat: negative user count")
		}
		return nil
	case *WorkerMessage_Spawning:
		return nil
	case *WorkerMessage_SpawningComplete:
		sc := k.SpawningComplete
		if sc.GetUserCount() < 0 {
			return invalid("spawning complete: negative user count")
		}
		return validateCounts("spawning complete", sc.GetUserClassCounts(), l)
	case *WorkerMessage_Stats:
		return validateStats(k.Stats, l)
	case *WorkerMessage_Stopped:
		return nil
	case *WorkerMessage_Quit:
		return validateText("quit reason", k.Quit.GetReason(), l.MaxTextLen)
	case *WorkerMessage_Custom:
		return validateCustom(k.Custom, l)
	case *WorkerMessage_Goodbye:
		return validateText("goodbye reason", k.Goodbye.GetReason(), l.MaxTextLen)
	case nil:
		return invalid("no message kind set (unknown or empty envelope)")
	default:
		return invalid("unexpected message kind %T", k)
	}
}

// ValidateMasterMessage is ValidateWorkerMessage for the other direction.
func ValidateMasterMessage(m *MasterMessage, lim Limits) error {
	if m == nil {
		return invalid("nil message")
	}
	l := lim.withDefaults()
	switch k := m.GetKind().(type) {
	case *MasterMessage_Ack:
		a := k.Ack
		if a.GetWorkerIndex() < 0 || a.GetWorkerCount() < 1 || a.GetWorkerIndex() >= a.GetWorkerCount() {
			return invalid("ack: worker index %d out of range for %d workers", a.GetWorkerIndex(), a.GetWorkerCount())
		}
		if _, err := MajorVersion(a.GetVersion()); err != nil {
			return invalid("ack: %v", err)
		}
		return nil
	case *MasterMessage_Heartbeat:
		return nil
	case *MasterMessage_Spawn:
		s := k.Spawn
		if s.GetStopTimeoutUs() < 0 {
			return invalid("spawn: negative stop timeout")
		}
		if err := validateCounts("spawn", s.GetUserClassCounts(), l); err != nil {
			return err
		}
		if err := validateText("spawn host", s.GetHost(), l.MaxNameLen); err != nil {
			return err
		}
		o := s.GetOptions()
		if len(o.GetTags())+len(o.GetExcludeTags()) > l.MaxEntries {
			return invalid("spawn: too many tags")
		}
		if a := o.GetArrival(); a != nil {
			r := a.GetIterationsPerSecond()
			if r < 0 || r != r || r > 1e12 || a.GetMaxIterations() < 0 || a.GetMaxUsers() < 0 {
				return invalid("spawn: arrival options out of range")
			}
			cr := a.GetClusterRate()
			if cr < 0 || cr != cr || cr > 1e12 || a.GetPreAllocate() < 0 || a.GetParts() < 0 || a.GetPart() < 0 ||
				(a.GetParts() > 0 && a.GetPart() >= a.GetParts()) || (a.GetParts() == 0 && a.GetPart() > 0) {
				return invalid("spawn: arrival schedule options out of range")
			}
			if len(a.GetClusterStages()) > l.MaxEntries {
				return invalid("spawn: too many arrival stages")
			}
			for _, st := range a.GetClusterStages() {
				sr := st.GetRate()
				if st.GetDurationUs() < 0 || sr < 0 || sr != sr || sr > 1e12 {
					return invalid("spawn: arrival stage out of range")
				}
			}
		}
		return nil
	case *MasterMessage_SpawningComplete:
		if k.SpawningComplete.GetUserCount() < 0 {
			return invalid("spawning complete: negative user count")
		}
		return nil
	case *MasterMessage_Stop:
		return nil
	case *MasterMessage_Quit:
		return validateText("quit reason", k.Quit.GetReason(), l.MaxTextLen)
	case *MasterMessage_Reconnect:
		return validateText("reconnect reason", k.Reconnect.GetReason(), l.MaxTextLen)
	case *MasterMessage_Custom:
		return validateCustom(k.Custom, l)
	case *MasterMessage_Goodbye:
		return validateText("goodbye reason", k.Goodbye.GetReason(), l.MaxTextLen)
	case nil:
		return invalid("no message kind set (unknown or empty envelope)")
	default:
		return invalid("unexpected message kind %T", k)
	}
}

func validateHello(h *Hello, l Limits) error {
	if h.GetWorkerId() == "" {
		return invalid("hello: empty worker id")
	}
	if len(h.GetWorkerId()) > l.MaxIDLen || len(h.GetHostname()) > l.MaxIDLen || len(h.GetVersion()) > l.MaxIDLen {
		return invalid("hello: worker id, hostname or version longer than %d bytes", l.MaxIDLen)
	}
	for _, r := range h.GetWorkerId() {
		if r < 0x20 || r == 0x7f {
			return invalid("hello: control character in worker id")
		}
	}
	if _, err := MajorVersion(h.GetVersion()); err != nil {
		return invalid("hello: %v", err)
	}
	if h.GetPid() < 0 || h.GetCpuCount() < 0 {
		return invalid("hello: negative pid or cpu count")
	}
	return nil
}

func validateText(what, s string, max int) error {
	if len(s) > max {
		return invalid("%s longer than %d bytes", what, max)
	}
	return nil
}

func validateCounts(what string, m map[string]int64, l Limits) error {
	if len(m) > l.MaxEntries {
		return invalid("%s: %d user classes, more than %d", what, len(m), l.MaxEntries)
	}
	for name, n := range m {
		if name == "" || len(name) > l.MaxNameLen {
			return invalid("%s: empty or overlong user class name", what)
		}
		if n < 0 {
			return invalid("%s: negative count %d for class %q", what, n, name)
		}
	}
	return nil
}

func validateCustom(c *Custom, l Limits) error {
	if c.GetType() == "" || len(c.GetType()) > l.MaxNameLen {
		return invalid("custom: empty or overlong type")
	}
	if len(c.GetData()) > l.MaxCustomLen {
		return invalid("custom: %d data bytes, more than %d", len(c.GetData()), l.MaxCustomLen)
	}
	return nil
}

func validateStats(s *StatsReport, l Limits) error {
	if len(s.GetEntries()) > l.MaxEntries || len(s.GetErrors()) > l.MaxEntries || len(s.GetExceptions()) > l.MaxEntries {
		return invalid("stats: more than %d entries, errors or exceptions", l.MaxEntries)
	}
	if s.GetUserCount() < 0 {
		return invalid("stats: negative user count")
	}
	if s.GetIterationsRun() < 0 || s.GetIterationsDropped() < 0 {
		return invalid("stats: negative iteration count")
	}
	if len(s.GetOmittedHistogram()) > l.MaxHistogramLen {
		return invalid("stats: omitted histogram of %d bytes, more than %d", len(s.GetOmittedHistogram()), l.MaxHistogramLen)
	}
	if err := validateCounts("stats", s.GetUserClassCounts(), l); err != nil {
		return err
	}
	for i, e := range s.GetEntries() {
		if err := validateEntry(e, l, false); err != nil {
			return fmt.Errorf("stats entry %d: %w", i, err)
		}
	}
	if s.GetTotal() != nil {
		if err := validateEntry(s.GetTotal(), l, true); err != nil {
			return fmt.Errorf("stats total: %w", err)
		}
	}
	for i, e := range s.GetErrors() {
		if len(e.GetMethod()) > l.MaxNameLen || len(e.GetName()) > l.MaxNameLen || len(e.GetMessage()) > l.MaxTextLen {
			return invalid("stats error %d: overlong method, name or message", i)
		}
		if e.GetOccurrences() < 0 {
			return invalid("stats error %d: negative occurrences", i)
		}
		if e.GetFirstSeenUnixUs() > e.GetLastSeenUnixUs() {
			return invalid("stats error %d: first seen after last seen", i)
		}
	}
	for i, e := range s.GetExceptions() {
		if len(e.GetMessage()) > l.MaxTextLen || len(e.GetTraceback()) > l.MaxTextLen {
			return invalid("stats exception %d: overlong message or traceback", i)
		}
		if e.GetCount() < 0 {
			return invalid("stats exception %d: negative count", i)
		}
	}
	return nil
}

func validateEntry(e *StatsEntry, l Limits, total bool) error {
	if !total && e.GetName() == "" {
		return invalid("empty name")
	}
	if len(e.GetName()) > l.MaxNameLen || len(e.GetMethod()) > l.MaxNameLen {
		return invalid("name or method longer than %d bytes", l.MaxNameLen)
	}
	if e.GetNumRequests() < 0 || e.GetNumFailures() < 0 || e.GetTotalTimeUs() < 0 || e.GetTotalBytes() < 0 ||
		e.GetMinUs() < 0 || e.GetMaxUs() < 0 {
		return invalid("%q: negative count, time or size", e.GetName())
	}
	if e.GetNumRequests() > 0 && e.GetMinUs() > e.GetMaxUs() {
		return invalid("%q: min %dµs above max %dµs", e.GetName(), e.GetMinUs(), e.GetMaxUs())
	}
	if len(e.GetHistogram()) > l.MaxHistogramLen || len(e.GetCorrectedHistogram()) > l.MaxHistogramLen {
		return invalid("%q: histogram longer than %d bytes", e.GetName(), l.MaxHistogramLen)
	}
	if len(e.GetRequestsPerSecond()) > l.MaxSeconds || len(e.GetFailuresPerSecond()) > l.MaxSeconds {
		return invalid("%q: more than %d per-second counters", e.GetName(), l.MaxSeconds)
	}
	if e.GetFirstSecond() < 0 {
		return invalid("%q: negative first second", e.GetName())
	}
	for _, n := range e.GetRequestsPerSecond() {
		if n < 0 {
			return invalid("%q: negative per-second count", e.GetName())
		}
	}
	for _, n := range e.GetFailuresPerSecond() {
		if n < 0 {
			return invalid("%q: negative per-second count", e.GetName())
		}
	}
	return nil
}
