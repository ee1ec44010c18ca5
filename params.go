package peerscore

import (
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Params are the global score parameters. They mirror pubsub.PeerScoreParams
// field for field, so existing configurations carry over through
// ParamsFromPubsub and ToPubsub; fields beyond pubsub's are off at their
// zero value.
//
// Signs follow the score function: weights of rewards (P1, P2, P5) are
// positive, weights of penalties (P3, P3b, P4, P6, P7) negative. A weight of
// zero turns its component off.
type Params struct {
	// SkipAtomicValidation lets a configuration set only some groups of
	// parameters: a group whose fields are all zero is not validated and
	// stays off. Without it every group must be complete and valid.
	SkipAtomicValidation bool

	// Topics holds the parameters of each scored topic, keyed by topic name.
	// Messages and mesh events on topics not listed here do not affect the
	// score.
	Topics map[string]*TopicParams

	// TopicScoreCap bounds the sum of all topic scores (P1 to P4, each
	// topic times its weight) when that sum is positive, so a peer cannot
	// buy unlimited credit with traffic. Zero means no cap; negative is
	// invalid. Typical: a few times the largest topic's reachable score,
	// e.g. 10..100.
	TopicScoreCap float64

	// AppSpecificScore returns the application's own opinion of a peer (P5),
	// a plain number the application defines: staking status, a trust list,
	// a reputation database. It is called on every Score call, so it must
	// be fast and must not block. Required unless SkipAtomicValidation is
	// set, in which case a missing function counts as zero. A NaN result
	// counts as zero.
	AppSpecificScore func(p peer.ID) float64

	// AppSpecificWeight multiplies P5. Usually positive (1 to pass the
	// application score through unchanged).
	AppSpecificWeight float64

	// IPColocationFactorWeight weighs P6, the penalty for many peers sharing
	// one IP address (a cheap Sybil attack). Negative, or zero to disable.
	// Typical: -10 to -50.
	IPColocationFactorWeight float64

	// IPColocationFactorThreshold is how many peers may share an IP address
	// (or IPv6 /64) before P6 applies; above it P6 is the square of the
	// surplus. At least 1 when P6 is on. Typical: 1 to 10.
	IPColocationFactorThreshold int

	// IPColocationFactorWhitelist lists networks whose addresses are never
	// counted for P6, for example a NAT in front of trusted nodes.
	IPColocationFactorWhitelist []*net.IPNet

	// BehaviourPenaltyWeight weighs P7, the square of the behaviour penalty
	// counter above BehaviourPenaltyThreshold. The counter grows with
	// protocol misbehaviour: broken IWANT promises, GRAFTs during a PRUNE
	// backoff, and AddPenalty calls. Negative, or zero to disable. Typical:
	// -10 to -20.
	BehaviourPenaltyWeight float64

	// BehaviourPenaltyThreshold is how much of the behaviour penalty counter
	// is tolerated before P7 applies. Non-negative. Typical: 6.
	BehaviourPenaltyThreshold float64

	// BehaviourPenaltyDecay is the factor the behaviour penalty counter is
	// multiplied by at every DecayInterval, in (0, 1). Typical: the value of
	// ScoreParameterDecay for a window of about ten epochs.
	BehaviourPenaltyDecay float64

	// DecayInterval is how often counters decay and time in mesh is
	// brought up to date. At least one second. Typical: one second, or one
	// slot on a blockchain.
	DecayInterval time.Duration

	// DecayToZero is the value below which a decaying counter is set to
	// zero, so that counters do not linger at tiny values. In (0, 1).
	// Typical: 0.01.
	DecayToZero float64

	// RetainScore is how long the counters of a disconnected peer whose
	// score is zero or below are kept, so that reconnecting does not wash a
	// bad score. Zero forgets peers as soon as they disconnect. Typical:
	// hours to days.
	RetainScore time.Duration

	// SlowPeerWeight weighs the slow-peer penalty, which pubsub does not
	// have: a counter of messages the router had to drop on their way to
	// the peer because its outbound queue was full (a peer that does not
	// read), plus slow writes if SlowPeerWriteThreshold is set, linear
	// above SlowPeerThreshold. Negative, or zero (the default) to disable.
	// Typical: -0.1 to -1. Not carried by ToPubsub.
	SlowPeerWeight float64

	// SlowPeerThreshold is how many dropped messages and slow writes
	// (decaying) are tolerated before the slow-peer penalty applies.
	// Non-negative. Typical: a few hundred, to forgive a short burst.
	SlowPeerThreshold float64

	// SlowPeerDecay is the factor the slow-peer counter is multiplied by at
	// every DecayInterval, in (0, 1) when SlowPeerWeight is set.
	SlowPeerDecay float64

	// SlowPeerWriteThreshold is a second slow-peer signal: every RPC whose
	// write to the peer's stream took longer than this adds 1 to the same
	// slow-peer counter (a peer that reads slowly holds the router's writes
	// up through flow control, before its queue fills and messages are
	// dropped). It counts only with SlowPeerWeight set. Zero (the default)
	// turns it off; negative is invalid. Typical: 1s to 5s, well above a
	// healthy link's transfer time for the largest RPC.
	//
	// The router reports write times only from go-libp2p-pubsub v0.19.0 on
	// (RawTracer.SendRPCCompleted); with older releases this has no
	// effect. A peer that stops reading altogether never completes a write
	// (the router gives up after its 30s write deadline, without reporting
	// it) and is caught by the dropped messages instead. Not carried by
	// ToPubsub.
	SlowPeerWriteThreshold time.Duration

	// SeenMsgTTL is how long a message's delivery record is kept to score
	// late duplicates and late rejections. Zero means pubsub's
	// TimeCacheDuration (two minutes). It should match the router's seen
	// messages TTL.
	SeenMsgTTL time.Duration
}

// TopicParams are the score parameters of one topic. They mirror
// pubsub.TopicScoreParams field for field.
//
// A topic's score is TopicWeight times the sum of P1 (time in mesh), P2
// (first message deliveries), P3 (mesh message delivery deficit), P3b (mesh
// failure penalty) and P4 (invalid messages), each multiplied by its weight.
type TopicParams struct {
	// SkipAtomicValidation lets a topic set only some of its components:
	// a component whose fields are all zero is not validated and stays off.
	SkipAtomicValidation bool

	// TopicWeight scales the whole topic's score into the peer's score.
	// Non-negative. Typical: 0.1 to 1, larger for more important topics.
	TopicWeight float64

	// TimeInMeshWeight weighs P1, the time a peer has been in our mesh for
	// the topic, counted in whole TimeInMeshQuantum units and capped at
	// TimeInMeshCap. Positive, or zero to disable. Typical: a small value
	// such that the capped P1 is worth a few points, e.g. 0.0324.
	TimeInMeshWeight float64

	// TimeInMeshQuantum is the unit P1 counts in; partial units do not count.
	// Positive. Typical: one second, or one slot.
	TimeInMeshQuantum time.Duration

	// TimeInMeshCap is the largest P1 value, in quanta. Positive. Typical:
	// one hour's worth of quanta, e.g. 3600 with a one-second quantum.
	TimeInMeshCap float64

	// FirstMessageDeliveriesWeight weighs P2, the number of messages the peer
	// was the first to deliver to us (decaying, capped). Positive, or zero
	// to disable. Typical: 1.
	FirstMessageDeliveriesWeight float64

	// FirstMessageDeliveriesDecay is the factor the P2 counter is multiplied
	// by at every DecayInterval, in (0, 1). Typical: 0.5 to 0.999.
	FirstMessageDeliveriesDecay float64

	// FirstMessageDeliveriesCap is the largest P2 counter value, in
	// messages. Positive. Typical: the counter's steady state at the
	// topic's expected rate, e.g. 2 to 2000.
	FirstMessageDeliveriesCap float64

	// MeshMessageDeliveriesWeight weighs P3, the square of how far a mesh
	// peer's mesh delivery counter falls short of
	// MeshMessageDeliveriesThreshold. Negative, or zero to disable.
	// Typical: -1 or lower, chosen so a silent mesh peer drops below zero.
	MeshMessageDeliveriesWeight float64

	// MeshMessageDeliveriesDecay is the factor the P3 counter is multiplied
	// by at every DecayInterval, in (0, 1). Typical: 0.5 to 0.99.
	MeshMessageDeliveriesDecay float64

	// MeshMessageDeliveriesCap is the largest P3 counter value, in messages.
	// Positive and, in sane configurations, above the threshold.
	MeshMessageDeliveriesCap float64

	// MeshMessageDeliveriesThreshold is how many mesh deliveries (decaying)
	// a mesh peer owes us; below it P3 is the squared deficit. Positive.
	// Typical: a fraction of the topic's expected messages per decay
	// window, e.g. a quarter.
	MeshMessageDeliveriesThreshold float64

	// MeshMessageDeliveriesWindow is how long after a message was validated
	// a copy from a mesh peer still counts as a mesh delivery. Copies that
	// arrive during validation always count. Non-negative. Typical: 2ms to
	// 10ms, shorter than the time it takes us to forward the message and
	// have it echoed back.
	MeshMessageDeliveriesWindow time.Duration

	// MeshMessageDeliveriesActivation is how long a peer must be in the
	// mesh before P3 applies, giving a new mesh peer time to build its
	// counter. At least one second. Typical: a few decay intervals to a few
	// minutes.
	MeshMessageDeliveriesActivation time.Duration

	// MeshFailurePenaltyWeight weighs P3b, the sticky penalty charged when
	// a peer leaves the mesh (pruned or disconnected) while owing mesh
	// deliveries: the squared deficit at that moment, decaying afterwards.
	// Negative, or zero to disable. Typical: equal to the P3 weight.
	MeshFailurePenaltyWeight float64

	// MeshFailurePenaltyDecay is the factor the P3b counter is multiplied by
	// at every DecayInterval, in (0, 1).
	MeshFailurePenaltyDecay float64

	// InvalidMessageDeliveriesWeight weighs P4, the square of the number of
	// invalid messages the peer forwarded (decaying). Negative, or zero to
	// disable. Typical: large, e.g. -100 to -1000, as invalid messages are
	// the clearest sign of an attack.
	InvalidMessageDeliveriesWeight float64

	// InvalidMessageDeliveriesDecay is the factor the P4 counter is
	// multiplied by at every DecayInterval, in (0, 1). Validated even when
	// the weight is zero, as pubsub does. Typical: slow, e.g. 0.99 to 0.9999.
	InvalidMessageDeliveriesDecay float64
}

// Thresholds are the score levels at which a GossipSub router changes how it
// treats a peer. They mirror pubsub.PeerScoreThresholds field for field.
type Thresholds struct {
	// SkipAtomicValidation lets a configuration leave groups of thresholds
	// at zero without validating them.
	SkipAtomicValidation bool

	// GossipThreshold: below it, the router neither sends gossip (IHAVE,
	// IWANT) to the peer nor accepts gossip from it. Zero or negative.
	// Typical: -10 to -4000, depending on the weights.
	GossipThreshold float64

	// PublishThreshold: below it, the router does not flood-publish our own
	// messages to the peer (nor send them through fanout). Zero or negative,
	// and no higher than GossipThreshold.
	PublishThreshold float64

	// GraylistThreshold: below it, the router ignores every RPC from the
	// peer. Zero or negative, and no higher than PublishThreshold.
	GraylistThreshold float64

	// AcceptPXThreshold: the peer's score must reach it for the router to
	// accept peer exchange from it when it prunes us. Zero or positive;
	// typically set so only bootstrappers and trusted peers, carried by
	// P5, reach it.
	AcceptPXThreshold float64

	// OpportunisticGraftThreshold: when the median score of the mesh falls
	// below it, the router grafts a few peers with better scores. Zero or
	// positive; a small value, e.g. 1 to 5.
	OpportunisticGraftThreshold float64
}
