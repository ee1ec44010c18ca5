package peerscore_test

// The reference model of property_test.go: the score function as the
// gossipsub v1.1 specification and go-libp2p-pubsub v0.17.0 define it, kept
// as plain maps and recomputed from scratch on every question, with no
// caching and no cleverness. P3 follows pubsub by default (the activation
// outlives the mesh) and the specification with spec set (WithSpecP3:
// PRUNE and disconnect clear it). Where peerscore differs from pubsub
// regardless, the model follows peerscore's documented choice:
//   - a NaN application score counts as 0 (pubsub's score would be NaN);
//   - AddPenalty ignores counts below 1 (pubsub's router never gives one);
//   - an explicit Refresh drops the delivery records past SeenMsgTTL
//     (Start's loop, like pubsub, does it once a minute).

import (
	"math"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Delivery states in the model.
const (
	recordPending = iota
	recordValid
	recordInvalid
	recordIgnored
	recordThrottled
)

type modelTopic struct {
	inMesh, active                bool
	grafted, meshTime             time.Duration
	first, mesh, failure, invalid float64
}

type modelPeer struct {
	connected bool
	expire    time.Duration
	topics    map[string]*modelTopic
	behaviour float64
	ips       []string
}

type modelRecord struct {
	status    int
	validated time.Duration
	expire    time.Duration
	senders   map[peer.ID]bool
}

// scoreModel is the reference: maps and plain arithmetic, no caching.
type scoreModel struct {
	params  *peerscore.Params
	topics  map[string]*peerscore.TopicParams
	app     map[peer.ID]float64
	hostIPs map[peer.ID][]string // what the host reports for each peer
	peers   map[peer.ID]*modelPeer
	records map[string]*modelRecord
	ttl     time.Duration
	spec    bool // WithSpecP3
}

func (m *scoreModel) topicStats(p peer.ID, topic string) (*modelTopic, *peerscore.TopicParams) {
	ps := m.peers[p]
	tp := m.topics[topic]
	if ps == nil || tp == nil {
		return nil, nil
	}
	ts := ps.topics[topic]
	if ts == nil {
		ts = &modelTopic{}
		ps.topics[topic] = ts
	}
	return ts, tp
}

func (m *scoreModel) record(id string, now time.Duration) *modelRecord {
	r := m.records[id]
	if r == nil {
		r = &modelRecord{expire: now + m.ttl, senders: map[peer.ID]bool{}}
		m.records[id] = r
	}
	return r
}

func (m *scoreModel) connect(p peer.ID) {
	ps := m.peers[p]
	if ps == nil {
		ps = &modelPeer{topics: map[string]*modelTopic{}}
		m.peers[p] = ps
	}
	ps.connected = true
	ps.ips = m.hostIPs[p]
}

func (m *scoreModel) disconnect(p peer.ID, now time.Duration) {
	ps := m.peers[p]
	if ps == nil {
		return
	}
	if score, _ := m.score(p); score > 0 {
		delete(m.peers, p)
		return
	}
	for name, ts := range ps.topics {
		ts.first = 0
		if ts.inMesh {
			m.leaveMesh(ts, m.topics[name])
		}
	}
	ps.connected = false
	ps.expire = now + m.params.RetainScore
}

func (m *scoreModel) leaveMesh(ts *modelTopic, tp *peerscore.TopicParams) {
	if ts.active && ts.mesh < tp.MeshMessageDeliveriesThreshold {
		d := tp.MeshMessageDeliveriesThreshold - ts.mesh
		ts.failure += d * d
	}
	ts.inMesh = false
	if m.spec {
		ts.active = false
	}
}

func (m *scoreModel) graft(p peer.ID, topic string, now time.Duration) {
	if ts, _ := m.topicStats(p, topic); ts != nil {
		ts.inMesh, ts.active, ts.grafted, ts.meshTime = true, false, now, 0
	}
}

func (m *scoreModel) prune(p peer.ID, topic string) {
	if ts, tp := m.topicStats(p, topic); ts != nil {
		m.leaveMesh(ts, tp)
	}
}

func (m *scoreModel) markFirst(p peer.ID, topic string) {
	ts, tp := m.topicStats(p, topic)
	if ts == nil {
		return
	}
	ts.first = math.Min(ts.first+1, tp.FirstMessageDeliveriesCap)
	if ts.inMesh {
		ts.mesh = math.Min(ts.mesh+1, tp.MeshMessageDeliveriesCap)
	}
}

func (m *scoreModel) markMesh(p peer.ID, topic string, late time.Duration, afterValidation bool) {
	ts, tp := m.topicStats(p, topic)
	if ts == nil || !ts.inMesh {
		return
	}
	if afterValidation && late > tp.MeshMessageDeliveriesWindow {
		return
	}
	ts.mesh = math.Min(ts.mesh+1, tp.MeshMessageDeliveriesCap)
}

func (m *scoreModel) markInvalid(p peer.ID, topic string) {
	if ts, _ := m.topicStats(p, topic); ts != nil {
		ts.invalid++
	}
}

func (m *scoreModel) validate(id string, now time.Duration) { m.record(id, now) }

func (m *scoreModel) deliver(id, topic string, from peer.ID, now time.Duration) {
	m.markFirst(from, topic)
	r := m.record(id, now)
	if r.status != recordPending {
		return
	}
	r.status, r.validated = recordValid, now
	for p := range r.senders {
		if p != from {
			m.markMesh(p, topic, 0, false)
		}
	}
}

func (m *scoreModel) reject(id, topic string, from peer.ID, reason string, now time.Duration) {
	switch reason {
	case pubsub.RejectMissingSignature, pubsub.RejectInvalidSignature, pubsub.RejectUnexpectedSignature,
		pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin:
		m.markInvalid(from, topic)
		return
	case pubsub.RejectBlacklstedPeer, pubsub.RejectBlacklistedSource, pubsub.RejectValidationQueueFull:
		return
	}
	r := m.record(id, now)
	if r.status != recordPending {
		return
	}
	switch reason {
	case pubsub.RejectValidationThrottled:
		r.status = recordThrottled
	case pubsub.RejectValidationIgnored:
		r.status = recordIgnored
	default:
		r.status = recordInvalid
		m.markInvalid(from, topic)
		for p := range r.senders {
			m.markInvalid(p, topic)
		}
	}
	r.senders = map[peer.ID]bool{}
}

func (m *scoreModel) duplicate(id, topic string, from peer.ID, now time.Duration) {
	r := m.record(id, now)
	if r.senders[from] {
		return
	}
	switch r.status {
	case recordPending:
		r.senders[from] = true
	case recordValid:
		r.senders[from] = true
		m.markMesh(from, topic, now-r.validated, true)
	case recordInvalid:
		m.markInvalid(from, topic)
	}
}

func (m *scoreModel) addPenalty(p peer.ID, n int) {
	if ps := m.peers[p]; ps != nil && n > 0 {
		ps.behaviour += float64(n)
	}
}

func (m *scoreModel) refresh(now time.Duration) {
	zero := m.params.DecayToZero
	decay := func(x, f float64) float64 {
		if x *= f; x < zero {
			return 0
		}
		return x
	}
	for p, ps := range m.peers {
		if !ps.connected {
			if now > ps.expire {
				delete(m.peers, p)
			}
			continue
		}
		for name, ts := range ps.topics {
			tp := m.topics[name]
			ts.first = decay(ts.first, tp.FirstMessageDeliveriesDecay)
			ts.mesh = decay(ts.mesh, tp.MeshMessageDeliveriesDecay)
			ts.failure = decay(ts.failure, tp.MeshFailurePenaltyDecay)
			ts.invalid = decay(ts.invalid, tp.InvalidMessageDeliveriesDecay)
			if ts.inMesh {
				ts.meshTime = now - ts.grafted
				if ts.meshTime > tp.MeshMessageDeliveriesActivation {
					ts.active = true
				}
			}
		}
		ps.behaviour = decay(ps.behaviour, m.params.BehaviourPenaltyDecay)
	}
	for id, r := range m.records {
		if now > r.expire {
			delete(m.records, id)
		}
	}
}

func (m *scoreModel) setTopic(topic string, tp *peerscore.TopicParams) {
	m.topics[topic] = tp
	for _, ps := range m.peers {
		if ts := ps.topics[topic]; ts != nil {
			ts.first = math.Min(ts.first, tp.FirstMessageDeliveriesCap)
			ts.mesh = math.Min(ts.mesh, tp.MeshMessageDeliveriesCap)
		}
	}
}

// topicScore is one topic's weighted score, and the sum of the magnitudes
// of its parts (for the comparison tolerance).
func (m *scoreModel) topicScore(ts *modelTopic, tp *peerscore.TopicParams) (float64, float64) {
	var parts []float64
	if ts.inMesh {
		p1 := math.Min(float64(ts.meshTime/tp.TimeInMeshQuantum), tp.TimeInMeshCap)
		parts = append(parts, p1*tp.TimeInMeshWeight)
	}
	parts = append(parts, ts.first*tp.FirstMessageDeliveriesWeight)
	if ts.active && ts.mesh < tp.MeshMessageDeliveriesThreshold {
		d := tp.MeshMessageDeliveriesThreshold - ts.mesh
		parts = append(parts, d*d*tp.MeshMessageDeliveriesWeight)
	}
	parts = append(parts, ts.failure*tp.MeshFailurePenaltyWeight, ts.invalid*ts.invalid*tp.InvalidMessageDeliveriesWeight)
	var sum, mag float64
	for _, v := range parts {
		sum += v
		mag += math.Abs(v)
	}
	return sum * tp.TopicWeight, mag * tp.TopicWeight
}

func (m *scoreModel) colocation(p peer.ID) float64 {
	var f float64
	for _, ip := range m.peers[p].ips {
		n := 0
		for _, other := range m.peers {
			if slices.Contains(other.ips, ip) {
				n++
			}
		}
		if n > m.params.IPColocationFactorThreshold {
			surplus := float64(n - m.params.IPColocationFactorThreshold)
			f += surplus * surplus
		}
	}
	return f
}

// score is p's score by the book, and the magnitude of its terms.
func (m *scoreModel) score(p peer.ID) (float64, float64) {
	ps := m.peers[p]
	if ps == nil {
		return 0, 0
	}
	var topics, mag float64
	for name, ts := range ps.topics {
		s, g := m.topicScore(ts, m.topics[name])
		topics += s
		mag += g
	}
	if cap := m.params.TopicScoreCap; cap > 0 && topics > cap {
		topics = cap
	}
	app := m.app[p]
	if math.IsNaN(app) {
		app = 0
	}
	p5 := app * m.params.AppSpecificWeight
	p6 := m.colocation(p) * m.params.IPColocationFactorWeight
	var p7 float64
	if ps.behaviour > m.params.BehaviourPenaltyThreshold {
		x := ps.behaviour - m.params.BehaviourPenaltyThreshold
		p7 = x * x * m.params.BehaviourPenaltyWeight
	}
	return topics + p5 + p6 + p7, mag + math.Abs(p5) + math.Abs(p6) + math.Abs(p7)
}
