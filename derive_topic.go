package peerscore

import (
	"math"
	"time"
)

// TopicSpec describes one topic by what it carries rather than by its
// parameters. DeriveTopicParams turns it into TopicParams. Fields marked
// "zero:" take that default when left at zero; the decay windows are the
// time for a count of 1 to decay to the budget's DecayToZero, counted in
// whole decay intervals as ScoreParameterDecayWithBase does.
type TopicSpec struct {
	// Weight is TopicWeight: the topic's share of the score. Positive.
	// Ethereum: 0.5 for blocks, 1/64 for each attestation subnet.
	Weight float64

	// MessagesPerInterval is how many distinct messages the whole topic
	// is expected to carry per decay interval (copies not counted).
	// Positive; fractions are fine for rare topics, e.g. 4/32 for four
	// voluntary exits per 32-slot epoch with a one-slot interval.
	MessagesPerInterval float64

	// MeshDegree is the router's target mesh degree D (pubsub's GossipSubD,
	// 6 by default; 8 on Ethereum). A mesh peer is expected to be first with
	// about 1/D of the messages; P2's cap allows twice that.
	MeshDegree int

	// TimeInMeshQuantum is the unit P1 counts in. Zero: the decay
	// interval.
	TimeInMeshQuantum time.Duration

	// MaxTimeInMesh is the time in mesh at which P1 stops growing:
	// TimeInMeshCap = MaxTimeInMesh / TimeInMeshQuantum (fractional
	// quanta allowed). Zero: DefaultMaxTimeInMesh (one hour).
	MaxTimeInMesh time.Duration

	// FirstDeliveriesDecay is the decay window of the P2 counter. Required.
	// The cap is the counter's steady state at the peer's expected share,
	// SteadyState(2·MessagesPerInterval/MeshDegree, decay), and the weight
	// RewardWeight(MaxFirstDeliveriesScore, cap). Longer windows for rarer
	// topics: Ethereum uses one epoch for attestations, 20 for blocks, 100
	// for exits and slashings.
	FirstDeliveriesDecay time.Duration

	// MeshDeliveries turns on P3 and P3b, the penalty for mesh peers that
	// do not forward. Off, every mesh-delivery field is zero. Turn it on
	// only for topics with a steady, predictable rate: a rate set too high
	// penalises honest peers and empties the mesh.
	MeshDeliveries bool

	// MeshDeliveriesDecay is the decay window of the P3 counter, and of
	// P3b. Required when MeshDeliveries is on.
	MeshDeliveriesDecay time.Duration

	// MeshDeliveriesFraction is the share of MessagesPerInterval a mesh
	// peer must deliver (first, or within MeshDeliveriesWindow of
	// validation) to owe nothing. The threshold is
	// SteadyStateThreshold(fraction·MessagesPerInterval, decay). Zero:
	// DefaultMeshDeliveriesFraction (1/50).
	MeshDeliveriesFraction float64

	// MeshDeliveriesCapFactor sets the P3 counter's cap to this many times
	// the threshold, and at least 2. Zero: DefaultMeshDeliveriesCapFactor
	// (4). Ethereum: 3 for blocks, 4 for aggregates, 16 for attestations.
	MeshDeliveriesCapFactor float64

	// MeshDeliveriesActivation is how long a peer must be in the mesh
	// before P3 applies. At least 1s when MeshDeliveries is on. Ethereum:
	// one epoch, or 17 slots for attestation subnets.
	MeshDeliveriesActivation time.Duration

	// MeshDeliveriesWindow is MeshMessageDeliveriesWindow: how late after
	// validation a copy still counts. Not negative. Typical: 2s on
	// Ethereum (Lighthouse, Teku, Prysm), 12s in Lodestar, milliseconds on
	// fast networks.
	MeshDeliveriesWindow time.Duration

	// MeshDeliveriesWeight overrides the P3 and P3b weight. Zero: the
	// budget's, SquaredPenaltyWeight(MaxPositiveScore, Weight, threshold):
	// a mesh peer that delivers nothing loses as much as any peer can
	// earn. Negative otherwise; Lighthouse uses −Weight, a much milder
	// penalty.
	MeshDeliveriesWeight float64

	// InvalidDeliveriesDecay is the decay window of the P4 counter.
	// Required. The P4 weight is SquaredPenaltyWeight(MaxPositiveScore,
	// Weight, 1): one invalid message costs the whole budget. Ethereum: 50
	// epochs.
	InvalidDeliveriesDecay time.Duration
}

// DeriveTopicParams derives the parameters of one topic from its spec and
// the budget, which must have MaxPositiveScore set (DeriveParams, which sees
// every topic, computes it). With f(w) the budget's decay factor for window
// w and r = spec.MessagesPerInterval:
//
//	TimeInMeshQuantum              = spec.TimeInMeshQuantum, or DecayInterval
//	TimeInMeshCap                  = MaxTimeInMesh / TimeInMeshQuantum
//	TimeInMeshWeight               = MaxInMeshScore / TimeInMeshCap
//	FirstMessageDeliveriesDecay    = f(FirstDeliveriesDecay)
//	FirstMessageDeliveriesCap      = SteadyState(2·r/MeshDegree, that decay)
//	FirstMessageDeliveriesWeight   = MaxFirstDeliveriesScore / that cap
//	MeshMessageDeliveriesDecay     = f(MeshDeliveriesDecay)          (if MeshDeliveries)
//	MeshMessageDeliveriesThreshold = SteadyStateThreshold(MeshDeliveriesFraction·r, that decay)
//	MeshMessageDeliveriesCap       = max(MeshDeliveriesCapFactor·threshold, 2)
//	MeshMessageDeliveriesWeight    = −MaxPositiveScore / (Weight·threshold²), or the override
//	MeshFailurePenalty{Weight,Decay} = the P3 weight and decay
//	InvalidMessageDeliveriesDecay  = f(InvalidDeliveriesDecay)
//	InvalidMessageDeliveriesWeight = −MaxPositiveScore / Weight
//
// The result passes Validate; an error names the offending spec or budget
// field and matches ErrInvalidParams.
func DeriveTopicParams(spec TopicSpec, budget ScoreBudget) (*TopicParams, error) {
	b := budget.withDefaults()
	if err := b.check(); err != nil {
		return nil, err
	}
	if !isPositive(b.MaxPositiveScore) {
		return nil, specError("", "ScoreBudget.MaxPositiveScore", b.MaxPositiveScore,
			"must be positive: the most a peer can earn from all topics (DeriveParams computes it)")
	}
	return deriveTopic("", spec, &b)
}

// deriveTopic derives a topic's parameters from spec and a budget that has
// defaults filled in, has been checked and has a positive MaxPositiveScore.
// topic names the topic in errors.
func deriveTopic(topic string, spec TopicSpec, b *ScoreBudget) (*TopicParams, error) {
	if err := spec.check(topic, b); err != nil {
		return nil, err
	}
	rate := spec.MessagesPerInterval

	quantum := spec.TimeInMeshQuantum
	if quantum == 0 {
		quantum = b.DecayInterval
	}
	maxTime := spec.MaxTimeInMesh
	if maxTime == 0 {
		maxTime = DefaultMaxTimeInMesh
	}
	tp := &TopicParams{
		TopicWeight:       spec.Weight,
		TimeInMeshQuantum: quantum,
		TimeInMeshCap:     float64(maxTime) / float64(quantum),
	}
	tp.TimeInMeshWeight = RewardWeight(b.MaxInMeshScore, tp.TimeInMeshCap)

	tp.FirstMessageDeliveriesDecay = b.decayFactor(spec.FirstDeliveriesDecay)
	tp.FirstMessageDeliveriesCap = SteadyState(2*rate/float64(spec.MeshDegree), tp.FirstMessageDeliveriesDecay)
	tp.FirstMessageDeliveriesWeight = RewardWeight(b.MaxFirstDeliveriesScore, tp.FirstMessageDeliveriesCap)

	if spec.MeshDeliveries {
		fraction := spec.MeshDeliveriesFraction
		if fraction == 0 {
			fraction = DefaultMeshDeliveriesFraction
		}
		capFactor := spec.MeshDeliveriesCapFactor
		if capFactor == 0 {
			capFactor = DefaultMeshDeliveriesCapFactor
		}
		decay := b.decayFactor(spec.MeshDeliveriesDecay)
		threshold := SteadyStateThreshold(fraction*rate, decay)
		weight := spec.MeshDeliveriesWeight
		if weight == 0 {
			weight = SquaredPenaltyWeight(b.MaxPositiveScore, spec.Weight, threshold)
		}
		tp.MeshMessageDeliveriesDecay = decay
		tp.MeshMessageDeliveriesThreshold = threshold
		tp.MeshMessageDeliveriesCap = math.Max(capFactor*threshold, 2)
		tp.MeshMessageDeliveriesWeight = weight
		tp.MeshMessageDeliveriesActivation = spec.MeshDeliveriesActivation
		tp.MeshMessageDeliveriesWindow = spec.MeshDeliveriesWindow
		tp.MeshFailurePenaltyWeight = weight
		tp.MeshFailurePenaltyDecay = decay
	}

	tp.InvalidMessageDeliveriesDecay = b.decayFactor(spec.InvalidDeliveriesDecay)
	tp.InvalidMessageDeliveriesWeight = SquaredPenaltyWeight(b.MaxPositiveScore, spec.Weight, 1)

	if !allFinite(tp.TimeInMeshCap, tp.TimeInMeshWeight, tp.FirstMessageDeliveriesCap,
		tp.FirstMessageDeliveriesWeight, tp.MeshMessageDeliveriesThreshold,
		tp.MeshMessageDeliveriesCap, tp.MeshMessageDeliveriesWeight,
		tp.InvalidMessageDeliveriesWeight) {
		return nil, specError(topic, "TopicSpec.MessagesPerInterval", spec.MessagesPerInterval,
			"with the other fields, derives a parameter that is not a finite number")
	}
	if err := validateTopic(topic, tp); err != nil {
		return nil, err
	}
	return tp, nil
}

// check reports the first invalid field of spec; b has defaults filled in.
func (spec *TopicSpec) check(topic string, b *ScoreBudget) error {
	switch {
	case !isPositive(spec.Weight):
		return specError(topic, "TopicSpec.Weight", spec.Weight, rulePositive)
	case !isPositive(spec.MessagesPerInterval):
		return specError(topic, "TopicSpec.MessagesPerInterval", spec.MessagesPerInterval, rulePositive)
	case spec.MeshDegree < 1:
		return specError(topic, "TopicSpec.MeshDegree", spec.MeshDegree, "must be at least 1")
	case spec.TimeInMeshQuantum < 0:
		return specError(topic, "TopicSpec.TimeInMeshQuantum", spec.TimeInMeshQuantum, "must not be negative")
	case spec.MaxTimeInMesh < 0:
		return specError(topic, "TopicSpec.MaxTimeInMesh", spec.MaxTimeInMesh, "must not be negative")
	}
	if err := b.checkWindow("TopicSpec.FirstDeliveriesDecay", topic, spec.FirstDeliveriesDecay); err != nil {
		return err
	}
	if err := b.checkWindow("TopicSpec.InvalidDeliveriesDecay", topic, spec.InvalidDeliveriesDecay); err != nil {
		return err
	}
	if !spec.MeshDeliveries {
		return nil
	}
	if err := b.checkWindow("TopicSpec.MeshDeliveriesDecay", topic, spec.MeshDeliveriesDecay); err != nil {
		return err
	}
	switch {
	case !isNonNegative(spec.MeshDeliveriesFraction):
		return specError(topic, "TopicSpec.MeshDeliveriesFraction", spec.MeshDeliveriesFraction, ruleNonNegative)
	case !isNonNegative(spec.MeshDeliveriesCapFactor):
		return specError(topic, "TopicSpec.MeshDeliveriesCapFactor", spec.MeshDeliveriesCapFactor, ruleNonNegative)
	case !isNonPositive(spec.MeshDeliveriesWeight):
		return specError(topic, "TopicSpec.MeshDeliveriesWeight", spec.MeshDeliveriesWeight, ruleNonPositive+" (zero derives it from the budget)")
	case spec.MeshDeliveriesActivation < time.Second:
		return specError(topic, "TopicSpec.MeshDeliveriesActivation", spec.MeshDeliveriesActivation, "must be at least 1s")
	case spec.MeshDeliveriesWindow < 0:
		return specError(topic, "TopicSpec.MeshDeliveriesWindow", spec.MeshDeliveriesWindow, "must not be negative")
	}
	return nil
}
