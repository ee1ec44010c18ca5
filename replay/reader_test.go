package replay_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/peerscore/peerscore/replay"
)

// Real traces of the node of tracedNetwork, committed (regenerate with
// go test -run TestRealNetworkTraces ./replay/ -update-testdata): pubsub's
// protobuf and JSON traces, gzip'd, and the Recorder's directory.
const (
	testdataPB        = "testdata/pubsub-trace.pb.gz"
	testdataJSON      = "testdata/pubsub-trace.json.gz"
	testdataRecording = "testdata/recording"
)

// TestTestdata reads the committed traces: every event type of pubsub's
// format comes out of both files, the same events from each, and the
// recording's events are the node's own events of pubsub's trace.
func TestTestdata(t *testing.T) {
	pbEvents, f, err := readAll(t, testdataPB)
	require.NoError(t, err)
	require.Equal(t, replay.FormatProto, f)
	jsonEvents, f, err := readAll(t, testdataJSON)
	require.NoError(t, err)
	require.Equal(t, replay.FormatJSON, f)
	requireSameEvents(t, pbEvents, jsonEvents)
	seen := map[pb.TraceEvent_Type]bool{}
	for _, ev := range pbEvents {
		seen[ev.Trace.GetType()] = true
	}
	for typ := pb.TraceEvent_PUBLISH_MESSAGE; typ <= pb.TraceEvent_PRUNE; typ++ {
		require.True(t, seen[typ], "no %v", typ)
	}

	rec, f, err := readAll(t, testdataRecording)
	require.NoError(t, err)
	require.Equal(t, replay.FormatRecording, f)
	self := peer.ID(pbEvents[0].Trace.GetPeerID())
	var want, got []replay.Event
	for _, ev := range pbEvents {
		if !ownEvent(ev.Trace, self) {
			want = append(want, ev)
		}
	}
	for _, ev := range rec {
		if ev.Trace != nil {
			got = append(got, ev)
		}
	}
	requireSameEvents(t, want, got)
}

// readAll reads every event of path, and the error that ended it (nil for
// io.EOF).
func readAll(t *testing.T, path string) ([]replay.Event, replay.Format, error) {
	t.Helper()
	src, err := replay.Open(path)
	require.NoError(t, err)
	defer src.Close()
	var out []replay.Event
	for {
		ev, err := src.Next()
		if err == io.EOF {
			return out, src.Format(), nil
		}
		if err != nil {
			return out, src.Format(), err
		}
		out = append(out, ev)
	}
}

// ownEvent says whether ev is one a raw tracer is not shown: our own
// publication, or a message event about a message we published.
func ownEvent(ev *pb.TraceEvent, self peer.ID) bool {
	switch ev.GetType() {
	case pb.TraceEvent_PUBLISH_MESSAGE:
		return true
	case pb.TraceEvent_DELIVER_MESSAGE:
		return peer.ID(ev.GetDeliverMessage().GetReceivedFrom()) == self
	case pb.TraceEvent_DUPLICATE_MESSAGE:
		return peer.ID(ev.GetDuplicateMessage().GetReceivedFrom()) == self
	case pb.TraceEvent_REJECT_MESSAGE:
		return peer.ID(ev.GetRejectMessage().GetReceivedFrom()) == self
	}
	return false
}

// requireSameEvents checks that got are want, event for event, timestamps
// included.
func requireSameEvents(t *testing.T, want, got []replay.Event) {
	t.Helper()
	require.Equal(t, len(want), len(got), "number of events")
	for i := range want {
		w, g := want[i], got[i]
		require.True(t, w.At.Equal(g.At), "event %d: at %v, want %v", i, g.At, w.At)
		if w.Trace != nil {
			require.NotNil(t, g.Trace, "event %d", i)
			require.True(t, proto.Equal(w.Trace, g.Trace), "event %d:\n got  %v\n want %v", i, g.Trace, w.Trace)
			continue
		}
		require.Equal(t, w.Extra, g.Extra, "event %d", i)
	}
}

// gzipCopy writes a gzip'd copy of src to dst (a name that says nothing
// of the format) and returns dst.
func gzipCopy(t *testing.T, src, dst string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err = zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(dst, buf.Bytes(), 0o644))
	return dst
}

// decompress returns the content of a gzip'd file.
func decompress(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	data, err := io.ReadAll(zr)
	require.NoError(t, err)
	return data
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// recordStarts returns the offsets at which the records of a protobuf
// trace start, and its length as the last entry.
func recordStarts(t *testing.T, data []byte) []int {
	var starts []int
	for off := 0; off < len(data); {
		starts = append(starts, off)
		n, k := binary.Uvarint(data[off:])
		require.Positive(t, k)
		off += k + int(n)
	}
	return append(starts, len(data))
}

// TestTruncatedProto cuts a real protobuf trace at every record boundary,
// one and two bytes past it, and at random offsets: what comes out is the
// records wholly before the cut, then nothing (a cut at a boundary) or
// ErrTruncated naming the file and the offset of the record cut short.
// Then the stream ends.
func TestTruncatedProto(t *testing.T) {
	data := decompress(t, testdataPB)
	full, _, err := readAll(t, testdataPB)
	require.NoError(t, err)
	starts := recordStarts(t, data)
	require.Len(t, starts, len(full)+1)

	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	cuts := []int{0, 1}
	for i, s := range starts {
		if i < 60 || i%10 == 0 || i == len(starts)-1 {
			cuts = append(cuts, s, s+1, s+2)
		}
	}
	for range 60 {
		cuts = append(cuts, rng.IntN(len(data)))
	}
	for _, cut := range cuts {
		if cut > len(data) {
			continue
		}
		path := writeFile(t, dir, "cut", data[:cut])
		whole := 0 // records wholly before the cut
		for whole+1 < len(starts) && starts[whole+1] <= cut {
			whole++
		}
		src, err := replay.Open(path)
		require.NoError(t, err)
		var got []replay.Event
		var end error
		for {
			ev, err := src.Next()
			if err != nil {
				end = err
				break
			}
			got = append(got, ev)
		}
		requireSameEvents(t, full[:whole], got)
		if cut == starts[whole] {
			require.Equal(t, io.EOF, end, "cut at %d, a record boundary", cut)
		} else {
			require.ErrorIs(t, end, replay.ErrTruncated, "cut at %d", cut)
			var re *replay.ReadError
			require.ErrorAs(t, end, &re)
			require.Equal(t, path, re.Path)
			require.Equal(t, int64(starts[whole]), re.Offset, "cut at %d", cut)
			require.Contains(t, end.Error(), fmt.Sprintf("%s: byte %d", path, starts[whole]))
			_, err := src.Next()
			require.Equal(t, io.EOF, err, "after a truncation, the end")
		}
		require.NoError(t, src.Close())
	}
}

// TestTruncatedGzip cuts a gzip'd real trace at its first and last bytes
// and every so often between: the events
// that come out are the trace's first ones, and the end is ErrTruncated
// (or, cut inside gzip's header, an error from Open), never corruption,
// never a panic.
func TestTruncatedGzip(t *testing.T) {
	for _, name := range []string{testdataPB, testdataJSON} {
		raw, err := os.ReadFile(name)
		require.NoError(t, err)
		full, _, err := readAll(t, name)
		require.NoError(t, err)
		dir := t.TempDir()
		stride := len(raw) / 60
		for cut := 1; cut < len(raw); cut++ {
			if cut > 32 && cut < len(raw)-32 && cut%stride != 0 {
				continue
			}
			path := writeFile(t, dir, "cut", raw[:cut])
			src, err := replay.Open(path)
			if err != nil {
				require.ErrorIs(t, err, replay.ErrTruncated, "%s cut at %d", name, cut)
				continue
			}
			var got []replay.Event
			for {
				ev, err := src.Next()
				if err != nil {
					require.ErrorIs(t, err, replay.ErrTruncated, "%s cut at %d", name, cut)
					break
				}
				got = append(got, ev)
			}
			require.LessOrEqual(t, len(got), len(full))
			requireSameEvents(t, full[:len(got)], got)
			require.NoError(t, src.Close())
		}
	}
}

// TestTruncatedJSON cuts a real JSON trace inside every line: the lines
// before come out, then ErrTruncated naming the line; cut right after a
// line's closing brace, the line is read whole and the trace ends there.
func TestTruncatedJSON(t *testing.T) {
	data := decompress(t, testdataJSON)
	full, _, err := readAll(t, testdataJSON)
	require.NoError(t, err)
	dir := t.TempDir()
	lineStart := 0
	for line := 1; lineStart < len(data); line++ {
		end := lineStart + bytes.IndexByte(data[lineStart:], '\n')
		for _, cut := range []int{lineStart + 1, (lineStart + end) / 2, end - 1, end} {
			path := writeFile(t, dir, "cut.json", data[:cut])
			got, _, err := readAll(t, path)
			if cut == end { // the line whole, without its newline
				require.NoError(t, err)
				requireSameEvents(t, full[:line], got)
				continue
			}
			requireSameEvents(t, full[:line-1], got)
			require.ErrorIs(t, err, replay.ErrTruncated, "line %d cut at %d", line, cut)
			require.Contains(t, err.Error(), fmt.Sprintf("cut.json: line %d", line))
		}
		lineStart = end + 1
		if line > 40 {
			break // the first lines cover every kind of line cut
		}
	}
}

func TestCorrupt(t *testing.T) {
	good := decompress(t, testdataPB)
	starts := recordStarts(t, good)
	first := good[:starts[1]]           // one whole record
	second := good[starts[1]:starts[2]] // the next
	goodJSON := decompress(t, testdataJSON)
	lines := strings.SplitAfter(string(goodJSON), "\n")

	gz := gzipBytes(t, good)
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-5] ^= 0xff // the CRC-32 in gzip's trailer
	badDeflate := bytes.Clone(gz)
	for i := 20; i < 40; i++ {
		badDeflate[i] = 0xff
	}

	cases := []struct {
		name   string
		data   []byte
		events int    // read before the error
		is     error  // the error's cause
		where  string // in the error's text
	}{
		{"garbage record", concat(first, []byte{4, 0xff, 0xff, 0xff, 0xff}, second), 1, replay.ErrCorrupt, fmt.Sprintf("byte %d", len(first))},
		{"length beyond any record", concat(first, binary.AppendUvarint(nil, 1<<40), second), 1, replay.ErrCorrupt, fmt.Sprintf("byte %d", len(first))},
		{"length longer than a uvarint", concat(first, bytes.Repeat([]byte{0xff}, 11)), 1, replay.ErrCorrupt, fmt.Sprintf("byte %d", len(first))},
		{"length cut short", concat(first, []byte{0x80}), 1, replay.ErrTruncated, fmt.Sprintf("byte %d", len(first))},
		{"length past the end", concat(first, binary.AppendUvarint(nil, 1<<20), []byte{8, 1}), 1, replay.ErrTruncated, fmt.Sprintf("byte %d", len(first))},
		{"gzip checksum", badCRC, len(starts) - 1, replay.ErrCorrupt, "byte"},
		{"gzip data", badDeflate, -1, replay.ErrCorrupt, "byte"},
		{"gzip without its end", gz[:len(gz)-8], len(starts) - 1, replay.ErrTruncated, fmt.Sprintf("byte %d", len(good))},
		{"gzip then garbage", concat(gz, []byte("garbage, not a gzip member")), len(starts) - 1, replay.ErrCorrupt, fmt.Sprintf("byte %d", len(good))},
		{"JSON garbage line", []byte(lines[0] + "{\"type\": oops}\n" + lines[1]), 1, replay.ErrCorrupt, "line 2"},
		{"JSON unknown type name", []byte(lines[0] + "{\"type\":\"NO_SUCH_TYPE\"}\n"), 1, replay.ErrCorrupt, "line 2"},
		{"JSON wrong field type", []byte(lines[0] + "{\"timestamp\":\"soon\"}\n"), 1, replay.ErrCorrupt, "line 2"},
		{"JSON not an object", []byte(lines[0] + "{\"x\":1}\n[1,2]\n"), 2, replay.ErrCorrupt, "line 3"},
		{"JSON last line cut", []byte(lines[0] + lines[1][:10]), 1, replay.ErrTruncated, "line 2"},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, fmt.Sprintf("case-%d", i), c.data)
			got, _, err := readAll(t, path)
			require.ErrorIs(t, err, c.is)
			if c.events >= 0 {
				require.Len(t, got, c.events)
			}
			var re *replay.ReadError
			require.ErrorAs(t, err, &re)
			require.Equal(t, path, re.Path)
			require.Contains(t, err.Error(), path+": "+c.where)
		})
	}

	t.Run("corruption is sticky", func(t *testing.T) {
		path := writeFile(t, dir, "sticky", concat(first, []byte{4, 0xff, 0xff, 0xff, 0xff}, second))
		src, err := replay.Open(path)
		require.NoError(t, err)
		_, err = src.Next()
		require.NoError(t, err)
		_, err1 := src.Next()
		_, err2 := src.Next()
		require.ErrorIs(t, err1, replay.ErrCorrupt)
		require.Equal(t, err1, err2, "a corrupt protobuf trace cannot be read past")
		require.NoError(t, src.Close())
	})
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestOpenEdges(t *testing.T) {
	dir := t.TempDir()

	t.Run("empty file", func(t *testing.T) {
		got, f, err := readAll(t, writeFile(t, dir, "empty", nil))
		require.NoError(t, err)
		require.Empty(t, got)
		require.Equal(t, replay.FormatProto, f)
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := replay.Open(filepath.Join(dir, "nope"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("gzip header cut", func(t *testing.T) {
		path := writeFile(t, dir, "gzcut", []byte{0x1f, 0x8b, 8})
		_, err := replay.Open(path)
		require.ErrorIs(t, err, replay.ErrTruncated)
		require.Contains(t, err.Error(), path)
	})
	t.Run("JSON blank lines and no final newline", func(t *testing.T) {
		lines := strings.SplitAfter(string(decompress(t, testdataJSON)), "\n")
		data := "\n" + lines[0] + "  \n\n" + strings.TrimSuffix(lines[1], "\n")
		got, f, err := readAll(t, writeFile(t, dir, "blank", []byte(data)))
		require.NoError(t, err)
		require.Equal(t, replay.FormatJSON, f)
		require.Len(t, got, 2)
	})
	t.Run("a record of 123 bytes is not JSON", func(t *testing.T) {
		// 123 is '{': the record's first byte, its type field, tells.
		ts := int64(7)
		ev := &pb.TraceEvent{Type: pb.TraceEvent_JOIN.Enum(), Timestamp: &ts, PeerID: []byte("p"),
			Join: &pb.TraceEvent_Join{Topic: proto.String("t")}}
		for proto.Size(ev) < 123 {
			ev.Join.Topic = proto.String(*ev.Join.Topic + "t")
		}
		rec, err := proto.Marshal(ev)
		require.NoError(t, err)
		require.Len(t, rec, 123)
		got, f, err := readAll(t, writeFile(t, dir, "brace", binary.AppendUvarint(nil, 123)))
		require.ErrorIs(t, err, replay.ErrTruncated)
		require.Empty(t, got)
		require.Equal(t, replay.FormatJSON, f, "a lone '{' may be either; it reads as a cut JSON line")
		got, f, err = readAll(t, writeFile(t, dir, "brace", append(binary.AppendUvarint(nil, 123), rec...)))
		require.NoError(t, err)
		require.Equal(t, replay.FormatProto, f)
		require.Len(t, got, 1)
		require.True(t, proto.Equal(ev, got[0].Trace))
	})
	t.Run("no timestamp", func(t *testing.T) {
		ev := &pb.TraceEvent{Type: pb.TraceEvent_JOIN.Enum()}
		rec, err := proto.Marshal(ev)
		require.NoError(t, err)
		got, _, err := readAll(t, writeFile(t, dir, "nots", append(binary.AppendUvarint(nil, uint64(len(rec))), rec...)))
		require.NoError(t, err)
		require.True(t, got[0].At.IsZero())
	})
}

// TestSendRPCCompleted: pubsub v0.19.0's SEND_RPC_COMPLETED events, which
// older releases' types cannot hold, come out as KindWrite extras, from
// either format.
func TestSendRPCCompleted(t *testing.T) {
	to := peer.ID("\x00\x24\x08\x01\x12\x20" + strings.Repeat("k", 32))
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()
	took := 1500 * time.Microsecond
	// As pubsub v0.19.0 writes it: type 13, peerID, timestamp, and field
	// 17 {sendTo, meta, writeDurationNanos}.
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.BytesType)
	body = protowire.AppendBytes(body, []byte(to))
	body = protowire.AppendTag(body, 2, protowire.BytesType)
	body = protowire.AppendBytes(body, nil)
	body = protowire.AppendTag(body, 3, protowire.VarintType)
	body = protowire.AppendVarint(body, uint64(took))
	var rec []byte
	rec = protowire.AppendTag(rec, 1, protowire.VarintType)
	rec = protowire.AppendVarint(rec, 13)
	rec = protowire.AppendTag(rec, 2, protowire.BytesType)
	rec = protowire.AppendBytes(rec, []byte("self"))
	rec = protowire.AppendTag(rec, 3, protowire.VarintType)
	rec = protowire.AppendVarint(rec, uint64(ts))
	rec = protowire.AppendTag(rec, 17, protowire.BytesType)
	rec = protowire.AppendBytes(rec, body)
	join := &pb.TraceEvent{Type: pb.TraceEvent_JOIN.Enum(), Timestamp: &ts}
	joinRec, err := proto.Marshal(join)
	require.NoError(t, err)
	var pbFile []byte
	for _, r := range [][]byte{joinRec, rec} {
		pbFile = append(binary.AppendUvarint(pbFile, uint64(len(r))), r...)
	}

	line, err := json.Marshal(map[string]any{
		"type": 13, "peerID": []byte("self"), "timestamp": ts,
		"sendRPCCompleted": map[string]any{"sendTo": []byte(to), "meta": map[string]any{}, "writeDurationNanos": int64(took)},
	})
	require.NoError(t, err)
	joinLine, err := json.Marshal(join)
	require.NoError(t, err)
	jsonFile := append(append(joinLine, '\n'), append(line, '\n')...)

	dir := t.TempDir()
	want := &replay.Extra{Kind: replay.KindWrite, At: ts, Seq: 1, Peer: to.String(), Took: took}
	for name, data := range map[string][]byte{"pb": pbFile, "json": jsonFile} {
		got, _, err := readAll(t, writeFile(t, dir, name, data))
		require.NoError(t, err, name)
		require.Len(t, got, 2, name)
		require.NotNil(t, got[0].Trace, name)
		require.Equal(t, want, got[1].Extra, name)
		require.Equal(t, ts, got[1].At.UnixNano(), name)
	}
}

// FuzzOpen: no input makes the reader panic, loop or give an error that
// is not a ReadError naming the file; whatever reads is a sequence of
// events.
func FuzzOpen(f *testing.F) {
	for _, path := range []string{testdataPB, testdataJSON} {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		content := decompressF(f, raw)
		f.Add(content[:min(len(content), 4096)])
	}
	f.Add([]byte("{\"type\":1}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := replay.Open(path)
		if err != nil {
			var re *replay.ReadError
			if !errors.As(err, &re) || re.Path != path {
				t.Fatalf("Open: %v", err)
			}
			return
		}
		defer src.Close()
		for range len(data) + 2 {
			_, err := src.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				var re *replay.ReadError
				if !errors.As(err, &re) || re.Path != path {
					t.Fatalf("Next: %v", err)
				}
				return
			}
		}
		t.Fatalf("more events than bytes")
	})
}

func decompressF(f *testing.F, raw []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		f.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// TestStreams reads traces far larger than what the reader may hold
// (a day's trace does not fit in memory): the heap after reading all of
// one is no larger than after reading a tenth of it.
func TestStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 23 MB")
	}
	dir := t.TempDir()
	pbContent := decompress(t, testdataPB)
	jsonContent := decompress(t, testdataJSON)
	const copies = 100 // 8 MB of protobuf, 15 MB of JSON: tens of MB as events
	one, _, err := readAll(t, testdataPB)
	require.NoError(t, err)
	per := len(one)
	big := func(name string, content []byte, gz bool) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		var w io.Writer = f
		var zw *gzip.Writer
		if gz {
			zw = gzip.NewWriter(f)
			w = zw
		}
		for range copies {
			_, err := w.Write(content)
			require.NoError(t, err)
		}
		if zw != nil {
			require.NoError(t, zw.Close())
		}
		require.NoError(t, f.Close())
		return path
	}
	for _, path := range []string{big("big.pb", pbContent, false), big("big.json.gz", jsonContent, true)} {
		src, err := replay.Open(path)
		require.NoError(t, err)
		total := 0
		var heapAtTenth uint64
		for {
			_, err := src.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			total++
			if total == per*copies/10 {
				heapAtTenth = heapInUse()
			}
		}
		heapAtEnd := heapInUse()
		require.NoError(t, src.Close())
		require.Equal(t, per*copies, total)
		t.Logf("%s: %d events, heap %d KiB at a tenth, %d KiB at the end", filepath.Base(path), total, heapAtTenth>>10, heapAtEnd>>10)
		require.Less(t, heapAtEnd, heapAtTenth+4<<20, "the heap grew with the trace")
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
