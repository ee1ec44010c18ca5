package peerscore

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"slices"
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
	// maxStateSize is the largest state Load reads and Save writes: 64 MiB.
	// Save leaves out the least negative peers rather than write more.
	maxStateSize = 64 << 20

	maxStateIDChars = 256 // base58 characters in a peer ID
)

// stateLimits are the bounds Load enforces and Save keeps to, so that
// whatever Save writes, Load accepts. Every Scorer uses defaultStateLimits;
// tests lower them (export_test.go) to reach them cheaply.
type stateLimits struct {
	size       int // bytes in the whole state
	peers      int
	peerTopics int // topics per peer
	peerIPs    int // addresses per peer
}

var defaultStateLimits = stateLimits{
	size:       maxStateSize,
	peers:      1 << 20,
	peerTopics: 1 << 14,
	peerIPs:    1 << 10,
}

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

// savedPeer is a peer to save and the score it is ranked by.
type savedPeer struct {
	peer  statePeer
	score float64
}

// encodeState writes the state of peers saved at savedAt, as much of it as
// lim allows: the most negative peers first, so that the ones left out are
// the least negative. It reports how many peers it wrote. Each peer is
// encoded once, in rank order, and the encoding stops at the first that
// does not fit, so a state far over the limit costs no more than one at it.
func encodeState(savedAt time.Time, peers []savedPeer, lim stateLimits) ([]byte, int, error) {
	slices.SortFunc(peers, func(a, b savedPeer) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return strings.Compare(a.peer.ID, b.peer.ID)
	})
	// The body is json.Marshal(stateFile), written a peer at a time:
	// {"saved_at":"...","peers":[{...},{...}]}
	head, err := json.Marshal(struct {
		SavedAt time.Time `json:"saved_at"`
	}{savedAt})
	if err != nil {
		return nil, 0, fmt.Errorf("peerscore: save: %w", err)
	}
	open := append(head[:len(head)-1:len(head)-1], `,"peers":[`...)
	const closing = "]}"
	header := stateMagic + stateVersion + "\n"
	fixed := len(header) + len(open) + len(closing) + 1 + len(stateSumTag) + 2*sha256.Size + 1
	type encoded struct {
		id   string
		json []byte
	}
	var kept []encoded
	used := fixed
	for i := range peers {
		if len(kept) == lim.peers {
			break
		}
		b, err := json.Marshal(&peers[i].peer)
		if err != nil {
			return nil, 0, fmt.Errorf("peerscore: save: %w", err)
		}
		need := len(b)
		if len(kept) > 0 {
			need++ // the comma
		}
		if used+need > lim.size {
			break
		}
		used += need
		kept = append(kept, encoded{peers[i].peer.ID, b})
	}
	slices.SortFunc(kept, func(a, b encoded) int { return strings.Compare(a.id, b.id) })

	var buf bytes.Buffer
	buf.Grow(used)
	buf.WriteString(header)
	buf.Write(open)
	for i, e := range kept {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.json)
	}
	buf.WriteString(closing + "\n")
	sum := sha256.Sum256(buf.Bytes())
	buf.WriteString(stateSumTag)
	buf.WriteString(hex.EncodeToString(sum[:]))
	buf.WriteByte('\n')
	return buf.Bytes(), len(kept), nil
}

// decodeState checks a state file from end to end and returns its peers.
func decodeState(data []byte, lim stateLimits) ([]restoredPeer, error) {
	if len(data) == 0 {
		return nil, invalidState("empty input")
	}
	if len(data) > lim.size {
		return nil, tooLarge(lim)
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
	if len(st.Peers) > lim.peers {
		return nil, invalidState("%d peers, more than %d", len(st.Peers), lim.peers)
	}
	out := make([]restoredPeer, len(st.Peers))
	seen := make(map[peer.ID]struct{}, len(st.Peers))
	for i := range st.Peers {
		rp, err := checkPeer(&st.Peers[i], lim)
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

func checkPeer(sp *statePeer, lim stateLimits) (restoredPeer, error) {
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
	if len(sp.Topics) > lim.peerTopics {
		return rp, fmt.Errorf("%s: %d topics, more than %d", id, len(sp.Topics), lim.peerTopics)
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
	if len(sp.IPs) > lim.peerIPs {
		return rp, fmt.Errorf("%s: %d addresses, more than %d", id, len(sp.IPs), lim.peerIPs)
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

func tooLarge(lim stateLimits) error {
	return invalidState("larger than %d bytes", lim.size)
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
