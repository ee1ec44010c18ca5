package replay

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Replay reads src to its end once and replays every event into one
// Replayer per config (two to compare them), on the trace's own clock, as
// fast as the CPU allows. A file cut short (ErrTruncated: the recording of
// a node still running, or of one that crashed) ends there, and the
// replay goes on with what follows it (Run.Cut counts them); any other
// read error ends the replay with it. names name the configs in the report. progress,
// if not nil, is told how far the replay has got every 100,000 events.
func Replay(src Source, trace string, names []string, cfgs []Config, progress func(events int64, at time.Time)) (*Run, error) {
	if len(cfgs) == 0 || len(cfgs) != len(names) {
		return nil, errors.New("peerscore/replay: one name per config, and at least one")
	}
	start := time.Now()
	rps := make([]*Replayer, len(cfgs))
	for i, c := range cfgs {
		rp, err := NewReplayer(c, src.Format())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		rps[i] = rp
	}
	var n int64
	cut, cutAfter := 0, int64(-1)
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrTruncated) {
			// A file cut short ends there; a recording goes on with its
			// next pair. Twice without an event between: nothing follows.
			// A trace file cut before its first event is no trace at
			// all. A recording's first pair may be (a node that crashed
			// at its start and was restarted): its next pairs follow.
			if n == 0 && src.Format() != FormatRecording {
				return nil, err
			}
			if cutAfter == n {
				break
			}
			cut, cutAfter = cut+1, n
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, rp := range rps {
			if err := rp.Feed(ev); err != nil {
				return nil, err
			}
		}
		if n++; progress != nil && n%100_000 == 0 {
			progress(n, ev.At)
		}
	}
	run := &Run{Trace: trace, Params: names, Cut: cut}
	for _, rp := range rps {
		run.Outcomes = append(run.Outcomes, rp.Finish())
	}
	if len(run.Outcomes) == 2 {
		run.Disagreements = Compare(run.Outcomes[0], run.Outcomes[1])
	}
	run.Wall = time.Since(start)
	return run, nil
}
