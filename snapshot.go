package peerscore

import (
	"encoding/json"
	"math"
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
//
// With weights near the float64 limits, every value but the score, P5 and
// AppSpecificScore stays within ±MaxFloat64: a component that would go
// beyond is held at ±MaxFloat64 (so the parts of a saturated component no
// longer add up to it). The score is the sum of the parts, computed so that
// no partial sum overflows; it is ±Inf when P5 is, or when the parts add up
// to more than ±MaxFloat64, and never NaN.
type Snapshot struct {
	Peer  peer.ID `json:"peer"`
	Score float64 `json:"score"`

	// Connected is false for a retained peer: disconnected with a score
	// of zero or less, kept until RetainedUntil so it cannot reset its
	// score by reconnecting.
	Connected     bool      `json:"connected"`
	RetainedUntil time.Time `json:"retained_until,omitzero"`
	// IPs are the addresses counted for P6, one per connection, each IPv6
	// address followed by its /64.
	IPs []string `json:"ips,omitempty"`

	// Topics holds every scored topic the peer has counters in.
	Topics map[string]TopicSnapshot `json:"topics"`

	TopicScoreUncapped float64 `json:"topic_score_uncapped"` // sum of the topics' Score, within ±MaxFloat64
	TopicScoreCap      float64 `json:"topic_score_cap"`      // the cap in force, 0 for none
	TopicScore         float64 `json:"topic_score"`          // what the topics contribute after the cap

	AppSpecificScore float64 `json:"app_specific_score"` // raw P5, as AppSpecificScore returned it (NaN counts as 0)
	P5               float64 `json:"p5"`                 // AppSpecificScore × AppSpecificWeight
	// AppReasons explain AppSpecificScore, as the function given with
	// WithAppReasons returned them; nil without it.
	AppReasons []string `json:"app_reasons,omitempty"`

	IPColocationFactor float64 `json:"ip_colocation_factor"` // raw P6: Σ (peers on address − threshold)² over crowded addresses
	P6                 float64 `json:"p6"`                   // IPColocationFactor × IPColocationFactorWeight

	BehaviourPenalty float64 `json:"behaviour_penalty"` // raw P7 counter
	P7               float64 `json:"p7"`                // (counter − threshold)² × BehaviourPenaltyWeight

	SlowPeerCounter float64 `json:"slow_peer_counter"` // messages dropped on their way to the peer, and slow writes (decaying)
	SlowPeer        float64 `json:"slow_peer"`         // (counter − threshold) × SlowPeerWeight
}

// TopicSnapshot is one peer's standing in one topic.
type TopicSnapshot struct {
	InMesh bool `json:"in_mesh"`
	// TimeInMesh is the time in mesh as of the last Refresh (zero when not
	// in the mesh); P1 counts it in whole quanta. JSON writes it as a
	// duration string, "1m30s".
	TimeInMesh time.Duration `json:"time_in_mesh"`
	// MeshDeliveriesActive is true once the peer has been in the mesh past
	// MeshMessageDeliveriesActivation: from then on P3 applies, until the
	// next GRAFT, in the mesh or out of it, as in pubsub (with WithSpecP3,
	// until the peer leaves the mesh).
	MeshDeliveriesActive bool `json:"mesh_deliveries_active"`

	FirstMessageDeliveries   float64 `json:"first_message_deliveries"`   // P2 counter
	MeshMessageDeliveries    float64 `json:"mesh_message_deliveries"`    // P3 counter
	MeshFailurePenalty       float64 `json:"mesh_failure_penalty"`       // P3b counter
	InvalidMessageDeliveries float64 `json:"invalid_message_deliveries"` // P4 counter

	// Components weighted by their own weights, not yet by TopicWeight.
	P1  float64 `json:"p1"`
	P2  float64 `json:"p2"`
	P3  float64 `json:"p3"`
	P3b float64 `json:"p3b"`
	P4  float64 `json:"p4"`

	TopicWeight float64 `json:"topic_weight"`
	Score       float64 `json:"score"` // (P1 + P2 + P3 + P3b + P4) × TopicWeight
}

// MarshalJSON writes the topic's standing with TimeInMesh as a duration
// string, which reads better than nanoseconds.
func (t TopicSnapshot) MarshalJSON() ([]byte, error) {
	type plain TopicSnapshot // without this method
	return json.Marshal(struct {
		plain
		TimeInMesh string `json:"time_in_mesh"`
	}{plain(t), t.TimeInMesh.String()})
}

// MarshalJSON writes the snapshot as its fields say, except that a score,
// P5 or AppSpecificScore of ±Inf (which JSON cannot carry) is written as
// ±MaxFloat64, as the metrics do.
func (snap Snapshot) MarshalJSON() ([]byte, error) {
	type plain Snapshot // without this method
	return json.Marshal(struct {
		plain
		Score            float64 `json:"score"`
		AppSpecificScore float64 `json:"app_specific_score"`
		P5               float64 `json:"p5"`
	}{plain(snap), finite(snap.Score), finite(snap.AppSpecificScore), finite(snap.P5)})
}

// PeerSnapshots are the snapshots of many peers, by peer. It marshals to a
// JSON object keyed by the peers' IDs as text (encoding/json would write a
// plain map's peer.ID keys as raw bytes).
type PeerSnapshots map[peer.ID]Snapshot

// MarshalJSON writes the snapshots as an object keyed by peer ID, sorted.
func (m PeerSnapshots) MarshalJSON() ([]byte, error) {
	byText := make(map[string]Snapshot, len(m))
	for p, snap := range m {
		byText[p.String()] = snap
	}
	return json.Marshal(byText)
}

// Snapshot returns p's score taken apart, and false if the scorer does not
// know p.
func (s *Scorer) Snapshot(p peer.ID) (Snapshot, bool) {
	appRaw := s.rules.appScore(p) // the application's code runs outside our lock
	s.mu.Lock()
	ps := s.peers.Get(p)
	if ps == nil {
		s.mu.Unlock()
		return Snapshot{}, false
	}
	src := s.capture(ps, new(captureBuf))
	s.mu.Unlock()
	snap := s.build(&src)
	snap.addApp(appRaw, s.rules.appWeight)
	snap.AppReasons = s.appReasonsOf(p)
	return snap, true
}

// Snapshots returns every known peer's Snapshot, retained peers included.
// The scorer's lock is never held for long, whatever the number of peers:
// the counters are copied a slice of peers at a time, the lock released
// between slices, and each slice's snapshots are built outside it. Each
// snapshot is consistent in itself (one peer's counters come from one
// lock hold); peers' snapshots may come from moments a few milliseconds
// apart. A peer that first connects, or is forgotten, while Snapshots runs
// may be left out.
func (s *Scorer) Snapshots() PeerSnapshots { return s.snapshots(nil) }

// snapshots is Snapshots; onSlice, if not nil, is told what each slice
// of the copy did under the lock.
func (s *Scorer) snapshots(onSlice func(sliceCopy)) PeerSnapshots {
	peers := s.peerList()
	out := make(PeerSnapshots, len(peers))
	s.copySlices(peers, onSlice, func(src *snapshotSource) {
		snap := s.build(src)
		snap.addApp(s.rules.appScore(src.id), s.rules.appWeight)
		snap.AppReasons = s.appReasonsOf(src.id)
		out[src.id] = snap
	})
	return out
}

// scores returns every known peer's score. It reads only what Score
// reads, without the lock.
func (s *Scorer) scores() map[peer.ID]float64 {
	out := make(map[peer.ID]float64)
	for ps := range s.peers.Scan() {
		out[ps.ID] = s.total(ps, s.appTerm(ps.ID))
	}
	return out
}

// build itemises everything but P5, which is the application's and is
// added by addApp. It reads only src and the immutable rules.
func (s *Scorer) build(src *snapshotSource) Snapshot {
	snap := Snapshot{
		Peer:               src.id,
		Connected:          src.connected,
		Topics:             make(map[string]TopicSnapshot, len(src.topics)),
		TopicScoreCap:      s.rules.topicScoreCap,
		TopicScore:         src.topicsTerm,
		IPColocationFactor: src.factor,
		P6:                 src.colocation,
		BehaviourPenalty:   src.behaviour,
		SlowPeerCounter:    src.slow,
		P7:                 src.p7,
		SlowPeer:           src.slowW,
	}
	if !src.connected {
		snap.RetainedUntil = s.at(src.expire)
	}
	if len(src.ips) > 0 {
		snap.IPs = make([]string, len(src.ips))
		for i, ip := range src.ips {
			snap.IPs[i] = ip.addr
		}
	}
	for i := range src.topics {
		ts, r := &src.topics[i], src.rules[i]
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
	if math.IsInf(snap.TopicScoreUncapped, 0) { // as topicsTerm adds them up
		snap.TopicScoreUncapped = finite(sumScaled(len(src.topics), func(i int) float64 {
			return src.rules[i].breakdown(&src.topics[i]).total
		}))
	}
	return snap
}

// addApp completes a snapshot with P5 and the total, adding the parts in the
// order Score does so that the two agree exactly.
func (snap *Snapshot) addApp(raw, weight float64) {
	snap.AppSpecificScore, snap.P5 = appComponent(raw, weight)
	snap.Score = addParts(snap.TopicScore, snap.P5, snap.P6, finite(snap.P7+snap.SlowPeer))
}

// appReasonsOf returns what WithAppReasons' function says of p; the
// application's code runs outside our lock.
func (s *Scorer) appReasonsOf(p peer.ID) []string {
	if s.appReasons == nil {
		return nil
	}
	return s.appReasons(p)
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

// Dominant returns the component that explains the score best: when the
// score is negative, the most negative component, the one to blame; else
// the most positive one, which the score owes most to (not a fault: a
// display of blame should show it only for a negative score). Among equal
// contributions, the first by name. It returns "" and 0 when no component
// is other than zero: such a score has nothing to explain.
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
