package replay

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// readBuffer is the buffered read size of every file a Source reads.
const readBuffer = 64 << 10

// stream is one file's content, decompressed if it was gzip'd, with the
// offset of the next byte.
type stream struct {
	path string
	f    *os.File
	gz   *gzip.Reader // nil when the file is not gzip'd
	r    *bufio.Reader
	off  int64 // content bytes consumed
	line int64 // lines consumed (line-oriented files)
	buf  []byte
}

// openStream opens path, seeing through gzip by its magic bytes.
func openStream(path string) (*stream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("peerscore/replay: %w", err)
	}
	s := &stream{path: path, f: f}
	raw := bufio.NewReaderSize(f, readBuffer)
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			_ = f.Close()
			return nil, &ReadError{Path: path, Err: classify(err)}
		}
		s.gz = gz
		s.r = bufio.NewReaderSize(gz, readBuffer)
	} else {
		s.r = raw
	}
	return s, nil
}

func (s *stream) close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// isJSON says whether the content starts with a JSON object, as pubsub's
// JSON tracer writes them (blank space before it allowed). The first byte
// of a protobuf trace is a record's length, which can be '{' (123 bytes)
// or a blank (9, 10, 13 or 32 bytes); pubsub's records then start with
// their type field, 0x08, where JSON has a quote, a brace, blank space or
// the object.
func (s *stream) isJSON() bool {
	b, _ := s.r.Peek(512)
	i := 0
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	if i == len(b) || b[i] != '{' {
		return false
	}
	if i+1 == len(b) {
		return true
	}
	return b[i+1] == '"' || b[i+1] == '}' || isBlank(b[i+1])
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// classify turns a read error into the cause a ReadError carries: the end
// of a gzip stream without its trailer is a truncation, a broken gzip
// stream is corruption, anything else (the disk) stays as it is.
func classify(err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the file ends inside a record or before gzip's end", ErrTruncated)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &corrupt):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return err
}

// errAt is a ReadError at the byte offset off.
func (s *stream) errAt(off int64, err error) error {
	return &ReadError{Path: s.path, Offset: off, Err: err}
}

// errLine is a ReadError at the 1-based line.
func (s *stream) errLine(line int64, err error) error {
	return &ReadError{Path: s.path, Offset: -1, Line: line, Err: err}
}

// readRecord reads one length-delimited record, as pbio.NewDelimitedWriter
// writes them: io.EOF at a clean end.
func (s *stream) readRecord() (rec []byte, start int64, err error) {
	start = s.off
	var length uint64
	for i := 0; ; i++ {
		b, err := s.r.ReadByte()
		if err != nil {
			if i == 0 && err == io.EOF {
				return nil, start, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, start, s.errAt(start, classify(err))
		}
		s.off++
		if i == binaryMaxVarintLen {
			return nil, start, s.errAt(start, fmt.Errorf("%w: a record length longer than a uvarint", ErrCorrupt))
		}
		length |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			break
		}
	}
	if length > maxRecord {
		return nil, start, s.errAt(start, fmt.Errorf("%w: a record of %d bytes (at most %d)", ErrCorrupt, length, maxRecord))
	}
	// Read in steps, so that a corrupt length costs what the file holds,
	// not what the length says.
	s.buf = s.buf[:0]
	for remaining := int(length); remaining > 0; {
		n := min(remaining, readBuffer)
		s.buf = slices.Grow(s.buf, n)
		got, err := io.ReadFull(s.r, s.buf[len(s.buf):len(s.buf)+n])
		s.buf = s.buf[:len(s.buf)+got]
		s.off += int64(got)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, start, s.errAt(start, classify(err))
		}
		remaining -= n
	}
	return s.buf, start, nil
}

const binaryMaxVarintLen = 10

// readLine reads one line, without its newline. At the end of the file it
// returns what is left of a last line without a newline, with the read
// error (io.EOF, or what the gzip layer said); a clean end is (nil, io.EOF).
func (s *stream) readLine() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.off += int64(len(chunk))
		if len(s.buf)+len(chunk) > maxRecord {
			return nil, s.errLine(s.line+1, fmt.Errorf("%w: a line longer than %d bytes", ErrCorrupt, maxRecord))
		}
		s.buf = append(s.buf, chunk...)
		switch {
		case err == nil:
			s.line++
			return s.buf[:len(s.buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			if len(s.buf) > 0 {
				s.line++
			}
			return s.buf, err
		}
	}
}

// lineReader reads the records of a line-oriented file (a JSON trace, an
// extras file), one JSON value per line.
type lineReader struct {
	s *stream
	// pending is the error that ended a last line read without its
	// newline, reported after the line's record.
	pending error
}

// next decodes the next non-blank line with decode: io.EOF at the end, a
// ReadError for a line that does not decode (ErrTruncated for a last line
// without its newline: cut short).
func (l *lineReader) next(decode func(line []byte) error) error {
	for {
		if l.pending != nil {
			err := l.pending
			l.pending = nil
			if err == io.EOF {
				return io.EOF
			}
			return l.s.errLine(l.s.line+1, classify(err))
		}
		line, err := l.s.readLine()
		if err != nil && len(line) == 0 {
			if err == io.EOF {
				return io.EOF
			}
			var re *ReadError
			if errors.As(err, &re) {
				return err
			}
			return l.s.errLine(l.s.line+1, classify(err))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			l.pending = err
			continue // a blank line: nothing pubsub writes, nothing lost
		}
		if derr := decode(line); derr != nil {
			if err != nil {
				return l.s.errLine(l.s.line, fmt.Errorf("%w: the last line is incomplete", ErrTruncated))
			}
			return l.s.errLine(l.s.line, fmt.Errorf("%w: %v", ErrCorrupt, derr))
		}
		l.pending = err // a whole last line without its newline: read it, then the end
		return nil
	}
}

// traceDecoder reads the events of one of pubsub's trace files.
type traceDecoder struct {
	s     *stream
	json  bool
	lines lineReader
}

func newTraceDecoder(s *stream) *traceDecoder {
	return &traceDecoder{s: s, json: s.isJSON(), lines: lineReader{s: s}}
}

func (d *traceDecoder) format() Format {
	if d.json {
		return FormatJSON
	}
	return FormatProto
}

func (d *traceDecoder) close() error { return d.s.close() }

// next reads the next event; count is the number of records before it.
func (d *traceDecoder) next(count uint64) (Event, error) {
	if d.json {
		return d.nextJSON(count)
	}
	return d.nextProto(count)
}

// nextProto reads the next event of a protobuf trace.
func (d *traceDecoder) nextProto(count uint64) (Event, error) {
	rec, start, err := d.s.readRecord()
	if err != nil {
		return Event{}, err
	}
	ev := new(pb.TraceEvent)
	if err := proto.Unmarshal(rec, ev); err != nil {
		return Event{}, d.s.errAt(start, fmt.Errorf("%w: %v", ErrCorrupt, err))
	}
	if ev.Type == nil || *ev.Type == typeSendRPCCompleted {
		if x, ok := writeFromProto(rec, ev, count); ok {
			return extraEvent(x), nil
		}
	}
	return traceEvent(ev), nil
}

// nextJSON reads the next event of a JSON trace.
func (d *traceDecoder) nextJSON(count uint64) (Event, error) {
	var ev *pb.TraceEvent
	var line []byte
	err := d.lines.next(func(l []byte) error {
		ev, line = new(pb.TraceEvent), l
		return json.Unmarshal(l, ev)
	})
	if err != nil {
		return Event{}, err
	}
	if ev.GetType() == typeSendRPCCompleted {
		if x, ok := writeFromJSON(line, ev, count); ok {
			return extraEvent(x), nil
		}
	}
	return traceEvent(ev), nil
}

// typeSendRPCCompleted is pubsub v0.19.0's SEND_RPC_COMPLETED, which
// older releases' TraceEvent_Type does not name.
const typeSendRPCCompleted pb.TraceEvent_Type = 13

// sendRPCCompletedField is TraceEvent's field for it (pubsub v0.19.0).
const sendRPCCompletedField = 17

// writeFromProto reads a SEND_RPC_COMPLETED record from its bytes, which
// every pubsub release's types can decode only as unknown fields: its
// type (field 1), peer (field 17's field 1) and write duration (field
// 17's field 3).
func writeFromProto(rec []byte, ev *pb.TraceEvent, count uint64) (*Extra, bool) {
	var typ uint64
	var body []byte
	for b := rec; len(b) > 0; {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, false
			}
			typ, b = v, b[m:]
		case num == sendRPCCompletedField && wt == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, false
			}
			body, b = v, b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, wt, b)
			if m < 0 {
				return nil, false
			}
			b = b[m:]
		}
	}
	if typ != uint64(typeSendRPCCompleted) || body == nil {
		return nil, false
	}
	var to []byte
	var took int64
	for b := body; len(b) > 0; {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, false
			}
			to, b = v, b[m:]
		case num == 3 && wt == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, false
			}
			took, b = int64(v), b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, wt, b)
			if m < 0 {
				return nil, false
			}
			b = b[m:]
		}
	}
	return writeExtra(ev, to, took, count), true
}

// writeFromJSON reads a SEND_RPC_COMPLETED line's peer and duration.
func writeFromJSON(line []byte, ev *pb.TraceEvent, count uint64) (*Extra, bool) {
	var v struct {
		Completed *struct {
			SendTo []byte `json:"sendTo"`
			Nanos  int64  `json:"writeDurationNanos"`
		} `json:"sendRPCCompleted"`
	}
	if json.Unmarshal(line, &v) != nil || v.Completed == nil {
		return nil, false
	}
	return writeExtra(ev, v.Completed.SendTo, v.Completed.Nanos, count), true
}

func writeExtra(ev *pb.TraceEvent, to []byte, took int64, count uint64) *Extra {
	return &Extra{Kind: KindWrite, At: ev.GetTimestamp(), Seq: count, Peer: peer.ID(to).String(), Took: time.Duration(took)}
}
