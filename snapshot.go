package peerscore

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Snapshot is one peer's score taken apart: the state and raw counters
// behind it and every weighted component. The weighted components add up
// to the score:
//
//	Score = TopicScore + P5 + P6 + (P7 + SlowPeer)
//
// where TopicScore is the sum of the topics' Score, limited to TopicScoreCap
// when positive, and each topic's Score is (P1 + P2 + P3 + P3b + P4) times
// its TopicWeight.
type Snapshot struct {
	Score float64

	// Connected is false for a retained peer: disconnected with a score
	// of zero or less, kept until RetainedUntil so it cannot reset its
	// score by reconnecting.
	Connected     bool
	RetainedUntil time.Time
	// IPs are the addresses counted for P6, one per connection, each IPv6
	// address followed by its /64.
	IPs []string

	// Topics holds every scored topic the peer has counters in.
	Topics map[string]TopicSnapshot

	TopicScoreUncapped float64 // sum of the topics' Score
	TopicScoreCap      float64 // the cap in force, 0 for none
	TopicScore         float64 // what the topics contribute after the cap

	AppSpecificScore float64 // raw P5, as AppSpecificScore returned it (NaN counts as 0)
	P5               float64 // AppSpecificScore × AppSpecificWeight

	IPColocationFactor float64 // raw P6: Σ (peers on address − threshold)² over crowded addresses
	P6                 float64 // IPColocationFactor × IPColocationFactorWeight

	BehaviourPenalty float64 // raw P7 counter
	P7               float64 // (counter − threshold)² × BehaviourPenaltyWeight

	SlowPeerCounter float64 // messages dropped on their way to the peer (decaying)
	SlowPeer        float64 // (counter − threshold) × SlowPeerWeight
}

// TopicSnapshot is one peer's standing in one topic.
type TopicSnapshot struct {
	InMesh bool
	// TimeInMesh is the time in mesh as of the last Refresh (zero when not
	// in the mesh); P1 counts it in whole quanta.
	TimeInMesh time.Duration
	// MeshDeliveriesActive is true once the peer has been in the mesh past
	// MeshMessageDeliveriesActivation: from then on P3 applies.
	MeshDeliveriesActive bool

	FirstMessageDeliveries   float64 // P2 counter
	MeshMessageDeliveries    float64 // P3 counter
	MeshFailurePenalty       float64 // P3b counter
	InvalidMessageDeliveries float64 // P4 counter

	// Components weighted by their own weights, not yet by TopicWeight.
	P1, P2, P3, P3b, P4 float64

	TopicWeight float64
	Score       float64 // (P1 + P2 + P3 + P3b + P4) × TopicWeight
}

// Snapshot returns p's score taken apart, and false if the scorer does not
// know p.
func (s *Scorer) Snapshot(p peer.ID) (Snapshot, bool) {
	appRaw := s.rules.appScore(p) // the application's code runs outside our lock
	s.mu.Lock()
	ps := s.peers.get(p)
	if ps == nil {
		s.mu.Unlock()
		return Snapshot{}, false
	}
	snap := s.snapshotLocked(ps)
	s.mu.Unlock()
	snap.addApp(appRaw, s.rules.appWeight)
	return snap, true
}

// Snapshots returns every known peer's Snapshot, retained peers included.
func (s *Scorer) Snapshots() map[peer.ID]Snapshot {
	s.mu.Lock()
	out := make(map[peer.ID]Snapshot, len(s.peers.all))
	for _, ps := range s.peers.all {
		out[ps.id] = s.snapshotLocked(ps)
	}
	s.mu.Unlock()
	for p, snap := range out {
		snap.addApp(s.rules.appScore(p), s.rules.appWeight)
		out[p] = snap
	}
	return out
}

// scores returns every known peer's score.
func (s *Scorer) scores() map[peer.ID]float64 {
	type parts struct{ topics, colocation, behaviour float64 }
	s.mu.Lock()
	cached := make(map[peer.ID]parts, len(s.peers.all))
	for _, ps := range s.peers.all {
		var c parts
		c.topics, c.colocation, c.behaviour = ps.cache.load()
		cached[ps.id] = c
	}
	s.mu.Unlock()
	out := make(map[peer.ID]float64, len(cached))
	for p, c := range cached {
		out[p] = c.topics + s.appTerm(p) + c.colocation + c.behaviour
	}
	return out
}

// snapshotLocked itemises everything but P5, which is the application's and
// is added outside the lock.
func (s *Scorer) snapshotLocked(ps *peerState) Snapshot {
	snap := Snapshot{
		Connected:          ps.connected,
		Topics:             make(map[string]TopicSnapshot, len(ps.topics)),
		TopicScoreCap:      s.rules.topicScoreCap,
		TopicScore:         s.topicsTerm(ps),
		IPColocationFactor: s.ips.factor(ps, s.rules.colocationThreshold),
		P6:                 s.colocationTerm(ps),
		BehaviourPenalty:   ps.behaviour,
		SlowPeerCounter:    ps.slow,
	}
	snap.P7, snap.SlowPeer = s.behaviourParts(ps)
	if !ps.connected {
		snap.RetainedUntil = s.at(ps.expire)
	}
	for _, ip := range ps.ips {
		snap.IPs = append(snap.IPs, ip.addr)
	}
	for i := range ps.topics {
		ts := &ps.topics[i]
		r := s.byIdx[ts.topic]
		parts := r.breakdown(ts)
		t := TopicSnapshot{
			InMesh:                   ts.inMesh,
			MeshDeliveriesActive:     ts.meshActive,
			FirstMessageDeliveries:   ts.first,
			MeshMessageDeliveries:    ts.mesh,
			MeshFailurePenalty:       ts.failure,
			InvalidMessageDeliveries: ts.invalid,
			P1:                       parts.p1,
			P2:                       parts.p2,
			P3:                       parts.p3,
			P3b:                      parts.p3b,
			P4:                       parts.p4,
			TopicWeight:              r.weight,
			Score:                    parts.total,
		}
		if ts.inMesh {
			t.TimeInMesh = ts.meshTime
		}
		snap.Topics[r.name] = t
		snap.TopicScoreUncapped += parts.total
	}
	return snap
}

// addApp completes a snapshot with P5 and the total, adding the parts in the
// order Score does so that the two agree exactly.
func (snap *Snapshot) addApp(raw, weight float64) {
	snap.AppSpecificScore, snap.P5 = appComponent(raw, weight)
	snap.Score = snap.TopicScore + snap.P5 + snap.P6 + finite(snap.P7+snap.SlowPeer)
}

// pubsubSnapshots converts snapshots to the shape of pubsub's extended
// inspection callback.
func pubsubSnapshots(snaps map[peer.ID]Snapshot) map[peer.ID]*pubsub.PeerScoreSnapshot {
	out := make(map[peer.ID]*pubsub.PeerScoreSnapshot, len(snaps))
	for p, snap := range snaps {
		ps := &pubsub.PeerScoreSnapshot{
			Score:              snap.Score,
			AppSpecificScore:   snap.AppSpecificScore,
			IPColocationFactor: snap.IPColocationFactor,
			BehaviourPenalty:   snap.BehaviourPenalty,
		}
		if len(snap.Topics) > 0 {
			ps.Topics = make(map[string]*pubsub.TopicScoreSnapshot, len(snap.Topics))
			for name, t := range snap.Topics {
				ps.Topics[name] = &pubsub.TopicScoreSnapshot{
					TimeInMesh:               t.TimeInMesh,
					FirstMessageDeliveries:   t.FirstMessageDeliveries,
					MeshMessageDeliveries:    t.MeshMessageDeliveries,
					InvalidMessageDeliveries: t.InvalidMessageDeliveries,
				}
			}
		}
		out[p] = ps
	}
	return out
}

// Component names a part of the score, as Snapshot.Components reports it.
type Component string

// The components of the score.
const (
	ComponentTimeInMesh       Component = "P1 time in mesh"
	ComponentFirstDeliveries  Component = "P2 first deliveries"
	ComponentMeshDeliveries   Component = "P3 mesh deliveries"
	ComponentMeshFailure      Component = "P3b mesh failure"
	ComponentInvalidMessages  Component = "P4 invalid messages"
	ComponentAppSpecific      Component = "P5 application"
	ComponentIPColocation     Component = "P6 IP colocation"
	ComponentBehaviourPenalty Component = "P7 behaviour"
	ComponentSlowPeer         Component = "slow peer"
)

// Components returns each component's contribution to the score: topic
// components summed over topics, each weighted by its topic's weight, and
// before TopicScoreCap (which only ever trims a positive topic sum).
func (snap Snapshot) Components() map[Component]float64 {
	out := map[Component]float64{
		ComponentAppSpecific:      snap.P5,
		ComponentIPColocation:     snap.P6,
		ComponentBehaviourPenalty: snap.P7,
		ComponentSlowPeer:         snap.SlowPeer,
	}
	for _, t := range snap.Topics {
		out[ComponentTimeInMesh] += t.P1 * t.TopicWeight
		out[ComponentFirstDeliveries] += t.P2 * t.TopicWeight
		out[ComponentMeshDeliveries] += t.P3 * t.TopicWeight
		out[ComponentMeshFailure] += t.P3b * t.TopicWeight
		out[ComponentInvalidMessages] += t.P4 * t.TopicWeight
	}
	return out
}

// Dominant returns the component that explains the score best: the most
// negative one when the score is negative, else the most positive one. It
// returns "" and 0 when every component is zero.
func (snap Snapshot) Dominant() (Component, float64) {
	var best Component
	var value float64
	negative := snap.Score < 0
	for c, v := range snap.Components() {
		better := v > value || (v == value && v != 0 && c < best)
		if negative {
			better = v < value || (v == value && v != 0 && c < best)
		}
		if better {
			best, value = c, v
		}
	}
	return best, value
}
