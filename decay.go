package peerscore

import (
	"time"
)

// Refresh performs one maintenance step: it decays every connected peer's
// counters, brings time in mesh and P3 activation up to date, forgets
// retained peers whose RetainScore has passed, drops delivery records older
// than SeenMsgTTL and charges the IWANT promises past due. Retained peers
// do not decay, so waiting out a bad score takes RetainScore.
//
// Most nodes call Start and never Refresh. The loop Start runs spreads
// this work over the router's own schedule, as pubsub's scorer does: the
// decay every DecayInterval, the promises at every router heartbeat, and
// the delivery records once a minute (so a record can outlive SeenMsgTTL
// by up to a minute, as in pubsub). A node that drives its own loop (a
// simulation stepping time, or a test) calls Refresh instead, once per
// DecayInterval: the decay factors are per interval, so calling it more
// often decays faster, and less often slower, than the parameters say.
// Without Start there are no inspections, threshold events, router checks
// or re-reads of peers' addresses from the host. Calling Refresh while
// Start's loop runs adds steps to the loop's: counters then decay faster
// than configured, so do one or the other.
func (s *Scorer) Refresh() {
	s.mu.Lock()
	now := s.now()
	s.decayLocked(now)
	s.deliveries.expire(now)
	s.mu.Unlock()
	s.router.heartbeatAt(now) // the mirror's lock and ours never nest
}

// decayStep is the loop's work every DecayInterval.
func (s *Scorer) decayStep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decayLocked(s.now())
}

// expireRecords is the loop's once-a-minute clean-up of delivery records.
func (s *Scorer) expireRecords() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries.expire(s.now())
}

// decayLocked decays the connected peers' counters and forgets the retained
// peers whose retention has ended.
func (s *Scorer) decayLocked(now time.Duration) {
	for i := 0; i < len(s.peers.All()); {
		ps := s.peers.All()[i]
		if !ps.connected && now > ps.expire {
			s.forget(ps) // moves the last peer to i, which is visited next
			continue
		}
		if ps.connected {
			s.decayPeer(ps, now)
		}
		i++
	}
	s.peers.Settle()
}

// decayPeer decays ps's counters and republishes its score if anything moved.
// Most idle counters are zero, so each is touched only when it is not.
func (s *Scorer) decayPeer(ps *peerState, now time.Duration) {
	zero := s.rules.decayToZero
	changed := false
	for i := range ps.topics {
		ts := &ps.topics[i]
		r := s.byIdx[ts.topic]
		moved := false
		if ts.first != 0 {
			ts.first, moved = decay(ts.first, r.firstDecay, zero), true
		}
		if ts.mesh != 0 {
			ts.mesh, moved = decay(ts.mesh, r.meshDecay, zero), true
		}
		if ts.failure != 0 {
			ts.failure, moved = decay(ts.failure, r.failureDecay, zero), true
		}
		if ts.invalid != 0 {
			ts.invalid, moved = decay(ts.invalid, r.invalidDecay, zero), true
		}
		if ts.inMesh {
			ts.meshTime = now - ts.graftedAt
			if ts.meshTime >= ts.p1Next {
				ts.p1, ts.p1Next = timeInMeshValue(r, ts.meshTime)
				moved = true
			}
			if !ts.meshActive && ts.meshTime > r.meshActivation {
				ts.meshActive, moved = true, true
			}
		}
		if moved {
			ts.score = r.breakdown(ts).total
			changed = true
		}
	}
	if ps.behaviour != 0 {
		ps.behaviour, changed = decay(ps.behaviour, s.rules.behaviourDecay, zero), true
	}
	if ps.slow != 0 {
		ps.slow, changed = decay(ps.slow, s.rules.slowDecay, zero), true
	}
	if changed {
		s.publish(ps)
	}
}

// decay multiplies a counter by its factor and snaps it to zero once it falls
// below DecayToZero.
func decay(x, factor, zero float64) float64 {
	x *= factor
	if x < zero {
		return 0
	}
	return x
}
