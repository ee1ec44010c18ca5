// Package statefile holds what the module's saved states have in common:
// a versioned text frame closed by a SHA-256 line, atomic writes of a state
// file, the clean-up of what a crash during a write leaves behind, setting
// a damaged file aside, and reading back peer IDs as they were written.
// The Scorer's retained scores (package peerscore) and the ban table of a
// Gater (package ban) are both saved this way; each keeps its own body,
// limits, errors and log lines.
package statefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// sumTag starts the last line of every state.
const sumTag = "sha256 "

// Format names a kind of state: its first line is Magic, a space and
// Version. A state is that line, a body of one line, and a line with the
// SHA-256 of everything before it:
//
//	<Magic> <Version>
//	<body>
//	sha256 <64 lowercase hex digits>
//
// Every line ends with a newline, the last one included, so that a
// truncated state is told from a complete one.
type Format struct {
	Magic   string // e.g. "peerscore-state"
	Version string // e.g. "v1"
}

func (f Format) header() string { return f.Magic + " " + f.Version + "\n" }

// Overhead is how many bytes a state holds besides its body.
func (f Format) Overhead() int {
	return len(f.header()) + 1 + len(sumTag) + 2*sha256.Size + 1
}

// Begin returns a buffer holding the header, with room for a body of
// bodySize bytes and the rest of the state. Write the body to it (without
// a newline), then Seal it.
func (f Format) Begin(bodySize int) *bytes.Buffer {
	var buf bytes.Buffer
	buf.Grow(bodySize + f.Overhead())
	buf.WriteString(f.header())
	return &buf
}

// Seal ends the body begun with Begin and appends the checksum line; it
// returns the whole state.
func (f Format) Seal(buf *bytes.Buffer) []byte {
	buf.WriteByte('\n')
	sum := sha256.Sum256(buf.Bytes())
	buf.WriteString(sumTag)
	buf.WriteString(hex.EncodeToString(sum[:]))
	buf.WriteByte('\n')
	return buf.Bytes()
}

// Open checks that data is a whole state of format f, from its first line
// to its checksum, and returns its body. Its errors say what is wrong in a
// few words ("truncated header", "checksum mismatch: the file is
// corrupt"); the caller wraps them in its own error for invalid states.
func (f Format) Open(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("empty input")
	}
	magic := f.Magic + " "
	header, _, found := bytes.Cut(data, []byte("\n"))
	if !bytes.HasPrefix(header, []byte(magic)) {
		if !found && bytes.HasPrefix([]byte(magic), header) {
			return nil, errors.New("truncated header")
		}
		return nil, fmt.Errorf("not a %s file", f.Magic)
	}
	if v := string(header[len(magic):]); v != f.Version {
		if !found {
			return nil, errors.New("truncated header")
		}
		return nil, fmt.Errorf("unsupported version %.20q (this build reads %s)", v, f.Version)
	}
	if data[len(data)-1] != '\n' {
		return nil, errors.New("truncated: no final newline")
	}
	cut := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	covered, trailer := data[:cut], data[cut:len(data)-1]
	if cut <= len(header)+1 {
		return nil, errors.New("truncated or corrupt: missing lines")
	}
	sum := sha256.Sum256(covered)
	if string(trailer) != sumTag+hex.EncodeToString(sum[:]) {
		if !bytes.HasPrefix(trailer, []byte(sumTag)) || len(trailer) != len(sumTag)+2*sha256.Size {
			return nil, errors.New("truncated or corrupt: no checksum line")
		}
		return nil, errors.New("checksum mismatch: the file is corrupt")
	}
	return covered[len(header)+1 : len(covered)-1], nil
}

// OpenJSON opens data as Open does and decodes its body, a single JSON
// object with no field that v does not have, into v. Keys must be spelt
// as the fields' names are, case included, and none may appear twice in
// one object. Errors are Open's, or say "body: " and what is wrong with
// it.
func (f Format) OpenJSON(data []byte, v any) error {
	body, err := f.Open(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("body: data after the JSON object")
	}
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}
