package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// recordingSource reads a Recorder's directory, pair after pair.
type recordingSource struct {
	dir   string
	pairs []pairFiles // the complete pairs, oldest first
	i     int         // the next pair to open
	cur   *pairReader
	start *Extra // the last start extra given out
	err   error  // sticky
}

func openRecording(dir string) (Source, error) {
	all, err := listPairs(dir)
	if err != nil {
		return nil, err
	}
	var pairs []pairFiles
	for _, p := range all {
		switch {
		case p.trace == "":
			// An extras file alone: a Recorder stopped between deleting
			// a pair's trace file and its extras file, or between creating
			// them. Nothing of the trace is lost.
		case p.extra == "":
			_, extra := pairName(p.n, false)
			return nil, fmt.Errorf("peerscore/replay: %s has no extras file (%s[%s]) beside it", p.trace, extra, gzExt)
		default:
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("peerscore/replay: %s holds no recording (no %sNNNNNN%s[.gz] files)", dir, tracePrefix, traceExt)
	}
	return &recordingSource{dir: dir, pairs: pairs}, nil
}

func (r *recordingSource) Format() Format { return FormatRecording }

// Next gives the pairs' events in order. Every pair of a recording starts
// with the recording's start extra, so that a pair is read right when
// the pairs before it were deleted (Recorder's disk bound): a start
// equal to the last one given out is the same recording carrying on, and
// is not given out again.
func (r *recordingSource) Next() (Event, error) {
	for {
		if r.err != nil {
			return Event{}, r.err
		}
		if r.cur == nil {
			if r.i == len(r.pairs) {
				r.err = io.EOF
				return Event{}, io.EOF
			}
			p := r.pairs[r.i]
			r.i++
			cur, err := openPair(p)
			if err != nil {
				if !errors.Is(err, ErrTruncated) {
					r.err = err
				}
				return Event{}, err
			}
			r.cur = cur
		}
		ev, err := r.cur.next()
		if err != nil {
			_ = r.cur.close()
			r.cur = nil
			if err == io.EOF {
				continue
			}
			if !errors.Is(err, ErrTruncated) {
				r.err = err
			}
			return Event{}, err // after a truncation, the next pair
		}
		if x := ev.Extra; x != nil && x.Kind == KindStart {
			if r.start != nil && x.At == r.start.At && x.Self == r.start.Self {
				continue
			}
			r.start = x
		}
		return ev, nil
	}
}

func (r *recordingSource) Close() error {
	if r.err == nil {
		r.err = errClosed
	}
	if r.cur == nil {
		return nil
	}
	err := r.cur.close()
	r.cur = nil
	return err
}

// pairReader reads one pair: the trace file's events, and each extra
// where its Seq puts it.
type pairReader struct {
	trace      *traceDecoder
	extras     lineReader
	count      uint64 // trace records read
	ahead      *Extra // the next extra, read ahead
	aheadLine  int64
	lastSeq    uint64
	extrasDone bool
	extrasErr  error // the extras file is cut: the pair ends with it
	traceDone  bool
}

func openPair(p pairFiles) (*pairReader, error) {
	ts, err := openStream(p.trace)
	if err != nil {
		return nil, err
	}
	xs, err := openStream(p.extra)
	if err != nil {
		_ = ts.close()
		return nil, err
	}
	return &pairReader{trace: newTraceDecoder(ts), extras: lineReader{s: xs}}, nil
}

func (p *pairReader) close() error {
	return errors.Join(p.trace.close(), p.extras.s.close())
}

func (p *pairReader) next() (Event, error) {
	for {
		if p.ahead == nil && !p.extrasDone {
			x := new(Extra)
			err := p.extras.next(func(line []byte) error { return json.Unmarshal(line, x) })
			switch {
			case err == io.EOF:
				p.extrasDone = true
			case errors.Is(err, ErrTruncated):
				// The extras file is cut (the Recorder crashed, or is
				// still writing): the trace events written up to then
				// still come out, then this error.
				p.extrasDone, p.extrasErr = true, err
			case err != nil:
				return Event{}, err
			case x.Seq < p.lastSeq:
				return Event{}, p.extras.s.errLine(p.extras.s.line,
					fmt.Errorf("%w: seq %d after seq %d", ErrCorrupt, x.Seq, p.lastSeq))
			default:
				p.ahead, p.aheadLine, p.lastSeq = x, p.extras.s.line, x.Seq
			}
		}
		if p.ahead != nil && p.ahead.Seq <= p.count {
			x := p.ahead
			p.ahead = nil
			return extraEvent(x), nil
		}
		if p.traceDone {
			if p.ahead != nil {
				return Event{}, p.extras.s.errLine(p.aheadLine,
					fmt.Errorf("%w: seq %d, but %s holds %d events", ErrCorrupt, p.ahead.Seq, p.trace.s.path, p.count))
			}
			if p.extrasErr != nil {
				return Event{}, p.extrasErr
			}
			return Event{}, io.EOF
		}
		ev, err := p.trace.next(p.count)
		if err == io.EOF {
			p.traceDone = true
			continue
		}
		if err != nil {
			return Event{}, err
		}
		p.count++
		return ev, nil
	}
}
