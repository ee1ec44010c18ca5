package peerscore

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/lifecycle"
)

// Threshold names a score level at which the router changes how it treats a
// peer. Its values are snake case, as they read in JSON and logs.
type Threshold string

// The levels threshold events report crossings of. A peer is "below" a
// level when its score is strictly less than it, as the router reads them.
const (
	// ThresholdZero: below it the router prunes the peer from its meshes
	// and refuses its GRAFTs.
	ThresholdZero Threshold = "zero"
	// ThresholdGossip: below GossipThreshold, no gossip to or from the peer.
	ThresholdGossip Threshold = "gossip"
	// ThresholdPublish: below PublishThreshold, our messages are not
	// flood-published to the peer.
	ThresholdPublish Threshold = "publish"
	// ThresholdGraylist: below GraylistThreshold, every RPC from the peer is
	// ignored.
	ThresholdGraylist Threshold = "graylist"
	// ThresholdAcceptPX: at or above AcceptPXThreshold, the router accepts
	// peer exchange from the peer.
	ThresholdAcceptPX Threshold = "accept_px"
)

// ThresholdEvent reports that a peer's score crossed a threshold.
type ThresholdEvent struct {
	Peer      peer.ID   `json:"peer"`
	Threshold Threshold `json:"threshold"`
	Level     float64   `json:"level"` // the threshold's value
	Down      bool      `json:"down"`  // true when the score fell below Level, false when it rose to it
	Old       float64   `json:"old"`   // the score before the crossing
	New       float64   `json:"new"`   // and after it
	// Reason is the component that explains the new score best (see
	// Snapshot.Dominant), and ReasonValue its contribution.
	Reason      Component `json:"reason"`
	ReasonValue float64   `json:"reason_value"`
}

// MarshalJSON writes the event as its fields say, except that a score of
// ±Inf (which JSON cannot carry) is written as ±MaxFloat64.
func (e ThresholdEvent) MarshalJSON() ([]byte, error) {
	type plain ThresholdEvent // without this method
	return json.Marshal(struct {
		plain
		Old         float64 `json:"old"`
		New         float64 `json:"new"`
		ReasonValue float64 `json:"reason_value"`
	}{plain(e), finite(e.Old), finite(e.New), finite(e.ReasonValue)})
}

// eventPoll is how often the threshold watcher looks for peers whose score
// the core republished since its last look.
const eventPoll = 100 * time.Millisecond

// WithThresholdEvents calls fn whenever a peer's score crosses one of the
// Scorer's thresholds (WithThresholds, which it needs) or zero, down or
// up. fn runs on a goroutine of the background loop, so only after Start,
// holding no lock of the Scorer (it may call the Scorer, Close included:
// see Close); it sees each peer's crossings in the order they happened.
// Several callbacks may be given; each sees every event, in the order they
// were given.
//
// A crossing caused by an event about the peer is reported within 100 ms;
// one caused by the passing of time, by the application's score (P5) or by
// peers joining or leaving its address (P6), within one DecayInterval. A
// dip shorter than that may go unseen. A peer's score starts at 0 when the
// scorer first meets it, and a peer restored by Load at its restored
// score, with no event: restoring state is not a crossing, and would
// otherwise fire at every start for every retained peer. A forgotten
// peer's tracking ends without an event.
func WithThresholdEvents(fn func(ThresholdEvent)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("WithThresholdEvents: nil callback")
		}
		c.eventFns = append(c.eventFns, fn)
		return nil
	}
}

type level struct {
	which Threshold
	value float64
}

// thresholdLevels lists the levels from the highest to the lowest, the order
// a falling score crosses them in.
// (Validate guarantees accept PX >= 0 >= gossip >= publish >= graylist).
func thresholdLevels(t *Thresholds) []level {
	return []level{
		{ThresholdAcceptPX, t.AcceptPXThreshold},
		{ThresholdZero, 0},
		{ThresholdGossip, t.GossipThreshold},
		{ThresholdPublish, t.PublishThreshold},
		{ThresholdGraylist, t.GraylistThreshold},
	}
}

// thresholdWatch finds threshold crossings. It reads only what the core
// publishes for Score, without its lock: the peer index, and each peer's
// score cache, whose sequence number moves whenever the core republishes
// the peer. The core knows nothing of it.
type thresholdWatch struct {
	fns    []func(ThresholdEvent)
	levels []level

	// owned by the watcher's goroutine
	seen map[*peerState]watched
	scan uint64
}

// watched is the watcher's last look at one peer.
type watched struct {
	seq   uint64  // the peer's cache sequence then
	score float64 // its score then
	scan  uint64  // the scan that last found it
}

func newThresholdWatch(t *Thresholds, fns []func(ThresholdEvent)) *thresholdWatch {
	return &thresholdWatch{fns: fns, levels: thresholdLevels(t), seen: make(map[*peerState]watched)}
}

// watchThresholds runs until the run stops: every eventPoll over the peers
// the core republished, and every DecayInterval over every known peer, for
// the crossings no republishing shows (time passing, P5, P6). A scan runs
// as user code (Call): it calls Params.AppSpecificScore and the callbacks,
// and changes nothing Close must wait for (w belongs to this goroutine).
func (s *Scorer) watchThresholds(r *lifecycle.Run) {
	poll := time.NewTicker(eventPoll)
	defer poll.Stop()
	sweep := time.NewTicker(s.rules.decayInterval)
	defer sweep.Stop()
	for {
		all := false
		select {
		case <-r.Done():
			return
		case <-poll.C:
		case <-sweep.C:
			all = true
		}
		if !r.Call(func() { s.scanThresholds(r, all) }) {
			return
		}
	}
}

// scanThresholds scores the peers that were republished since the last scan
// (every peer when all is set), reports their crossings, and drops the
// peers no longer known. It stops short once the run stops: a callback may
// have called Close, and no user code may be called after Close returns.
func (s *Scorer) scanThresholds(r *lifecycle.Run, all bool) {
	w := s.watch
	w.scan++
	for ps := range s.peers.Scan() {
		seq := ps.cache.seq.Load()
		last, known := w.seen[ps]
		if known && !all && last.seq == seq {
			last.scan = w.scan
			w.seen[ps] = last
			continue
		}
		if r.Stopped() {
			return // before AppSpecificScore
		}
		score := s.total(ps, s.appTerm(ps.ID))
		w.seen[ps] = watched{seq: seq, score: score, scan: w.scan}
		if !known && ps.restored {
			continue // restored state is where the peer starts, not a crossing
		}
		if score != last.score && !s.reportCrossings(r, ps.ID, last.score, score) {
			return
		}
	}
	for ps, st := range w.seen {
		if st.scan != w.scan {
			delete(w.seen, ps) // forgotten
		}
	}
}

// reportCrossings reports each threshold p's score crossed going from old
// to now, in the order the score passed them. The snapshot that explains
// the new score is built only when there is a crossing to explain. It
// returns false when the run stopped meanwhile.
func (s *Scorer) reportCrossings(r *lifecycle.Run, p peer.ID, old, now float64) bool {
	w := s.watch
	down := now < old
	var reason Component
	var reasonValue float64
	explained := false
	for i := range w.levels {
		l := w.levels[i]
		if !down {
			l = w.levels[len(w.levels)-1-i]
		}
		wasBelow, isBelow := old < l.value, now < l.value
		if wasBelow == isBelow {
			continue
		}
		if !explained {
			if r.Stopped() {
				return false // before AppSpecificScore
			}
			if snap, ok := s.Snapshot(p); ok {
				reason, reasonValue = snap.Dominant()
			}
			explained = true
		}
		e := ThresholdEvent{
			Peer: p, Threshold: l.which, Level: l.value, Down: isBelow,
			Old: old, New: now, Reason: reason, ReasonValue: reasonValue,
		}
		for _, fn := range w.fns {
			if !r.Call(func() { fn(e) }) {
				return false
			}
		}
	}
	return true
}
