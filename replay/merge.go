package replay

import (
	"errors"
	"io"
)

// Merge reads several sources as one, in time order: a pubsub trace with
// a Recorder's directory of extras only, for example (a Recorder that no
// router traces into records its start and what it is given: AppScore,
// Scores). Events at the same instant come in the order of the sources.
// The merged Format is the first of the sources' that is not
// FormatRecording, since that is what the replay must infer from; if all
// are recordings, it is FormatRecording. Close closes every source.
func Merge(srcs ...Source) Source {
	m := &merged{srcs: srcs, heads: make([]*Event, len(srcs)), format: FormatRecording}
	for _, s := range srcs {
		if f := s.Format(); f != FormatRecording {
			m.format = f
			break
		}
	}
	return m
}

type merged struct {
	srcs   []Source
	heads  []*Event // each source's next event; nil once read out
	done   []bool
	format Format
	err    error
}

func (m *merged) Format() Format { return m.format }

// Next returns the earliest of the sources' next events. A source's
// error ends the merge with it.
func (m *merged) Next() (Event, error) {
	if m.err != nil {
		return Event{}, m.err
	}
	if m.done == nil {
		m.done = make([]bool, len(m.srcs))
	}
	first := -1
	for i, s := range m.srcs {
		if m.heads[i] == nil && !m.done[i] {
			ev, err := s.Next()
			switch {
			case errors.Is(err, io.EOF):
				m.done[i] = true
				continue
			case err != nil:
				m.err = err
				return Event{}, err
			}
			m.heads[i] = &ev
		}
		if m.heads[i] != nil && (first < 0 || m.heads[i].At.Before(m.heads[first].At)) {
			first = i
		}
	}
	if first < 0 {
		m.err = io.EOF
		return Event{}, io.EOF
	}
	ev := *m.heads[first]
	m.heads[first] = nil
	return ev, nil
}

func (m *merged) Close() error {
	var errs []error
	for _, s := range m.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
