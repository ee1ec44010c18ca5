package replay

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
)

// tagged is an extra at t0+d that names its source and rank, in Peer.
func tagged(d time.Duration, tag string) Event {
	return extraAt(d, Extra{Kind: KindThrottle, Peer: tag})
}

// readTags reads src to its end and returns the tags of its events, and
// the error that ended it (nil for io.EOF).
func readTags(src Source) ([]string, error) {
	var tags []string
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			return tags, nil
		}
		if err != nil {
			return tags, err
		}
		tags = append(tags, ev.Extra.Peer)
	}
}

func TestMergeOrder(t *testing.T) {
	a := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(0), "a0"), tagged(ms(5), "a5"), tagged(ms(10), "a10"), tagged(ms(30), "a30")}}
	b := &sliceSource{format: FormatProto, evs: []Event{tagged(ms(1), "b1"), tagged(ms(5), "b5"), tagged(ms(20), "b20")}}
	c := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(5), "c5"), tagged(ms(10), "c10")}}
	empty := &sliceSource{format: FormatJSON}
	m := Merge(a, empty, b, c)
	tags, err := readTags(m)
	require.NoError(t, err)
	// In time order; at one instant, in the sources' order.
	require.Equal(t, []string{"a0", "b1", "a5", "b5", "c5", "a10", "c10", "b20", "a30"}, tags)
	_, err = m.Next()
	require.ErrorIs(t, err, io.EOF, "EOF stays")

	// A source's own order is kept, even when it goes back in time: the
	// replay, not the merge, deals with that.
	back := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(10), "x10"), tagged(ms(2), "x2")}}
	other := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(5), "y5")}}
	tags, err = readTags(Merge(back, other))
	require.NoError(t, err)
	require.Equal(t, []string{"y5", "x10", "x2"}, tags)

	tags, err = readTags(Merge())
	require.NoError(t, err)
	require.Empty(t, tags)
}

func TestMergeFormat(t *testing.T) {
	src := func(f Format) Source { return &sliceSource{format: f} }
	cases := []struct {
		in   []Format
		want Format
	}{
		{nil, FormatRecording},
		{[]Format{FormatRecording}, FormatRecording},
		{[]Format{FormatRecording, FormatRecording}, FormatRecording},
		{[]Format{FormatJSON}, FormatJSON},
		{[]Format{FormatRecording, FormatProto, FormatJSON}, FormatProto},
		{[]Format{FormatJSON, FormatRecording, FormatProto}, FormatJSON},
	}
	for _, c := range cases {
		var srcs []Source
		for _, f := range c.in {
			srcs = append(srcs, src(f))
		}
		require.Equal(t, c.want, Merge(srcs...).Format(), "%v", c.in)
	}
}

func TestMergeErrors(t *testing.T) {
	boom := errors.New("boom")
	a := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(0), "a0"), tagged(ms(10), "a10")}}
	b := &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(5), "b5")}, err: boom}
	m := Merge(a, b)
	tags, err := readTags(m)
	require.ErrorIs(t, err, boom)
	require.Equal(t, []string{"a0", "b5"}, tags)
	_, err = m.Next()
	require.ErrorIs(t, err, boom, "the error ends the merge")

	// Replay stops at it.
	a = &sliceSource{format: FormatRecording, evs: []Event{startEv(), tagged(ms(10), "a10")}}
	b = &sliceSource{format: FormatRecording, evs: []Event{tagged(ms(5), "b5")}, err: boom}
	_, err = Replay(Merge(a, b), "t", []string{"p"}, []Config{{Params: engineParams()}}, nil)
	require.ErrorIs(t, err, boom)
}

func TestMergeClose(t *testing.T) {
	e1, e3 := errors.New("one"), errors.New("three")
	srcs := []*sliceSource{{closeErr: e1}, {}, {closeErr: e3}}
	m := Merge(srcs[0], srcs[1], srcs[2])
	err := m.Close()
	require.ErrorIs(t, err, e1)
	require.ErrorIs(t, err, e3)
	for i, s := range srcs {
		require.Equal(t, 1, s.closed, "source %d", i)
	}
	require.NoError(t, Merge(&sliceSource{}, &sliceSource{}).Close())
}

// TestMergeReplay: pubsub's trace with a directory of extras (the
// application's scores) replays as pubsub's trace, with P5.
func TestMergeReplay(t *testing.T) {
	trace, err := Open("testdata/pubsub-trace.pb.gz")
	require.NoError(t, err)
	first, err := trace.Next()
	require.NoError(t, err)
	require.NoError(t, trace.Close())
	trace, err = Open("testdata/pubsub-trace.pb.gz")
	require.NoError(t, err)

	var apps []Event
	for i, p := range []string{"a", "b"} {
		x := Extra{Kind: KindApp, Peer: p, Score: float64(i + 1)}
		x.At = first.At.Add(time.Duration(i) * time.Second).UnixNano()
		apps = append(apps, Event{At: time.Unix(0, x.At), Extra: &x})
	}
	extras := &sliceSource{format: FormatRecording, evs: apps}
	m := Merge(extras, trace)
	require.Equal(t, FormatProto, m.Format())
	r, err := NewReplayer(Config{Params: engineParams()}, m.Format())
	require.NoError(t, err)
	for {
		ev, err := m.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.NoError(t, r.Feed(ev))
	}
	require.NoError(t, m.Close())
	require.Equal(t, 1, extras.closed)
	info := r.Finish().Info
	require.Equal(t, FormatProto, info.Format)
	require.Equal(t, map[ExtraKind]int64{KindApp: 2}, info.Extras)
	require.Equal(t, int64(1), info.Inferred[inferredStart], "no start extra")
	// The node is the trace's, though the first event is an extra: its
	// own messages (64 of the 72 deliveries) are not replayed.
	require.Equal(t, int64(8+9+4), info.Inferred[inferredValidation], "deliveries, copies and rejections from peers")
	require.Equal(t, peer.ID(first.Trace.GetPeerID()), r.self)
}
