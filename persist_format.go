package peerscore

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/statefile"
)

// stateFormat is the first line of every state file: its name and
// version.
var stateFormat = statefile.Format{Magic: "peerscore-state", Version: "v1"}

// Limits that keep a hostile or damaged file from exhausting memory. A node
// has at most a few thousand peers; a million retained ones is far beyond
// anything real.
const (
	// maxStateSize is the largest state Load reads and Save writes: 64 MiB.
	// Save leaves out the least negative peers rather than write more.
	maxStateSize = 64 << 20

	maxStateIDChars = statefile.MaxPeerIDChars // base58 characters in a peer ID
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
	// Active is the P3 activation, saved because pubsub's reading of P3
	// (the default) keeps charging it to a peer out of the mesh.
	Active bool `json:"mesh_deliveries_active,omitempty"`
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
	// The body is json.Marshal(stateFile), written a peer at a time.
	data, saved, err := statefile.EncodeList(stateFormat, savedAt, "peers", len(peers),
		func(i int) (statefile.Item, error) {
			b, err := json.Marshal(&peers[i].peer)
			return statefile.Item{Key: peers[i].peer.ID, JSON: b}, err
		}, lim.peers, lim.size)
	if err != nil {
		return nil, 0, fmt.Errorf("peerscore: save: %w", err)
	}
	return data, saved, nil
}

// decodeState checks a state file from end to end and returns its peers.
func decodeState(data []byte, lim stateLimits) ([]restoredPeer, error) {
	if len(data) == 0 {
		return nil, invalidState("empty input")
	}
	if len(data) > lim.size {
		return nil, tooLarge(lim)
	}
	var st stateFile
	if err := stateFormat.OpenJSON(data, &st); err != nil {
		return nil, invalidState("%v", err)
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
	id, err := statefile.DecodePeerID(sp.ID)
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
		rp.ips[i] = ip.String() // the form peerips.Of gives
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
