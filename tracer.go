package peerscore

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerscore/peerscore/internal/peerips"
)

// tracer is the Scorer's side that the router talks to: the router reports
// its events to it (through pubsub.WithRawTracer, which GossipSubOptions
// sets up), and each event updates the counters it concerns. Events about
// unknown peers, unscored topics, nil messages or messages without an ID
// change nothing. Its methods are pubsub's callbacks, kept off the
// Scorer's own method set, as go-libp2p's connection manager keeps its
// network notifications behind Notifee.
type tracer struct{ s *Scorer }

// Tracer returns what the router traces its events to. GossipSubOptions
// includes it; wire it yourself with pubsub.WithRawTracer only if you build
// the router's scoring options by hand.
func (s *Scorer) Tracer() pubsub.RawTracer { return tracer{s} }

// tracer implements every method of pubsub.RawTracer. When a pubsub
// release adds a method, this line stops the build until tracer has it
// (.ci/pubsub-compat runs the newest release in CI). Embedding a nil
// pubsub.RawTracer would make the build pass, but the router would then
// call the new method on a nil interface and panic at run time: a build
// break is the better failure.
var _ pubsub.RawTracer = tracer{}

// OnNewOutboundStream starts tracking p, or resumes a retained peer's
// counters, and learns its IP addresses.
func (t tracer) OnNewOutboundStream(p peer.ID, _ protocol.ID) {
	s := t.s
	addrs := peerips.Of(s.host, p) // asks the host; done before locking
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers.Get(p)
	if ps == nil {
		ps = newPeerState(p)
		s.peers.Add(ps, &ps.Entry)
	}
	ps.connected = true
	s.retained.remove(ps)
	s.setIPs(ps, addrs)
}

// OnClosedOutboundStream forgets p if its score is positive, and otherwise
// retains it for RetainScore: its first-delivery credit is dropped, it
// leaves every mesh (paying P3b where it owed mesh deliveries), and its
// counters stop decaying so that reconnecting does not wash them. Beyond
// WithMaxRetainedPeers retained peers, the least negative is forgotten.
func (t tracer) OnClosedOutboundStream(p peer.ID) {
	s := t.s
	app := s.appTerm(p) // the application's code runs outside our lock
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers.Get(p)
	if ps == nil {
		return
	}
	if s.total(ps, app) > 0 {
		s.forget(ps)
		return
	}
	for i := range ps.topics {
		if s.byIdx[ps.topics[i].topic].retainTopic(&ps.topics[i], s.specP3) {
			s.counters.charge(penMeshDeficit, 1)
		}
	}
	ps.connected = false
	ps.expire = addSat(s.now(), s.rules.retainScore)
	s.publish(ps)
	s.retain(ps, app)
}

// Join records that the router has a mesh for topic: GRAFTs in other topics
// are ignored by the router and cost nothing.
func (t tracer) Join(topic string) { t.s.router.join(topic) }

// Leave forgets that the router has a mesh for topic.
func (t tracer) Leave(topic string) { t.s.router.leave(topic) }

// Graft puts p in the topic's mesh: time in mesh restarts from zero and P3
// waits for its activation again.
func (t tracer) Graft(p peer.ID, topic string) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ts, r := s.peerTopic(p, topic)
	if ts == nil {
		return
	}
	ts.inMesh = true
	ts.graftedAt = s.now()
	ts.meshTime = 0
	ts.meshActive = false
	ts.p1, ts.p1Next = timeInMeshValue(r, 0)
	s.rescore(ps, ts)
}

// Prune takes p out of the topic's mesh, charging P3b if it owed mesh
// deliveries.
func (t tracer) Prune(p peer.ID, topic string) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ts, _ := s.peerTopic(p, topic)
	if ts == nil {
		return
	}
	if s.byIdx[ts.topic].leaveMesh(ts, s.specP3) {
		s.counters.charge(penMeshDeficit, 1)
	}
	s.rescore(ps, ts)
}

// leaveMesh takes the peer out of the mesh and turns the P3 deficit it owes
// into the sticky P3b; it reports whether P3b was charged. The deficit is
// owed whenever P3 is active, in the mesh or not, as in pubsub, where the
// activation outlives the mesh: a PRUNE of a peer already pruned charges it
// again. With spec set (WithSpecP3), leaving clears the activation, so the
// peer owes no P3 until a GRAFT and a new activation period.
func (r *topicRules) leaveMesh(ts *topicStats, spec bool) (charged bool) {
	if ts.meshActive && ts.mesh < r.meshThreshold {
		deficit := r.meshThreshold - ts.mesh
		ts.failure = finite(ts.failure + deficit*deficit)
		charged = true
	}
	ts.inMesh = false
	if spec {
		ts.meshActive = false
	}
	return charged
}

// ValidateMessage opens the message's delivery record, so copies that arrive
// during validation are remembered.
func (t tracer) ValidateMessage(msg *pubsub.Message) {
	s := t.s
	id, ok := s.messageID(msg)
	if !ok {
		return
	}
	s.router.keepPromises(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries.get(id, s.now())
}

// DeliverMessage credits the sender with a first delivery and every peer that
// sent a copy during validation with a mesh delivery.
func (t tracer) DeliverMessage(msg *pubsub.Message) {
	s := t.s
	id, ok := s.messageID(msg)
	if !ok {
		return
	}
	topic := msg.GetTopic()
	s.router.keepPromises(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.markFirstDelivery(msg.ReceivedFrom, topic)
	rec := s.deliveries.get(id, now)
	if rec.status != statusPending {
		s.logger.Debug("delivery of a message already decided", "peer", msg.ReceivedFrom, "status", rec.status)
		return
	}
	rec.status = statusValid
	rec.validated = now
	rec.senders(func(sender *peerState) {
		// The first sender's own echo during validation earns nothing more.
		if sender.ID != msg.ReceivedFrom {
			s.markMeshDelivery(s.current(sender), topic, 0, false)
		}
	})
}

// RejectMessage charges P4 to the sender of an invalid message and to every
// peer that sent a copy during validation. Throttled and ignored messages
// charge nobody; messages refused before validation (blacklist, full queue)
// change nothing; signature and self-origin failures charge the sender
// without opening a record, as the message ID cannot be trusted. Any
// rejection but a missing or invalid signature keeps the IWANT promises of
// the message, as the router counts them.
func (t tracer) RejectMessage(msg *pubsub.Message, reason string) {
	s := t.s
	if msg == nil || msg.Message == nil {
		return
	}
	id, hasID := s.messageID(msg)
	topic := msg.GetTopic()
	if hasID && reason != pubsub.RejectMissingSignature && reason != pubsub.RejectInvalidSignature {
		s.router.keepPromises(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch reason {
	case pubsub.RejectMissingSignature, pubsub.RejectInvalidSignature, pubsub.RejectUnexpectedSignature,
		pubsub.RejectUnexpectedAuthInfo, pubsub.RejectSelfOrigin:
		s.markInvalid(s.peers.Get(msg.ReceivedFrom), topic)
		return
	case pubsub.RejectBlacklstedPeer, pubsub.RejectBlacklistedSource, pubsub.RejectValidationQueueFull:
		return
	}
	if !hasID {
		return
	}
	rec := s.deliveries.get(id, s.now())
	if rec.status != statusPending {
		s.logger.Debug("rejection of a message already decided", "peer", msg.ReceivedFrom, "status", rec.status)
		return
	}
	switch reason {
	case pubsub.RejectValidationThrottled:
		rec.status = statusThrottled
	case pubsub.RejectValidationIgnored:
		rec.status = statusIgnored
	default:
		rec.status = statusInvalid
		s.markInvalid(s.peers.Get(msg.ReceivedFrom), topic)
		rec.senders(func(sender *peerState) { s.markInvalid(s.current(sender), topic) })
	}
	rec.forgetSenders()
}

// DuplicateMessage handles another copy of a message already seen: remembered
// while the message is validated, credited as a mesh delivery if it came
// within the window after validation, charged if the message was invalid.
// Each peer's copy counts once.
func (t tracer) DuplicateMessage(msg *pubsub.Message) {
	s := t.s
	id, ok := s.messageID(msg)
	if !ok {
		return
	}
	s.router.keepPromises(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rec := s.deliveries.get(id, now)
	from := msg.ReceivedFrom
	if rec.has(from) {
		return
	}
	switch rec.status {
	case statusPending:
		rec.add(s.senderState(from))
	case statusValid:
		ps := s.senderState(from)
		rec.add(ps)
		s.markMeshDelivery(s.current(ps), msg.GetTopic(), now-rec.validated, true)
	case statusInvalid:
		s.markInvalid(s.peers.Get(from), msg.GetTopic())
	}
}

// ThrottlePeer voids p's IWANT promises: the router did not read what p
// sent, so p cannot be blamed for it.
func (t tracer) ThrottlePeer(p peer.ID) { t.s.router.throttled(p) }

// RecvRPC watches the GRAFTs, PRUNEs and extensions control messages peers
// send us, to rebuild the router's backoff and repeated-extensions
// penalties, and, until the router first asks for a score, notes that it
// should have (see WithRouterCheck).
func (t tracer) RecvRPC(rpc *pubsub.RPC) { t.s.router.recv(rpc) }

// SendRPC watches the IWANTs and PRUNEs we send, to rebuild the router's
// promise and backoff penalties.
func (t tracer) SendRPC(rpc *pubsub.RPC, p peer.ID) { t.s.router.send(rpc, p, false) }

// DropRPC is an RPC to p the router could not queue: p's slow-peer counter
// grows by its messages, and a PRUNE in it still starts a backoff (the
// router set it before sending).
func (t tracer) DropRPC(rpc *pubsub.RPC, p peer.ID) { t.s.router.drop(rpc, p) }

// SendRPCCompleted is an RPC the router finished writing to p's stream,
// and how long the write took: a write slower than SlowPeerWriteThreshold
// adds 1 to p's slow-peer counter. The router calls it from each peer's
// writing goroutine, and only from go-libp2p-pubsub v0.19.0 on; older
// routers never report writes, so this signal is silent with them.
func (t tracer) SendRPCCompleted(_ *pubsub.RPC, p peer.ID, took time.Duration) {
	t.s.router.wrote(p, took)
}

// UndeliverableMessage is about our own subscribers, not about peers.
func (tracer) UndeliverableMessage(*pubsub.Message) {}

// messageID returns the message's ID, computing it only when the router has
// not. It never writes msg: the router shares messages between goroutines.
func (s *Scorer) messageID(msg *pubsub.Message) (string, bool) {
	if msg == nil || msg.Message == nil {
		return "", false
	}
	id := msg.ID
	if id == "" {
		id = s.msgID(msg.Message)
	}
	return id, id != ""
}

// senderState returns the state to remember a sender by in a delivery
// record. A peer we do not track is remembered by a detached stand-in, so
// that its later copies are still recognised as repeats.
func (s *Scorer) senderState(p peer.ID) *peerState {
	if ps := s.peers.Get(p); ps != nil {
		return ps
	}
	ps := newPeerState(p)
	ps.forgotten = true
	return ps
}

// current maps a remembered sender to the peer's live state, which differs
// when the peer was forgotten (and maybe reconnected) since; nil if none.
func (s *Scorer) current(ps *peerState) *peerState {
	if !ps.forgotten {
		return ps
	}
	return s.peers.Get(ps.ID)
}

func (s *Scorer) peerTopic(p peer.ID, topic string) (*peerState, *topicStats, *topicRules) {
	ps := s.peers.Get(p)
	if ps == nil {
		return nil, nil, nil
	}
	ts, r := s.topicStats(ps, topic)
	return ps, ts, r
}

func (s *Scorer) markFirstDelivery(p peer.ID, topic string) {
	ps, ts, r := s.peerTopic(p, topic)
	if ts == nil {
		return
	}
	ts.first = addCapped(ts.first, r.firstCap)
	if ts.inMesh {
		ts.mesh = addCapped(ts.mesh, r.meshCap)
	}
	s.rescore(ps, ts)
}

// markMeshDelivery credits a copy of a valid message to ps's mesh deliveries
// if ps is in the topic's mesh. Copies that arrived during validation always
// count; a copy that came after it counts if it was at most the topic's
// window late.
func (s *Scorer) markMeshDelivery(ps *peerState, topic string, late time.Duration, afterValidation bool) {
	if ps == nil {
		return
	}
	ts, r := s.topicStats(ps, topic) // created even for a non-mesh sender, as pubsub does
	if ts == nil || !ts.inMesh {
		return
	}
	if afterValidation && late > r.meshWindow {
		s.counters.lateDuplicates[topic]++
		return
	}
	ts.mesh = addCapped(ts.mesh, r.meshCap)
	s.rescore(ps, ts)
}

func (s *Scorer) markInvalid(ps *peerState, topic string) {
	if ps == nil {
		return
	}
	ts, _ := s.topicStats(ps, topic)
	if ts == nil {
		return
	}
	ts.invalid = finite(ts.invalid + 1)
	s.counters.charge(penInvalidMessage, 1)
	s.rescore(ps, ts)
}

func addCapped(x, cap float64) float64 {
	x++
	if x > cap {
		return cap
	}
	return x
}
