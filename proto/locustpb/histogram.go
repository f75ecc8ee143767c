package locustpb

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry a peer may send. Latencies are microseconds: 1 µs up to
// about 12.7 days at 3 significant digits needs 31 buckets of 1024 counters
// (256 KiB dense), which bounds what a report can make the receiver
// allocate per histogram.
const (
	MaxHistogramSignificantDigits = 3
	MaxHistogramHighest           = int64(1) << 40
	v2CompressedCookie            = int32(0x1c849304) | 0x10
	v2Cookie                      = int32(0x1c849303) | 0x10
	v2HeaderSize                  = 40
)

// ErrBadHistogram is wrapped by DecodeHistogram's errors.
var ErrBadHistogram = errors.New("bad histogram encoding")

// EncodeHistogram encodes h in HdrHistogram's V2 compressed format, as raw
// bytes (hdrhistogram-go's Encode output without its base64). A nil
// histogram encodes as nil.
func EncodeHistogram(h *hdrhistogram.Histogram) ([]byte, error) {
	if h == nil {
		return nil, nil
	}
	b64, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(raw, b64)
	if err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	return raw[:n], nil
}

// DecodeHistogram decodes what EncodeHistogram produced. Empty input decodes
// as nil. Before anything is allocated it checks the geometry in the
// header: lowest ≥ 1, highest ≤ MaxHistogramHighest, at most
// MaxHistogramSignificantDigits digits, so a hostile peer cannot make the
// receiver allocate more than a normal latency histogram.
func DecodeHistogram(b []byte) (*hdrhistogram.Histogram, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if err := checkHistogramHeader(b); err != nil {
		return nil, err
	}
	h, err := hdrhistogram.Decode([]byte(base64.StdEncoding.EncodeToString(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHistogram, err)
	}
	return h, nil
}

func checkHistogramHeader(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: %d bytes, shorter than the 8-byte header", ErrBadHistogram, len(b))
	}
	if c := int32(binary.BigEndian.Uint32(b)); c != v2CompressedCookie {
		return fmt.Errorf("%w: cookie %#x is not V2 compressed", ErrBadHistogram, uint32(c))
	}
	n := int32(binary.BigEndian.Uint32(b[4:]))
	if n < 0 || int(n) > len(b)-8 {
		return fmt.Errorf("%w: compressed length %d does not fit in %d bytes", ErrBadHistogram, n, len(b)-8)
	}
	z, err := zlib.NewReader(bytes.NewReader(b[8 : 8+n]))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadHistogram, err)
	}
	defer func() { _ = z.Close() }()
	var hdr [v2HeaderSize]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return fmt.Errorf("%w: header: %v", ErrBadHistogram, err)
	}
	if _, err := parseGeometry(hdr[:]); err != nil {
		return err
	}
	return nil
}
