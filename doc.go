// Package peerscore is a gossipsub v1.1 peer scorer for go-libp2p-pubsub
// routers that you can read, inspect, persist and act on. By default its
// scores equal go-libp2p-pubsub's own (v0.17.0 to v0.19.0) on the same
// events (docs/compatibility.md in the module's source says how that is
// checked, and where it cannot be: panics, NaN, unbounded memory), and
// Score takes no lock.
//
// # The module
//
// This package is the scorer and nothing else. The other products of the
// module are packages of their own, split by dependency and audience:
//
//	peerscore            the Scorer: events in, scores and snapshots out; router
//	                     wiring, saved state, threshold events
//	peerscore/metrics    a Prometheus collector of a Scorer's scores and totals
//	peerscore/ban        a connection gater, and a monitor that bans peers whose
//	                     score stays too low
//	peerscore/rank       the best peers by score, and connection-manager tags so
//	                     that trims drop the lowest scorers first
//	peerscore/reputation the application's reports about its peers, kept as
//	                     P5 for Params.AppSpecificScore
//	peerscore/scorehttp  a read-only JSON handler of scores, snapshots, bans
//	                     and totals, for a debug port
//	peerscore/dsstore    retained scores and bans kept in the node's
//	                     go-datastore, written every interval
//	peerscore/derive     score parameters derived from expected message rates
//	peerscore/preset/ethereum
//	                     the Ethereum beacon chain's topics and parameters
//	peerscore/replay     a node's recorded traffic scored under any parameters,
//	                     and the Recorder that records it
//	peerscore/attacklab  the gossipsub v1.1 evaluation's attacks run against
//	                     score parameters (cmd/attacklab is its command)
//
// In this package, score.go is the score function; scorer.go, tracer.go,
// deliveries.go, ipcolocation.go, decay.go and retained.go its engine;
// loop.go the background loop (Start); router*.go the router mirror, a
// type of its own that wires the Scorer into a router, follows its RPCs,
// keeps the books of the rebuilt router penalties and the slow-peer
// penalty, and changes a score only through the engine's chargeBehaviour;
// snapshot.go, capture.go and stats.go what
// it shows; threshold_events.go the threshold events; persist*.go the
// saved state; params*.go the parameters, their validation and their JSON
// format.
//
// # How a message flows through the scorer
//
// A GossipSub router is wired to a Scorer with GossipSubOptions, which
// returns two things. pubsub.WithRawTracer(s.Tracer()) makes the router
// report its events: a peer's stream opening and closing, GRAFT and PRUNE,
// a message entering validation, delivered, rejected or seen again, the
// RPCs it receives and sends. pubsub.WithPeerScore, with every internal
// weight zero and Score as the application-specific score, makes the
// router read this scorer's score wherever it applies its thresholds.
//
// When a message arrives, the router traces ValidateMessage and the
// Scorer opens a delivery record for it; copies from other peers during
// validation are noted in the record. DeliverMessage credits the first
// sender's P2 (and P3 if it is in the topic's mesh) and every noted copy's
// P3; RejectMessage charges P4 to the sender and every noted copy;
// copies that come later are credited (within the mesh delivery window) or
// charged by the record's verdict. Each change to a peer's counters
// recomputes that peer's cached score parts (score.go), which Score then
// reads without a lock, adding the application's P5 and the IP colocation
// penalty P6, read live. Refresh, once per DecayInterval, decays the
// counters, advances time in mesh and forgets peers whose retention ended.
// The router's own penalties (broken IWANT promises, GRAFTs during a
// backoff, repeated extensions control messages) are rebuilt from the
// traced RPCs and charged to P7 (docs/compatibility.md in the module's
// source gives the rules, and where the traces cannot tell).
//
// Around the engine: Snapshot itemises a score; Stats counts penalties;
// WithInspect and WithThresholdEvents report to the application; Save and
// Load keep bad peers' scores across a restart; WithRouterCheck reports a
// router that scores with something besides this scorer.
//
// Time is read with package time, so that tests run under testing/synctest.
// One seam lets a Scorer run on another clock: WithClock and a
// ManualClock, which package replay uses to score recorded traffic on the
// recording's own clock, with the maintenance of Start's loop at the same
// instants between the same events. Without it, reading the time costs
// one nil check more.
//
// # The score function
//
// A peer's score is a sum of weighted components:
//
//	score = min(Σ_topics TopicWeight·(w1·P1 + w2·P2 + w3·P3 + w3b·P3b + w4·P4), TopicScoreCap)
//	      + w5·P5 + w6·P6 + w7·P7
//
// The cap limits only a positive topic sum. Per topic:
//
//   - P1, time in mesh: whole TimeInMeshQuantum units since the GRAFT, up to
//     TimeInMeshCap. Rewards stable mesh peers. Updated at each Refresh.
//   - P2, first message deliveries: messages this peer was first to bring
//     us (or, with partial messages, that the application credits to it
//     with Scorer.PeerFeedback), capped, decaying. Rewards useful peers.
//   - P3, mesh message deliveries: once a mesh peer has been in the mesh for
//     MeshMessageDeliveriesActivation, the squared deficit of its (decaying)
//     delivery counter below MeshMessageDeliveriesThreshold. First copies and
//     copies within MeshMessageDeliveriesWindow of validation count.
//     Penalises mesh peers that do not forward. As in pubsub, the
//     activation outlives the mesh: a pruned or disconnected peer goes on
//     paying P3 until a GRAFT resets it (WithSpecP3: until it leaves).
//   - P3b, mesh failure penalty: the P3 deficit a peer owed when it left the
//     mesh (PRUNE or disconnect), kept and decaying. A peer cannot dodge P3
//     by getting pruned.
//   - P4, invalid messages: the square of the (decaying) count of invalid
//     messages the peer sent us, its own and its copies.
//
// Across topics:
//
//   - P5, application-specific: whatever Params.AppSpecificScore says.
//   - P6, IP colocation: for each address (IPv4, IPv6 and its /64) shared
//     by more than IPColocationFactorThreshold peers, the squared surplus.
//     Penalises Sybils behind one address.
//   - P7, behaviour penalty: the squared excess over
//     BehaviourPenaltyThreshold of a decaying counter of protocol
//     misbehaviour: broken IWANT promises, GRAFTs during a PRUNE backoff and
//     repeated extensions control messages, which peerscore rebuilds from
//     the router's traces, and AddPenalty.
//   - Optionally, the slow-peer penalty (not in pubsub): linear in the
//     decaying count of messages the router dropped because the peer did
//     not read them, and of writes to the peer slower than
//     SlowPeerWriteThreshold (reported by pubsub v0.19.0 and later).
//
// Counters decay every DecayInterval (Refresh) and snap to zero below
// DecayToZero. A disconnected peer with a positive score is forgotten; one
// with a score of zero or less is retained, frozen, for RetainScore, so
// that reconnecting does not clear it.
//
// # Start, Close and callbacks
//
// Five components do background work between Start and Close: the Scorer,
// ban.Monitor, rank.Tagger, reputation.Reputation and dsstore.Store. Each
// Close states one contract, in the same words:
//
//	Close stops the background work and waits until it has stopped, but it
//	does not wait for a callback of yours that is running, so a callback may
//	call Close, of this component or of another. Once Close has returned,
//	the background work does not run again and no callback is called again;
//	a callback still running may finish, and its return leads to nothing
//	more. Close is safe for concurrent use and may be called any number of
//	times; Start after Close does nothing.
//
// The background work is the component's own: decaying, checking, banning,
// tagging, writing, with its calls to what you gave it to work with (the
// host, connection manager, gater, datastore, logger). Close waits for all
// of it, so none of those may call Close. A Tagger's Refresh does that
// work on your goroutine, under the same contract. The callbacks are the
// functions of yours that the work calls, listed at each Close: the
// Scorer's WithInspect and WithThresholdEvents (and Params.AppSpecificScore
// where those call it); a Monitor's or a Tagger's Scorer and WithProtected;
// a Monitor's WithOnBan. Close does not wait for one that is running, which
// may still be running when Close returns; when it returns, the work that
// called it ends at once (a Monitor bans no one more, a Tagger tags no
// one). "Called" is the component's act: a callback called just before
// Close may begin its first statement just after Close has returned.
//
// Why Close does not wait for a running callback: a callback may call
// Close (to stop the node on a fatal event, say), and a Close that waited
// for running callbacks would then wait for its own caller, for ever. To
// wait for the others but not for its caller, Close would have to know
// which goroutine calls it, which Go does not tell, on purpose. So Close
// waits for no callback, and is safe in any of them: its own component's,
// another's, two callbacks closing each other's components at once. If a
// callback uses something you release after Close, guard it yourself: have
// the callback check a flag and use the thing under a lock of yours, and
// after Close set the flag under that lock before releasing the thing.
//
// # Thresholds
//
// The router acts on the score at five levels (Thresholds):
//
//	score < GossipThreshold      no gossip (IHAVE/IWANT) to or from the peer
//	score < PublishThreshold     our own messages are not flood-published to it
//	score < GraylistThreshold    every RPC from the peer is ignored
//	score ≥ AcceptPXThreshold    peer exchange from it is accepted on PRUNE
//	median < OpportunisticGraft… the router grafts better-scoring peers
//
// and never keeps a peer with a negative score in its mesh.
package peerscore
