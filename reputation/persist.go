package reputation

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/statefile"
)

// stateFormat is the first line of every saved reputation.
var stateFormat = statefile.Format{Magic: "peerscore-reputation", Version: "v1"}

// stateLimits bound what Save writes and Load reads, so that whatever Save
// writes, Load accepts, and a hostile or damaged input cannot exhaust
// memory. Every Reputation uses defaultStateLimits; tests lower them.
type stateLimits struct {
	size  int // bytes in the whole state
	peers int
}

// defaultStateLimits: 16 MiB and 131,072 peers, far beyond the 4,096 a
// Reputation tracks by default; a peer with four reasons takes about 400
// bytes saved.
var defaultStateLimits = stateLimits{size: 16 << 20, peers: 1 << 17}

// ErrInvalidState is wrapped by every error Load and LoadFile return for
// input that is not a saved reputation this version can read: empty,
// truncated, corrupt, an unknown version, or values out of range. Errors
// reading the input are returned as they are.
var ErrInvalidState = errors.New("peerscore/reputation: invalid saved reputation")

type stateReason struct {
	Reason string    `json:"reason"`
	Action Action    `json:"action"`
	Count  int       `json:"count"`
	Last   time.Time `json:"last"`
}

type statePeer struct {
	Peer        string        `json:"peer"`
	Value       float64       `json:"value"`
	At          time.Time     `json:"at"`
	FrozenUntil time.Time     `json:"frozen_until,omitzero"`
	Reasons     []stateReason `json:"reasons,omitempty"`
}

type stateFile struct {
	SavedAt time.Time   `json:"saved_at"`
	Peers   []statePeer `json:"peers"`
}

// Save writes every tracked peer's reputation to w, so that a new
// Reputation can Load it after a restart and a peer reported Fatal is not
// back at 0 because the node restarted. It holds the Reputation's lock
// only to copy the table, and writes with a single call to w.Write. The
// format, version 1, is UTF-8 text in three lines, like the Scorer's and
// the Gater's saved states:
//
//	peerscore-reputation v1
//	{"saved_at":"2025-01-02T03:04:05Z","peers":[
//	  {"peer":"12D3KooW...","value":-100,"at":"2025-01-02T03:00:00Z",
//	   "frozen_until":"2025-01-02T15:00:00Z",
//	   "reasons":[{"reason":"wrong network","action":"fatal","count":1,"last":"2025-01-02T03:00:00Z"}]}]}
//	sha256 <64 lowercase hex digits>
//
// (the second line is one line). Each peer has the value its last report
// left it at and when, undecayed (Load decays it from then, so the time
// the node was down counts), the end of its freeze if one is in force,
// and its reasons, the most recent first. Times are wall-clock, RFC 3339,
// UTC. The third line is the SHA-256 of every byte before it.
//
// Whatever Save writes, Load accepts: Save never writes more than 16 MiB
// or 131,072 peers; beyond that, frozen peers and then the lowest values
// are kept, and Save logs how many it left out at warn level.
func (r *Reputation) Save(w io.Writer) error {
	data, err := r.encodeState()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("peerscore/reputation: save: %w", err)
	}
	return nil
}

// savedPeer is a peer to save, and what it is ranked by when not all fit.
type savedPeer struct {
	id     peer.ID
	state  statePeer
	now    float64 // its value now
	frozen bool
}

// encodeState encodes the tracked peers, within the limits.
func (r *Reputation) encodeState() ([]byte, error) {
	savedAt, peers := r.copyTable()
	slices.SortFunc(peers, func(a, b savedPeer) int {
		if a.frozen != b.frozen {
			if a.frozen {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.now, b.now)
	})
	writable := slices.DeleteFunc(peers, func(p savedPeer) bool { return len(p.id.String()) > statefile.MaxPeerIDChars })
	unwritable := len(peers) - len(writable)
	data, saved, err := statefile.EncodeList(stateFormat, savedAt, "peers", len(writable),
		func(i int) (statefile.Item, error) {
			sp := &writable[i].state
			sp.Peer = writable[i].id.String()
			b, err := json.Marshal(sp)
			return statefile.Item{Key: sp.Peer, JSON: b}, err
		}, r.cfg.limits.peers, r.cfg.limits.size)
	if err != nil {
		return nil, fmt.Errorf("peerscore/reputation: save: %w", err)
	}
	if left := len(writable) - saved + unwritable; left > 0 {
		r.cfg.logger.Warn("peerscore/reputation: saved reputation at its limit: left out the mildest peers",
			"saved", saved, "left_out", left, "limit_bytes", r.cfg.limits.size, "limit_peers", r.cfg.limits.peers)
	}
	return data, nil
}

// copyTable copies every tracked peer that has not decayed to nothing, as
// Save writes it, under the lock.
func (r *Reputation) copyTable() (time.Time, []savedPeer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	all := r.peers.All()
	out := make([]savedPeer, 0, len(all))
	for _, e := range all {
		v, frozen := e.valueAt(now, r.cfg.halfLife), now < e.frozen
		if isNegligible(v) && !frozen {
			continue
		}
		sp := statePeer{Value: e.value, At: r.wall(e.at), Reasons: make([]stateReason, len(e.reasons))}
		if frozen {
			sp.FrozenUntil = r.wall(e.frozen)
		}
		for i, rec := range e.reasons {
			sp.Reasons[i] = stateReason{Reason: rec.reason, Action: rec.action, Count: rec.count, Last: r.wall(rec.last)}
		}
		out = append(out, savedPeer{id: e.ID, state: sp, now: v, frozen: frozen})
	}
	return r.wall(now), out
}

// wall is a time on the Reputation's clock as the state stores it:
// wall-clock, UTC.
func (r *Reputation) wall(d time.Duration) time.Time { return r.at(d).UTC() }

// Load reads a reputation written by Save and adds its peers, so that a
// node starts with the opinions it had. It reads r to its end and checks
// all of it before changing anything: if the input is larger than 16 MiB,
// empty, truncated, corrupt, of another version or holds values out of
// range (a value outside [-100, 100], an unknown action, a malformed peer
// ID, a peer or a reason listed twice, more than 64 reasons), Load returns
// an error wrapping ErrInvalidState and the Reputation is exactly as it
// was.
//
// Each saved peer decays from the time of its last report, so the time
// the node was down counts; one that decayed to nothing meanwhile is not
// restored, nor is one the Reputation already tracks (its live state
// wins). The saved state meets the current options: a freeze lasts no
// longer than WithFreeze's duration from now (none without WithFreeze), a
// value above the reward maximum (0 without WithReward) is brought down
// to it, at most WithMaxReasons reasons are kept, and times in the future
// (a clock that jumped back) count as now. If the peers do not all fit in
// WithMaxPeers, frozen peers and then the lowest values are restored, and
// Load logs how many it left out at warn level.
func (r *Reputation) Load(rd io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(rd, int64(r.cfg.limits.size)+1))
	if err != nil {
		return fmt.Errorf("peerscore/reputation: load: %w", err)
	}
	return r.loadState(data)
}

// restoredPeer is a saved peer, checked.
type restoredPeer struct {
	id    peer.ID
	state *statePeer
}

func (r *Reputation) loadState(data []byte) error {
	peers, err := decodeState(data, r.cfg.limits)
	if err != nil {
		return err
	}
	r.restore(peers)
	return nil
}

// decodeState checks a whole saved reputation and returns its peers.
func decodeState(data []byte, lim stateLimits) ([]restoredPeer, error) {
	if len(data) > lim.size {
		return nil, invalidState("larger than %d bytes", lim.size)
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
		sp := &st.Peers[i]
		id, err := statefile.DecodePeerID(sp.Peer)
		if err == nil {
			err = checkPeer(sp)
		}
		if err != nil {
			return nil, invalidState("peer %d: %v", i, err)
		}
		if _, dup := seen[id]; dup {
			return nil, invalidState("peer %d: %s listed twice", i, sp.Peer)
		}
		seen[id] = struct{}{}
		out[i] = restoredPeer{id: id, state: sp}
	}
	return out, nil
}

// checkPeer checks a saved peer's values.
func checkPeer(sp *statePeer) error {
	switch {
	case !(sp.Value >= MinValue && sp.Value <= MaxValue):
		return fmt.Errorf("value %v is not in [%v, %v]", sp.Value, MinValue, MaxValue)
	case sp.At.IsZero():
		return errors.New("no time for its value")
	case len(sp.Reasons) > maxReasonsLimit:
		return fmt.Errorf("%d reasons, more than %d", len(sp.Reasons), maxReasonsLimit)
	}
	type key struct {
		reason string
		action Action
	}
	seen := make(map[key]struct{}, len(sp.Reasons))
	for _, rs := range sp.Reasons {
		switch {
		case rs.Reason == "" || len(rs.Reason) > maxReasonLen || !utf8.ValidString(rs.Reason):
			return fmt.Errorf("reason %.20q: empty, longer than %d bytes or not UTF-8", rs.Reason, maxReasonLen)
		case !rs.Action.valid():
			return fmt.Errorf("reason %q: no action", rs.Reason)
		case rs.Count < 1:
			return fmt.Errorf("reason %q: count %d", rs.Reason, rs.Count)
		case rs.Last.IsZero():
			return fmt.Errorf("reason %q: no time", rs.Reason)
		}
		if _, dup := seen[key{rs.Reason, rs.Action}]; dup {
			return fmt.Errorf("reason %q (%v) listed twice", rs.Reason, rs.Action)
		}
		seen[key{rs.Reason, rs.Action}] = struct{}{}
	}
	return nil
}

func invalidState(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidState, fmt.Sprintf(format, args...))
}

// restore adds checked peers under the current options; it cannot fail.
func (r *Reputation) restore(peers []restoredPeer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var known, ended int
	fresh := make([]*entry, 0, len(peers))
	for _, rp := range peers {
		if r.peers.Get(rp.id) != nil {
			known++
			continue
		}
		e := r.restoredEntry(rp, now)
		if isNegligible(e.valueAt(now, r.cfg.halfLife)) && now >= e.frozen {
			ended++
			continue
		}
		fresh = append(fresh, e)
	}
	// The most important first, as Save ranks them, while room lasts.
	slices.SortStableFunc(fresh, func(a, b *entry) int {
		if fa, fb := now < a.frozen, now < b.frozen; fa != fb {
			if fa {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.valueAt(now, r.cfg.halfLife), b.valueAt(now, r.cfg.halfLife))
	})
	room := max(0, r.cfg.maxPeers-len(r.peers.All()))
	left := max(0, len(fresh)-room)
	for _, e := range fresh[:len(fresh)-left] {
		e.seq = r.tracked
		r.tracked++
		e.published.Store(math.Float64bits(e.valueAt(now, r.cfg.halfLife)))
		r.peers.Add(e, &e.Entry)
	}
	if left > 0 {
		r.cfg.logger.Warn("peerscore/reputation: saved peers beyond WithMaxPeers were not restored: the mildest",
			"left_out", left, "max_peers", r.cfg.maxPeers)
	}
	r.cfg.logger.Debug("peerscore/reputation: loaded saved reputation",
		"restored", len(fresh)-left, "decayed", ended, "already_tracked", known)
}

// restoredEntry is a saved peer as an entry of r now, under r's options.
func (r *Reputation) restoredEntry(rp restoredPeer, now time.Duration) *entry {
	sp := rp.state
	clock := func(t time.Time) time.Duration { return min(t.Sub(r.base), now) } // wall clock: t has no monotonic reading
	e := &entry{value: min(sp.Value, max(r.cfg.maxCredit, 0)), at: clock(sp.At)}
	e.ID = rp.id
	if r.cfg.freezeFor > 0 && !sp.FrozenUntil.IsZero() {
		if until := sp.FrozenUntil.Sub(r.base); until > now {
			e.frozen = min(until, addSat(now, r.cfg.freezeFor))
		}
	}
	for _, rs := range sp.Reasons[:min(len(sp.Reasons), r.cfg.maxReasons)] {
		e.reasons = append(e.reasons, reasonRecord{reason: rs.Reason, action: rs.Action, count: rs.Count, last: clock(rs.Last)})
	}
	return e
}

// addSat adds durations, saturating instead of overflowing: a freeze of
// "forever" must not wrap around into the past.
func addSat(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
