package replay

import (
	"errors"
	"fmt"
	"io"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// ErrTruncated is the cause of a ReadError for a file that ends in the
// middle of a record, or for a compressed file that ends without gzip's
// trailer: what a node that crashed (or is still writing) leaves behind.
// Everything before it was read whole. A caller may take it as the end of
// the stream; Next may also be called again, and goes on with what
// follows: the next pair of a recording (a node that crashed and was
// restarted carries on in a new pair, which starts with a start extra of
// its own), or io.EOF.
var ErrTruncated = errors.New("truncated")

// ErrCorrupt is the cause of a ReadError for a record that cannot be
// decoded: bytes that are not a TraceEvent, a JSON line that is not one,
// a length no trace record can have, a broken gzip stream, extras out of
// order. A corrupt file cannot be read past (a protobuf trace has no
// markers to find the next record by), so Next returns the same error
// from then on.
var ErrCorrupt = errors.New("corrupt")

// maxRecord bounds one record of a trace or extras file. pubsub's trace
// records hold an RPC's summary (IDs, topics, peers), well under the 1 MiB
// RPCs pubsub accepts by default; a length beyond this is corruption, and
// the bound keeps a corrupt length from costing its size in memory.
const maxRecord = 64 << 20

// ReadError is an error Next returns for a record it cannot read: the
// file, where in it, and why (errors.Is(err, ErrTruncated) or
// errors.Is(err, ErrCorrupt), or the I/O error).
type ReadError struct {
	// Path is the file.
	Path string
	// Offset is the byte offset of the record in the file's content (after
	// decompression, for a gzip'd file), for a protobuf trace; -1 for a
	// line-oriented file.
	Offset int64
	// Line is the 1-based line of the record, for a JSON trace or an
	// extras file; 0 for a protobuf trace.
	Line int64
	// Err is the cause.
	Err error
}

// Error says which file, where, and why.
func (e *ReadError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.Line == 0 {
		where = fmt.Sprintf("byte %d", e.Offset)
	}
	return fmt.Sprintf("peerscore/replay: %s: %s: %v", e.Path, where, e.Err)
}

// Unwrap returns the cause.
func (e *ReadError) Unwrap() error { return e.Err }

// Open opens a trace for reading as a stream of Events:
//
//   - one of pubsub's trace files, as pubsub.NewJSONTracer writes them (one
//     JSON TraceEvent per line) or as pubsub.NewPBTracer writes them (each
//     TraceEvent as its length, a uvarint, then its protobuf bytes), gzip'd
//     or not. The format is read from the content, not the name: gzip's
//     magic bytes, then a JSON object or a protobuf record. An empty file
//     reads as an empty protobuf trace.
//   - a Recorder's directory: its pairs of files in order, oldest first,
//     each trace file's events with its extras among them at their Seq.
//     Only complete pairs are read: an extras file without its trace file
//     (a Recorder that crashed while rotating) is skipped; a trace file
//     without its extras file is an error naming it. The directory is
//     listed once, by Open.
//
// A recording's pairs are numbered, trace-NNNNNN.pb and
// extra-NNNNNN.jsonl (each .gz when compressed; six digits or more). The
// trace file is pubsub's delimited protobuf format, which pubsub's tools
// read as it is. The extras file holds one Extra per line, as
// encoding/json writes it; an extra's Seq places it after the first Seq
// events of its pair's trace file. Every pair begins with the recording's
// start extra, so that what is left once the oldest pairs were deleted
// still has its start; Open gives it once (a start with another At is a
// new run: the node restarted).
//
// Reading streams: memory stays constant whatever the size of the files
// (one record at a time, one file open at a time). Event.At is the trace
// event's Timestamp (the zero time when it has none), or the extra's At.
//
// pubsub v0.19.0 and later trace every completed write as a
// SEND_RPC_COMPLETED event, which the protobuf types of older releases
// cannot represent; Open turns each one into a KindWrite extra (its peer
// and write duration), whichever pubsub release this is built with. Events
// of other types come out as they are, unknown ones included.
//
// A record that cannot be read gives a *ReadError naming the file and the
// record's offset or line; see ErrTruncated and ErrCorrupt for what the
// caller can do next.
func Open(path string) (Source, error) {
	dir, err := isRecordingDir(path)
	if err != nil {
		return nil, err
	}
	if dir {
		return openRecording(path)
	}
	s, err := openStream(path)
	if err != nil {
		return nil, err
	}
	return &fileSource{dec: newTraceDecoder(s)}, nil
}

// fileSource is one of pubsub's trace files.
type fileSource struct {
	dec   *traceDecoder
	err   error // sticky
	count uint64
}

func (f *fileSource) Format() Format { return f.dec.format() }

func (f *fileSource) Next() (Event, error) {
	if f.err != nil {
		return Event{}, f.err
	}
	ev, err := f.dec.next(f.count)
	if err != nil {
		if errors.Is(err, ErrTruncated) {
			f.err = io.EOF // what follows a truncation is the end
		} else {
			f.err = err
		}
		return Event{}, err
	}
	f.count++
	return ev, nil
}

func (f *fileSource) Close() error {
	if f.err == nil {
		f.err = errClosed
	}
	return f.dec.close()
}

var errClosed = errors.New("peerscore/replay: source closed")

// traceEvent is ev as an Event.
func traceEvent(ev *pb.TraceEvent) Event {
	var at time.Time
	if ev.Timestamp != nil {
		at = time.Unix(0, *ev.Timestamp)
	}
	return Event{At: at, Trace: ev}
}

// extraEvent is x as an Event.
func extraEvent(x *Extra) Event {
	return Event{At: time.Unix(0, x.At), Extra: x}
}
