package peerscore

import (
	"time"
)

// Refresh performs one maintenance step, what the background loop does each
// DecayInterval: it decays every connected peer's counters, brings time in
// mesh and P3 activation up to date, forgets retained peers whose
// RetainScore has passed, and drops delivery records older than SeenMsgTTL.
// Retained peers do not decay, so waiting out a bad score takes RetainScore.
// It also charges IWANT promises that are past due, which the loop does at
// every router heartbeat as well.
//
// Most nodes call Start and never Refresh. A node that drives its own loop
// (a simulation stepping time, or a test) calls Refresh instead, once per
// DecayInterval: the decay factors are per interval, so calling it more
// often decays faster, and less often slower, than the parameters say.
// Without Start, broken promises are charged only at Refresh, up to one
// DecayInterval late, and there are no inspections, threshold events,
// router checks or re-reads of peers' addresses from the host. Calling
// Refresh while Start's loop runs adds steps to the loop's: counters then
// decay faster than configured, so do one or the other.
func (s *Scorer) Refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
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
	s.deliveries.expire(now)
	s.routerHeartbeatLocked(now)
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
