package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/golocust/golocust/stats"
)

// ErrNoHDR is wrapped by Load and Read when a file has no histogram data:
// it was written by Locust or by a golocust from before the "hdr" key.
var ErrNoHDR = errors.New("no HDR histogram data")

// ErrNotRun is wrapped by Load and Read when a file is not a --json-file
// (or --json) output.
var ErrNotRun = errors.New("not a golocust JSON statistics file")

// maxFileSize bounds what Load reads: a run with the full 1,000 names
// writes a few MB.
const maxFileSize = 256 << 20

// fileEntry is the part of a --json entry that a comparison needs.
type fileEntry struct {
	Name          *string          `json:"name"`
	Method        *string          `json:"method"`
	LastRequest   *float64         `json:"last_request_timestamp"`
	StartTime     *float64         `json:"start_time"`
	NumRequests   *int64           `json:"num_requests"`
	NumFailures   int64            `json:"num_failures"`
	TotalTime     float64          `json:"total_response_time"`
	MaxTime       float64          `json:"max_response_time"`
	MinTime       *float64         `json:"min_response_time"`
	TotalBytes    int64            `json:"total_content_length"`
	NumReqsPerSec map[string]int64 `json:"num_reqs_per_sec"`
	NumFailPerSec map[string]int64 `json:"num_fail_per_sec"`
	HDR           *string          `json:"hdr"`
	HDRCorrected  string           `json:"hdr_corrected"`
}

// Load reads a run saved with --json-file (or --json). See Read.
func Load(path string) (*stats.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads a run saved with --json-file or --json from r (name is used
// in errors): Locust's bare list of entries, or golocust's object with the
// list under "stats". It gives back the snapshot the run ended with, as far
// as the file holds it: per entry the counts, sums, extremes and the
// histograms (exactly), and the Aggregated row as their merge. Errors wrap
// ErrNotRun or ErrNoHDR and say what to do.
func Read(r io.Reader, name string) (*stats.Snapshot, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: %w: larger than %d MiB", name, ErrNotRun, maxFileSize>>20)
	}
	notRun := func(why string) error {
		return fmt.Errorf("%s: %w (%s): pass a file written by --json-file", name, ErrNotRun, why)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, notRun("the file is empty")
	}
	var list []fileEntry
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, notRun(err.Error())
		}
	case '{':
		var doc struct {
			Stats *[]fileEntry `json:"stats"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, notRun(err.Error())
		}
		if doc.Stats == nil {
			return nil, notRun(`a JSON object without a "stats" list`)
		}
		list = *doc.Stats
	default:
		return nil, notRun("not JSON")
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: the run recorded no requests, so there is nothing to compare: record a run that made requests", name)
	}
	snap := &stats.Snapshot{Total: &stats.Entry{Name: stats.AggregatedName}}
	for i, fe := range list {
		e, err := fe.entry()
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", name, i+1, err)
		}
		snap.Entries = append(snap.Entries, e)
		snap.Total.Merge(e)
	}
	sort.Slice(snap.Entries, func(i, j int) bool {
		a, b := snap.Entries[i], snap.Entries[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Method < b.Method
	})
	snap.Start, snap.LastRequest = snap.Total.Start, snap.Total.LastRequest
	return snap, nil
}

func (fe *fileEntry) entry() (*stats.Entry, error) {
	if fe.Name == nil || fe.Method == nil || fe.NumRequests == nil {
		return nil, fmt.Errorf(`%w: an entry lacks "name", "method" or "num_requests"; pass a file written by --json-file`, ErrNotRun)
	}
	what := strconv.Quote(*fe.Method + " " + *fe.Name)
	if fe.HDR == nil {
		return nil, fmt.Errorf("%s: %w (it was written by Locust or an older golocust): re-record the baseline with this version's --json-file", what, ErrNoHDR)
	}
	e := &stats.Entry{
		Method: *fe.Method, Name: *fe.Name,
		NumRequests: *fe.NumRequests, NumFailures: fe.NumFailures,
		TotalTime: msDuration(fe.TotalTime), Max: msDuration(fe.MaxTime), TotalBytes: fe.TotalBytes,
	}
	if e.NumRequests < 0 || e.NumFailures < 0 {
		return nil, fmt.Errorf("%s: negative counts: %w", what, ErrNotRun)
	}
	if fe.MinTime != nil {
		e.Min = msDuration(*fe.MinTime)
	}
	if fe.StartTime != nil {
		e.Start = unixTime(*fe.StartTime)
	}
	if fe.LastRequest != nil {
		e.LastRequest = unixTime(*fe.LastRequest)
	}
	var err error
	if e.Hist, err = stats.DecodeHistogram(*fe.HDR); err != nil {
		return nil, fmt.Errorf(`%s: "hdr": %w`, what, err)
	}
	if fe.HDRCorrected != "" {
		if e.CorrectedHist, err = stats.DecodeHistogram(fe.HDRCorrected); err != nil {
			return nil, fmt.Errorf(`%s: "hdr_corrected": %w`, what, err)
		}
	}
	e.ReqPerSec = seconds(fe.NumReqsPerSec)
	e.FailPerSec = seconds(fe.NumFailPerSec)
	return e, nil
}

func msDuration(ms float64) time.Duration {
	if math.IsNaN(ms) || ms < 0 {
		return 0
	}
	return time.Duration(math.Round(ms * float64(time.Millisecond)))
}

func unixTime(sec float64) time.Time {
	if sec <= 0 || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return time.Time{}
	}
	s, frac := math.Modf(sec)
	return time.Unix(int64(s), int64(frac*1e9))
}

func seconds(m map[string]int64) map[int64]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[int64]int64, len(m))
	for k, v := range m {
		if s, err := strconv.ParseInt(k, 10, 64); err == nil {
			out[s] = v
		}
	}
	return out
}
