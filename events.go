package peerscore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Threshold names a score level at which the router changes how it treats a
// peer.
type Threshold int

// The levels ThresholdEvents reports crossings of. A peer is "below" a level
// when its score is strictly less than it, as the router reads them.
const (
	// ThresholdZero: below it the router prunes the peer from its meshes
	// and refuses its GRAFTs.
	ThresholdZero Threshold = iota
	// ThresholdGossip: below GossipThreshold, no gossip to or from the peer.
	ThresholdGossip
	// ThresholdPublish: below PublishThreshold, our messages are not
	// flood-published to the peer.
	ThresholdPublish
	// ThresholdGraylist: below GraylistThreshold, every RPC from the peer is
	// ignored.
	ThresholdGraylist
	// ThresholdAcceptPX: at or above AcceptPXThreshold, the router accepts
	// peer exchange from the peer.
	ThresholdAcceptPX
)

var thresholdNames = [...]string{"zero", "gossip", "publish", "graylist", "accept_px"}

// String returns the level's name in snake case: zero, gossip, publish,
// graylist, accept_px.
func (t Threshold) String() string {
	if t < 0 || int(t) >= len(thresholdNames) {
		return "unknown"
	}
	return thresholdNames[t]
}

// ThresholdEvent reports that a peer's score crossed a threshold.
type ThresholdEvent struct {
	Peer      peer.ID
	Threshold Threshold
	Level     float64 // the threshold's value
	Down      bool    // true when the score fell below Level, false when it rose to it
	Old, New  float64 // the score before and after the crossing
	// Reason is the component that explains the new score best (see
	// Snapshot.Dominant), and ReasonValue its contribution.
	Reason      Component
	ReasonValue float64
}

// WithThresholdEvents calls fn whenever a peer's score crosses one of t's
// thresholds (or zero), down or up. fn runs on a goroutine of the
// background loop, so only after Start, holding no lock of the Scorer (it
// may call the Scorer, Close included: see Close); it sees each peer's
// crossings in the order they happened. A crossing caused by an event about
// the peer is reported at once; one caused by the passing of time, by the
// application's score (P5) or by other peers joining or leaving its address
// (P6), within one DecayInterval. A dip shorter
// than that may go unseen. A peer's score starts at 0 when the scorer first
// meets it; a forgotten peer's tracking ends without an event.
func WithThresholdEvents(t *Thresholds, fn func(ThresholdEvent)) Option {
	return func(c *config) error {
		if t == nil || fn == nil {
			return errors.New("peerscore: WithThresholdEvents: nil thresholds or callback")
		}
		if err := t.Validate(); err != nil {
			return err
		}
		c.events = &eventWatch{
			fn:     fn,
			levels: thresholdLevels(t),
			dirty:  make(map[peer.ID]struct{}),
			wake:   make(chan struct{}, 1),
			last:   make(map[peer.ID]float64),
		}
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

// eventWatch finds threshold crossings. Events mark the peers they touch
// dirty (under Scorer.mu); the watcher's goroutine scores them outside the
// lock and compares with the last score it saw.
type eventWatch struct {
	fn     func(ThresholdEvent)
	levels []level

	mu    sync.Mutex
	dirty map[peer.ID]struct{}
	wake  chan struct{}

	last map[peer.ID]float64 // owned by the watcher's goroutine
}

// mark records that p's score may have changed. It is called on every
// republished score, so it does as little as it can.
func (w *eventWatch) mark(p peer.ID) {
	w.mu.Lock()
	w.dirty[p] = struct{}{}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// watchThresholds runs until ctx is done: at once after events, and every
// DecayInterval over every known peer, for crossings the events do not
// show (time passing, the application's score).
func (s *Scorer) watchThresholds(ctx context.Context) {
	w := s.events
	sweep := time.NewTicker(s.rules.decayInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-sweep.C:
			s.markAllDirty()
		}
		w.mu.Lock()
		batch := w.dirty
		w.dirty = make(map[peer.ID]struct{}, len(batch))
		w.mu.Unlock()
		for p := range batch {
			if ctx.Err() != nil {
				return // a callback called Close, or Close is waiting
			}
			s.checkCrossings(ctx, p)
		}
	}
}

func (s *Scorer) markAllDirty() {
	s.mu.Lock()
	ids := make([]peer.ID, len(s.peers.all))
	for i, ps := range s.peers.all {
		ids[i] = ps.id
	}
	s.mu.Unlock()
	w := s.events
	w.mu.Lock()
	for _, id := range ids {
		w.dirty[id] = struct{}{}
	}
	w.mu.Unlock()
}

// checkCrossings compares p's score with the last one seen and reports each
// threshold crossed, in the order the score passed them.
// It stops short once ctx is done: a callback may have called Close.
func (s *Scorer) checkCrossings(ctx context.Context, p peer.ID) {
	w := s.events
	snap, known := s.Snapshot(p)
	if !known {
		delete(w.last, p)
		return
	}
	old := w.last[p]
	now := snap.Score
	w.last[p] = now
	if now == old {
		return
	}
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
		if ctx.Err() != nil {
			return
		}
		if !explained {
			reason, reasonValue = snap.Dominant()
			explained = true
		}
		w.fn(ThresholdEvent{
			Peer: p, Threshold: l.which, Level: l.value, Down: isBelow,
			Old: old, New: now, Reason: reason, ReasonValue: reasonValue,
		})
	}
}
