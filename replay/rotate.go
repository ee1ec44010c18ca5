package replay

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A recording directory holds numbered pairs of files: a trace file in
// pubsub's delimited protobuf format and the extras written beside it,
//
//	trace-000001.pb.gz   extra-000001.jsonl.gz
//	trace-000002.pb.gz   extra-000002.jsonl.gz
//
// (without .gz when the Recorder does not compress). Numbers grow by one
// per pair, across restarts of the recording node, so that reading the
// pairs by number reads the recording in order. The Recorder creates a
// pair's extras file before its trace file and deletes the trace file
// before the extras file, so that a crash between the two leaves an
// extras file alone (ignored by Open and deleted by the next Recorder),
// never a trace file without its extras.
const (
	tracePrefix = "trace-"
	extraPrefix = "extra-"
	traceExt    = ".pb"
	extraExt    = ".jsonl"
	gzExt       = ".gz"
	pairDigits  = 6
)

// pairFiles is one numbered pair as found in a directory: either name may
// be empty when that file is missing.
type pairFiles struct {
	n     uint64
	trace string // path
	extra string // path
}

// pairName returns the base names of pair n's files.
func pairName(n uint64, gz bool) (trace, extra string) {
	num := fmt.Sprintf("%0*d", pairDigits, n)
	trace, extra = tracePrefix+num+traceExt, extraPrefix+num+extraExt
	if gz {
		trace, extra = trace+gzExt, extra+gzExt
	}
	return trace, extra
}

// parsePairName says whether base is one of a recording's file names, and
// which pair and which file of it.
func parsePairName(base string) (n uint64, isTrace, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(base, tracePrefix):
		rest, isTrace = strings.TrimPrefix(base, tracePrefix), true
	case strings.HasPrefix(base, extraPrefix):
		rest = strings.TrimPrefix(base, extraPrefix)
	default:
		return 0, false, false
	}
	rest = strings.TrimSuffix(rest, gzExt)
	ext := extraExt
	if isTrace {
		ext = traceExt
	}
	if !strings.HasSuffix(rest, ext) {
		return 0, false, false
	}
	digits := strings.TrimSuffix(rest, ext)
	if len(digits) < pairDigits || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, false, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, isTrace, true
}

// listPairs returns the pairs in dir, by number, oldest first. Files that
// are not a recording's are ignored. Two files for the same slot (a
// compressed and an uncompressed trace file of one pair) are an error: a
// reader could not tell which one is the recording.
func listPairs(dir string) ([]pairFiles, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("peerscore/replay: %w", err)
	}
	byN := map[uint64]*pairFiles{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n, isTrace, ok := parsePairName(e.Name())
		if !ok {
			continue
		}
		p := byN[n]
		if p == nil {
			p = &pairFiles{n: n}
			byN[n] = p
		}
		slot := &p.extra
		if isTrace {
			slot = &p.trace
		}
		path := filepath.Join(dir, e.Name())
		if *slot != "" {
			return nil, fmt.Errorf("peerscore/replay: %s and %s are the same file of pair %d", *slot, path, n)
		}
		*slot = path
	}
	pairs := make([]pairFiles, 0, len(byN))
	for _, p := range byN {
		pairs = append(pairs, *p)
	}
	slices.SortFunc(pairs, func(a, b pairFiles) int { return cmp.Compare(a.n, b.n) })
	return pairs, nil
}

// isRecordingDir says whether path is a directory (Open reads it as a
// recording).
func isRecordingDir(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("peerscore/replay: %w", err)
	}
	return fi.IsDir(), nil
}

// fileSize is the size of path, 0 if it is gone.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// removeIfExists removes path; a file already gone is not an error.
func removeIfExists(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
