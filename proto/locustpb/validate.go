package locustpb

import (
	"errors"
	"fmt"
)

// Limits bound what a single decoded message may contain. Zero fields take
// the defaults in DefaultLimits.
type Limits struct {
	MaxIDLen        int   // worker id, hostname, version
	MaxNameLen      int   // stats names, methods, class names, custom types
	MaxTextLen      int   // error messages, exception messages and tracebacks, reasons
	MaxEntries      int   // stats entries, errors or exceptions in one report; user classes in a map
	MaxSeconds      int   // per-second counters per entry
	MaxHistogramLen int   // encoded histogram bytes
	MaxCustomLen    int   // custom message payload
	MaxUsers        int64 // users in one count, and in all classes of a spawn together
	MaxCount        int64 // requests, failures, bytes or occurrences in one report field
}

// MaxSpanUs is the longest span in microseconds a message may carry (a
// stop timeout, an arrival stage): 365 days, the largest span golocust
// accepts anywhere (internal/timespan.Max), so that no duration computed
// from a message overflows.
const MaxSpanUs = 365 * 24 * 3600 * 1_000_000

// maxUnixUs bounds timestamps (microseconds since 1970): the year 9999,
// within what time.UnixMicro and the per-second counters handle.
const maxUnixUs = 253402300799 * 1_000_000

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
	MaxUsers:        10_000_000,
	MaxCount:        1 << 40,
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
	if l.MaxUsers > 0 {
		d.MaxUsers = l.MaxUsers
	}
	if l.MaxCount > 0 {
		d.MaxCount = l.MaxCount
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
		if h.GetUserCount() < 0 || h.GetUserCount() > l.MaxUsers {
			return invalid("heartbeat: user count %d out of range 0..%d", h.GetUserCount(), l.MaxUsers)
		}
		return nil
	case *WorkerMessage_Spawning:
		return nil
	case *WorkerMessage_SpawningComplete:
		sc := k.SpawningComplete
		if sc.GetUserCount() < 0 || sc.GetUserCount() > l.MaxUsers {
			return invalid("spawning complete: user count %d out of range 0..%d", sc.GetUserCount(), l.MaxUsers)
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
	case *WorkerMessage_StopTest:
		return validateText("stop test reason", k.StopTest.GetReason(), l.MaxTextLen)
	case *WorkerMessage_Leaving:
		return nil
	case *WorkerMessage_Logs:
		lines := k.Logs.GetLines()
		if len(lines) > l.MaxEntries {
			return invalid("logs: %d lines, more than %d", len(lines), l.MaxEntries)
		}
		size := 0
		for _, line := range lines {
			if size += len(line); size > l.MaxCustomLen {
				return invalid("logs: more than %d bytes", l.MaxCustomLen)
			}
		}
		return nil
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
		if s.GetStopTimeoutUs() < 0 || s.GetStopTimeoutUs() > MaxSpanUs {
			return invalid("spawn: stop timeout %dµs out of range 0..%d", s.GetStopTimeoutUs(), int64(MaxSpanUs))
		}
		if err := validateCounts("spawn", s.GetUserClassCounts(), l); err != nil {
			return err
		}
		var users int64
		for _, n := range s.GetUserClassCounts() {
			if users += n; users > l.MaxUsers {
				return invalid("spawn: more than %d users", l.MaxUsers)
			}
		}
		if err := validateText("spawn host", s.GetHost(), l.MaxNameLen); err != nil {
			return err
		}
		o := s.GetOptions()
		if len(o.GetTags())+len(o.GetExcludeTags()) > l.MaxEntries {
			return invalid("spawn: too many tags")
		}
		if err := validateClassSettings(o.GetClasses(), l); err != nil {
			return err
		}
		if a := o.GetArrival(); a != nil {
			r := a.GetIterationsPerSecond()
			if r < 0 || r != r || r > 1e12 || a.GetMaxIterations() < 0 || a.GetMaxUsers() < 0 || a.GetMaxUsers() > l.MaxUsers {
				return invalid("spawn: arrival options out of range")
			}
			cr := a.GetClusterRate()
			if cr < 0 || cr != cr || cr > 1e12 || a.GetPreAllocate() < 0 || a.GetPreAllocate() > l.MaxUsers || a.GetParts() < 0 || a.GetPart() < 0 ||
				(a.GetParts() > 0 && a.GetPart() >= a.GetParts()) || (a.GetParts() == 0 && a.GetPart() > 0) {
				return invalid("spawn: arrival schedule options out of range")
			}
			if len(a.GetClusterStages()) > l.MaxEntries {
				return invalid("spawn: too many arrival stages")
			}
			var total int64
			for _, st := range a.GetClusterStages() {
				sr := st.GetRate()
				if st.GetDurationUs() < 0 || st.GetDurationUs() > MaxSpanUs || sr < 0 || sr != sr || sr > 1e12 {
					return invalid("spawn: arrival stage out of range")
				}
				if total += st.GetDurationUs(); total > MaxSpanUs {
					return invalid("spawn: arrival stages longer than %dµs together", int64(MaxSpanUs))
				}
			}
		}
		return nil
	case *MasterMessage_SpawningComplete:
		if n := k.SpawningComplete.GetUserCount(); n < 0 || n > l.MaxUsers {
			return invalid("spawning complete: user count %d out of range 0..%d", n, l.MaxUsers)
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
	case *MasterMessage_Numbering:
		n := k.Numbering
		if n.GetStride() < 1 || n.GetBase() < 0 || n.GetBase() > l.MaxCount {
			return invalid("numbering: stride %d or base %d out of range", n.GetStride(), n.GetBase())
		}
		if len(n.GetPositions()) > l.MaxEntries {
			return invalid("numbering: more than %d classes", l.MaxEntries)
		}
		for c, p := range n.GetPositions() {
			if err := validateText("numbering class", c, l.MaxNameLen); err != nil {
				return err
			}
			if p < 0 || p >= n.GetStride() {
				return invalid("numbering: position %d of class %q out of range 0..%d", p, c, n.GetStride()-1)
			}
		}
		return nil
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
		if n < 0 || n > l.MaxUsers {
			return invalid("%s: count %d for class %q out of range 0..%d", what, n, name, l.MaxUsers)
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
	if s.GetUserCount() < 0 || s.GetUserCount() > l.MaxUsers {
		return invalid("stats: user count %d out of range 0..%d", s.GetUserCount(), l.MaxUsers)
	}
	if !inRange(l.MaxCount, s.GetIterationsRun(), s.GetIterationsDropped()) {
		return invalid("stats: iteration count out of range 0..%d", l.MaxCount)
	}
	if !inRange(maxUnixUs, s.GetStartUnixUs()) {
		return invalid("stats: start time out of range")
	}
	if len(s.GetOmittedHistogram()) > l.MaxHistogramLen || len(s.GetLagHistogram()) > l.MaxHistogramLen {
		return invalid("stats: omitted or lag histogram of more than %d bytes", l.MaxHistogramLen)
	}
	if len(s.GetEndedUsers()) > l.MaxEntries {
		return invalid("stats: %d reasons users ended, more than %d", len(s.GetEndedUsers()), l.MaxEntries)
	}
	for reason, n := range s.GetEndedUsers() {
		if reason == "" || len(reason) > l.MaxNameLen || n < 0 || n > l.MaxUsers {
			return invalid("stats: ended users: empty or overlong reason, or count %d out of range 0..%d", n, l.MaxUsers)
		}
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
		if !inRange(l.MaxCount, e.GetOccurrences()) {
			return invalid("stats error %d: occurrences out of range 0..%d", i, l.MaxCount)
		}
		if !inRange(maxUnixUs, e.GetFirstSeenUnixUs(), e.GetLastSeenUnixUs()) {
			return invalid("stats error %d: time out of range", i)
		}
		if e.GetFirstSeenUnixUs() > e.GetLastSeenUnixUs() {
			return invalid("stats error %d: first seen after last seen", i)
		}
	}
	for i, e := range s.GetExceptions() {
		if len(e.GetMessage()) > l.MaxTextLen || len(e.GetTraceback()) > l.MaxTextLen {
			return invalid("stats exception %d: overlong message or traceback", i)
		}
		if !inRange(l.MaxCount, e.GetCount()) {
			return invalid("stats exception %d: count out of range 0..%d", i, l.MaxCount)
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
	if !inRange(l.MaxCount, e.GetNumRequests(), e.GetNumFailures(), e.GetTotalBytes()) {
		return invalid("%q: count or size out of range 0..%d", e.GetName(), l.MaxCount)
	}
	if !inRange(MaxSpanUs, e.GetMinUs(), e.GetMaxUs()) || !inRange(maxTotalUs, e.GetTotalTimeUs()) {
		return invalid("%q: time out of range", e.GetName())
	}
	if !inRange(maxUnixUs, e.GetStartUnixUs(), e.GetLastRequestUnixUs()) || !inRange(maxUnixUs/1_000_000, e.GetFirstSecond()) {
		return invalid("%q: timestamp out of range", e.GetName())
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
	if !inRange(l.MaxCount, e.GetRequestsPerSecond()...) || !inRange(l.MaxCount, e.GetFailuresPerSecond()...) {
		return invalid("%q: per-second count out of range 0..%d", e.GetName(), l.MaxCount)
	}
	if len(e.GetExemplars()) > MaxExemplars {
		return invalid("%q: more than %d exemplars", e.GetName(), MaxExemplars)
	}
	for _, x := range e.GetExemplars() {
		if len(x.GetTraceId()) != 16 || len(x.GetSpanId()) != 8 {
			return invalid("%q: an exemplar's trace id is not 16 bytes or its span id not 8", e.GetName())
		}
		if !inRange(MaxSpanUs, x.GetResponseTimeUs()) || !inRange(maxUnixUs, x.GetUnixUs()) {
			return invalid("%q: an exemplar's time is out of range", e.GetName())
		}
	}
	return nil
}

// MaxExemplars bounds the exemplars of one stats entry on the wire (a
// worker sends at most stats.MaxExemplars).
const MaxExemplars = 64

// maxTotalUs bounds the summed response time of one report's entry: 2^52
// µs (142 years), so that sums over many reports stay far from overflow.
const maxTotalUs = 1 << 52

// inRange tells whether every v is in 0..max.
func inRange(max int64, vs ...int64) bool {
	for _, v := range vs {
		if v < 0 || v > max {
			return false
		}
	}
	return true
}

// validateClassSettings bounds the class picker's settings of a spawn.
func validateClassSettings(cs []*ClassSettings, l Limits) error {
	if len(cs) > l.MaxEntries {
		return invalid("spawn: too many class settings")
	}
	for _, c := range cs {
		if c.GetWeight() < 0 || c.GetWeight() > l.MaxUsers || c.GetFixedCount() < 0 || c.GetFixedCount() > l.MaxUsers {
			return invalid("spawn: class %q: weight or fixed count out of range 0..%d", c.GetName(), l.MaxUsers)
		}
		if len(c.GetTasks()) > l.MaxEntries {
			return invalid("spawn: class %q: too many tasks", c.GetName())
		}
		if err := validateText("spawn class name", c.GetName(), l.MaxNameLen); err != nil {
			return err
		}
		if err := validateText("spawn class host", c.GetHost(), l.MaxNameLen); err != nil {
			return err
		}
	}
	return nil
}
