package peerscore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// stateMagic starts every state file; the version follows it.
const (
	stateMagic   = "peerscore-state "
	stateVersion = "v1"
	stateSumTag  = "sha256 "
)

// Limits that keep a hostile or damaged file from exhausting memory. A node
// has at most a few thousand peers; a million retained ones is far beyond
// anything real.
const (
	// MaxStateSize is the largest state file Load reads: 64 MiB.
	MaxStateSize = 64 << 20

	maxStatePeers     = 1 << 20
	maxStatePeerTopic = 1 << 14 // topics per peer
	maxStatePeerIPs   = 1 << 10 // addresses per peer
	maxStateIDChars   = 256     // base58 characters in a peer ID
)

// ErrInvalidState is wrapped by every error Load and LoadFile return for
// input that is not a state file this version can read: empty, truncated,
// corrupt, an unknown version, or values out of range. Errors reading the
// input are returned as they are, so errors.Is(err, ErrInvalidState) tells
// a file to discard from a disk to fix.
var ErrInvalidState = errors.New("peerscore: invalid saved state")

type stateFile struct {
	SavedAt time.Time   `json:"saved_at"`
	Peers   []statePeer `json:"peers"`
}

type statePeer struct {
	ID        string       `json:"id"`
	Expires   time.Time    `json:"expires"`
	Topics    []stateTopic `json:"topics,omitempty"`
	Behaviour float64      `json:"behaviour_penalty,omitempty"`
	Slow      float64      `json:"slow_peer,omitempty"`
	IPs       []string     `json:"ips,omitempty"`
}

type stateTopic struct {
	Topic   string  `json:"topic"`
	First   float64 `json:"first_message_deliveries"`
	Mesh    float64 `json:"mesh_message_deliveries"`
	Failure float64 `json:"mesh_failure_penalty"`
	Invalid float64 `json:"invalid_message_deliveries"`
}

// stateCounter keeps a counter writable: JSON has no NaN or infinity, and
// counters are never negative. The engine keeps them so already.
func stateCounter(x float64) float64 {
	if x != x || x < 0 {
		return 0
	}
	return finite(x)
}

// wallTime drops the monotonic reading and the location, leaving the
// instant as the file stores it.
func wallTime(t time.Time) time.Time { return t.Round(0).UTC() }

func encodeState(st *stateFile) ([]byte, error) {
	body, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("peerscore: save: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(stateMagic) + len(stateVersion) + len(body) + len(stateSumTag) + 2*sha256.Size + 3)
	buf.WriteString(stateMagic + stateVersion + "\n")
	buf.Write(body)
	buf.WriteByte('\n')
	sum := sha256.Sum256(buf.Bytes())
	buf.WriteString(stateSumTag)
	buf.WriteString(hex.EncodeToString(sum[:]))
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// decodeState checks a state file from end to end and returns its peers.
func decodeState(data []byte) ([]restoredPeer, error) {
	if len(data) == 0 {
		return nil, invalidState("empty input")
	}
	if len(data) > MaxStateSize {
		return nil, invalidState("larger than %d bytes", MaxStateSize)
	}
	header, _, found := bytes.Cut(data, []byte("\n"))
	if !bytes.HasPrefix(header, []byte(stateMagic)) {
		if !found && bytes.HasPrefix([]byte(stateMagic), header) {
			return nil, invalidState("truncated header")
		}
		return nil, invalidState("not a peerscore state file")
	}
	if v := string(header[len(stateMagic):]); v != stateVersion {
		if !found {
			return nil, invalidState("truncated header")
		}
		return nil, invalidState("unsupported version %.20q (this build reads %s)", v, stateVersion)
	}
	if data[len(data)-1] != '\n' {
		return nil, invalidState("truncated: no final newline")
	}
	cut := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	covered, trailer := data[:cut], data[cut:len(data)-1]
	if cut <= len(header)+1 {
		return nil, invalidState("truncated or corrupt: missing lines")
	}
	sum := sha256.Sum256(covered)
	if string(trailer) != stateSumTag+hex.EncodeToString(sum[:]) {
		if !bytes.HasPrefix(trailer, []byte(stateSumTag)) || len(trailer) != len(stateSumTag)+2*sha256.Size {
			return nil, invalidState("truncated or corrupt: no checksum line")
		}
		return nil, invalidState("checksum mismatch: the file is corrupt")
	}

	var st stateFile
	dec := json.NewDecoder(bytes.NewReader(covered[len(header)+1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, invalidState("body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalidState("body: data after the JSON object")
	}
	if len(st.Peers) > maxStatePeers {
		return nil, invalidState("%d peers, more than %d", len(st.Peers), maxStatePeers)
	}
	out := make([]restoredPeer, len(st.Peers))
	seen := make(map[peer.ID]struct{}, len(st.Peers))
	for i := range st.Peers {
		rp, err := checkPeer(&st.Peers[i])
		if err != nil {
			return nil, invalidState("peer %d: %v", i, err)
		}
		if _, dup := seen[rp.id]; dup {
			return nil, invalidState("peer %d: %s listed twice", i, rp.id)
		}
		seen[rp.id] = struct{}{}
		out[i] = rp
	}
	return out, nil
}

func checkPeer(sp *statePeer) (restoredPeer, error) {
	id, err := decodePeerID(sp.ID)
	if err != nil {
		return restoredPeer{}, err
	}
	rp := restoredPeer{id: id, expires: sp.Expires, topics: sp.Topics, behaviour: sp.Behaviour, slow: sp.Slow}
	if sp.Expires.IsZero() {
		return rp, fmt.Errorf("%s: no expiry", id)
	}
	if err := checkCounter("behaviour_penalty", sp.Behaviour); err != nil {
		return rp, fmt.Errorf("%s: %w", id, err)
	}
	if err := checkCounter("slow_peer", sp.Slow); err != nil {
		return rp, fmt.Errorf("%s: %w", id, err)
	}
	if len(sp.Topics) > maxStatePeerTopic {
		return rp, fmt.Errorf("%s: %d topics, more than %d", id, len(sp.Topics), maxStatePeerTopic)
	}
	topics := make(map[string]struct{}, len(sp.Topics))
	for _, t := range sp.Topics {
		if _, dup := topics[t.Topic]; dup {
			return rp, fmt.Errorf("%s: topic %q listed twice", id, t.Topic)
		}
		topics[t.Topic] = struct{}{}
		for _, c := range []struct {
			name string
			v    float64
		}{
			{"first_message_deliveries", t.First},
			{"mesh_message_deliveries", t.Mesh},
			{"mesh_failure_penalty", t.Failure},
			{"invalid_message_deliveries", t.Invalid},
		} {
			if err := checkCounter(c.name, c.v); err != nil {
				return rp, fmt.Errorf("%s: topic %q: %w", id, t.Topic, err)
			}
		}
	}
	if len(sp.IPs) > maxStatePeerIPs {
		return rp, fmt.Errorf("%s: %d addresses, more than %d", id, len(sp.IPs), maxStatePeerIPs)
	}
	if len(sp.IPs) > 0 {
		rp.ips = make([]string, len(sp.IPs))
	}
	for i, a := range sp.IPs {
		ip := net.ParseIP(a)
		if ip == nil {
			return rp, fmt.Errorf("%s: address %q is not an IP address", id, a)
		}
		rp.ips[i] = ip.String() // the form hostIPs gives
	}
	return rp, nil
}

func checkCounter(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s = %v: must be finite and not negative", name, v)
	}
	return nil
}

func invalidState(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidState, fmt.Sprintf(format, args...))
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// decodePeerID reads a peer ID as peer.ID.String writes it: the base58
// (Bitcoin alphabet) of its bytes. Unlike peer.Decode it does not insist
// that the bytes be a multihash, so any ID the scorer was given survives a
// round trip; the result is checked by encoding it again.
func decodePeerID(s string) (peer.ID, error) {
	if s == "" || len(s) > maxStateIDChars {
		return "", fmt.Errorf("peer ID %.20q: empty or too long", s)
	}
	n, digit, radix := new(big.Int), new(big.Int), big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return "", fmt.Errorf("peer ID %q: not base58", s)
		}
		n.Mul(n, radix).Add(n, digit.SetInt64(int64(d)))
	}
	id := peer.ID(append(make([]byte, zeros), n.Bytes()...))
	if id.String() != s {
		return "", fmt.Errorf("peer ID %q: not in canonical base58", s)
	}
	return id, nil
}
