package replay_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/peerscore/peerscore/replay"
)

// joinAt is a JOIN trace event at nanosecond ts, its topic naming it.
func joinAt(ts int64) *pb.TraceEvent {
	topic := fmt.Sprintf("t%d", ts)
	return &pb.TraceEvent{Type: pb.TraceEvent_JOIN.Enum(), Timestamp: &ts, Join: &pb.TraceEvent_Join{Topic: &topic}}
}

func delimited(t *testing.T, evs ...*pb.TraceEvent) []byte {
	t.Helper()
	var out []byte
	for _, ev := range evs {
		rec, err := proto.Marshal(ev)
		require.NoError(t, err)
		out = append(binary.AppendUvarint(out, uint64(len(rec))), rec...)
	}
	return out
}

func jsonLines(t *testing.T, xs ...replay.Extra) []byte {
	t.Helper()
	var out []byte
	for _, x := range xs {
		line, err := json.Marshal(x)
		require.NoError(t, err)
		out = append(append(out, line...), '\n')
	}
	return out
}

// writePair writes pair n of a recording by hand, gzip'd or not.
func writePair(t *testing.T, dir string, n int, gz bool, trace, extras []byte) (tracePath, extraPath string) {
	t.Helper()
	tn, xn := fmt.Sprintf("trace-%06d.pb", n), fmt.Sprintf("extra-%06d.jsonl", n)
	if gz {
		tn, xn, trace, extras = tn+".gz", xn+".gz", gzipBytes(t, trace), gzipBytes(t, extras)
	}
	return writeFile(t, dir, tn, trace), writeFile(t, dir, xn, extras)
}

// kinds lists the events as "e<ts>" for a trace event and "<kind><at>"
// for an extra.
func kinds(evs []replay.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Trace != nil {
			out = append(out, fmt.Sprintf("e%d", ev.Trace.GetTimestamp()))
		} else {
			out = append(out, fmt.Sprintf("%s%d", ev.Extra.Kind, ev.Extra.At))
		}
	}
	return out
}

func TestRecordingOrder(t *testing.T) {
	dir := t.TempDir()
	// Pair 1: extras before the first event, between, and after the last.
	writePair(t, dir, 1, true, delimited(t, joinAt(10), joinAt(20), joinAt(30)), jsonLines(t,
		replay.Extra{Kind: replay.KindStart, At: 5, Seq: 0, Self: "me"},
		replay.Extra{Kind: replay.KindApp, At: 6, Seq: 0},
		replay.Extra{Kind: replay.KindValidate, At: 25, Seq: 2},
		replay.Extra{Kind: replay.KindThrottle, At: 31, Seq: 3},
	))
	// Pair 2, uncompressed, starts with the same start (the Recorder
	// repeats it at every pair's head): not given out again.
	writePair(t, dir, 2, false, delimited(t, joinAt(40)), jsonLines(t,
		replay.Extra{Kind: replay.KindStart, At: 5, Seq: 0, Self: "me"},
		replay.Extra{Kind: replay.KindWrite, At: 41, Seq: 1},
	))
	// Pair 1000000 (seven digits) sorts after pair 2: a new run.
	writePair(t, dir, 1000000, true, delimited(t, joinAt(60)), jsonLines(t,
		replay.Extra{Kind: replay.KindStart, At: 50, Seq: 0, Self: "me"},
	))
	// Not a recording's: ignored.
	writeFile(t, dir, "notes.txt", []byte("hello"))
	writeFile(t, dir, "trace-1.pb", []byte("too few digits"))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "trace-000009.pb"), 0o755))
	// An extras file alone, left by a crash while rotating: skipped.
	writeFile(t, dir, "extra-000003.jsonl", jsonLines(t, replay.Extra{Kind: replay.KindApp, At: 45}))

	got, f, err := readAll(t, dir)
	require.NoError(t, err)
	require.Equal(t, replay.FormatRecording, f)
	require.Equal(t, []string{
		"start5", "app6", "e10", "e20", "validate25", "e30", "throttle31",
		"e40", "write41",
		"start50", "e60",
	}, kinds(got))
	for _, ev := range got {
		if ev.Extra != nil {
			require.Equal(t, ev.Extra.At, ev.At.UnixNano())
		} else {
			require.Equal(t, ev.Trace.GetTimestamp(), ev.At.UnixNano())
		}
	}
}

func TestRecordingErrors(t *testing.T) {
	three := delimited(t, joinAt(10), joinAt(20), joinAt(30))

	t.Run("missing extras", func(t *testing.T) {
		dir := t.TempDir()
		writePair(t, dir, 1, true, three, nil)
		tracePath := writeFile(t, dir, "trace-000002.pb", three)
		_, err := replay.Open(dir)
		require.ErrorContains(t, err, tracePath)
		require.ErrorContains(t, err, "extra-000002.jsonl")
	})
	t.Run("two files in one slot", func(t *testing.T) {
		dir := t.TempDir()
		writePair(t, dir, 1, true, three, nil)
		writeFile(t, dir, "trace-000001.pb", three)
		_, err := replay.Open(dir)
		require.ErrorContains(t, err, "trace-000001.pb")
	})
	t.Run("no recording", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "extra-000001.jsonl", nil)
		_, err := replay.Open(dir)
		require.ErrorContains(t, err, "holds no recording")
	})
	t.Run("extra beyond the trace", func(t *testing.T) {
		dir := t.TempDir()
		_, extras := writePair(t, dir, 1, false, three, jsonLines(t,
			replay.Extra{Kind: replay.KindApp, At: 1, Seq: 3},
			replay.Extra{Kind: replay.KindApp, At: 2, Seq: 4},
		))
		got, _, err := readAll(t, dir)
		require.Len(t, got, 4)
		require.ErrorIs(t, err, replay.ErrCorrupt)
		require.ErrorContains(t, err, extras+": line 2: corrupt: seq 4")
	})
	t.Run("extras out of order", func(t *testing.T) {
		dir := t.TempDir()
		_, extras := writePair(t, dir, 1, true, three, jsonLines(t,
			replay.Extra{Kind: replay.KindApp, At: 1, Seq: 2},
			replay.Extra{Kind: replay.KindApp, At: 2, Seq: 1},
		))
		_, _, err := readAll(t, dir)
		require.ErrorIs(t, err, replay.ErrCorrupt)
		require.ErrorContains(t, err, extras+": line 2")
	})
	t.Run("corrupt extras line", func(t *testing.T) {
		dir := t.TempDir()
		_, extras := writePair(t, dir, 1, false, three, []byte("{\"kind\":\"app\",\"seq\":0}\n{\"seq\":\"x\"}\n"))
		got, _, err := readAll(t, dir)
		require.Len(t, got, 1)
		require.ErrorIs(t, err, replay.ErrCorrupt)
		require.ErrorContains(t, err, extras+": line 2")
	})
	t.Run("a crash, then a new run", func(t *testing.T) {
		// Pair 1 was being written when the node crashed: both files end
		// without gzip's trailer, the trace in the middle of a record.
		// Pair 2 is the restarted node's.
		dir := t.TempDir()
		trace, extras := writePair(t, dir, 1, true, three, jsonLines(t, replay.Extra{Kind: replay.KindStart, At: 5, Self: "me"}))
		raw, err := os.ReadFile(trace)
		require.NoError(t, err)
		cut := gzipCut(t, raw, len(delimited(t, joinAt(10)))+3)
		require.NoError(t, os.WriteFile(trace, cut, 0o644))
		writePair(t, dir, 2, true, delimited(t, joinAt(60)), jsonLines(t, replay.Extra{Kind: replay.KindStart, At: 50, Self: "me"}))
		_ = extras

		src, err := replay.Open(dir)
		require.NoError(t, err)
		defer src.Close()
		var got []replay.Event
		var errs []error
		for range 100 {
			ev, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, err)
				require.ErrorIs(t, err, replay.ErrTruncated, "only a truncation is read past")
				continue // as a caller that reads on past a crash
			}
			got = append(got, ev)
		}
		require.Equal(t, []string{"start5", "e10", "start50", "e60"}, kinds(got))
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], replay.ErrTruncated)
		require.ErrorContains(t, errs[0], trace)
	})
	t.Run("extras cut short", func(t *testing.T) {
		dir := t.TempDir()
		_, extras := writePair(t, dir, 1, false, three, []byte("{\"kind\":\"app\",\"seq\":1}\n{\"kind\":\"app\",\"se"))
		got, _, err := readAll(t, dir)
		require.Equal(t, []string{"e10", "app0", "e20", "e30"}, kinds(got), "the trace is read to its end")
		require.ErrorIs(t, err, replay.ErrTruncated)
		require.ErrorContains(t, err, extras+": line 2")
	})
}

// gzipCut compresses the content of a gzip'd file again, cut to its first
// n bytes, flushed but not closed: a file as a crashed writer leaves it.
func gzipCut(t *testing.T, gz []byte, n int) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	require.NoError(t, err)
	content, err := io.ReadAll(zr)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err = zw.Write(content[:n])
	require.NoError(t, err)
	require.NoError(t, zw.Flush())
	return buf.Bytes()
}
