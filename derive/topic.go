package derive

import (
	"math"
	"time"

	"github.com/peerscore/peerscore"
)

// Defaults of a Topic's zero fields.
const (
	// defaultMaxTimeInMesh is the time in mesh at which P1 stops growing.
	defaultMaxTimeInMesh = time.Hour
	// defaultMeshDeliveriesFraction is the share of a topic's expected
	// messages a mesh peer must deliver to stay clear of P3: 1/50.
	defaultMeshDeliveriesFraction = 1.0 / 50
	// defaultMeshDeliveriesCapFactor is how many times the P3 threshold the
	// P3 counter may reach.
	defaultMeshDeliveriesCapFactor = 4.0
)

// Topic describes one topic by what it carries rather than by its
// parameters. TopicParams turns it into peerscore.TopicParams. Fields marked
// "zero:" take that default when left at zero; the decay windows are the
// time for a count of 1 to decay to the budget's DecayToZero, counted in
// whole decay intervals as peerscore.ScoreParameterDecayWithBase does.
type Topic struct {
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
	// quanta allowed). Zero: one hour.
	MaxTimeInMesh time.Duration

	// FirstDeliveriesDecay is the decay window of the P2 counter. Required.
	// The cap is the counter's steady state at the peer's expected share,
	// SteadyState(2·MessagesPerInterval/MeshDegree, decay), and the weight
	// MaxFirstDeliveriesScore / cap. Longer windows for rarer topics:
	// Ethereum uses one epoch for attestations, 20 for blocks, 100 for
	// exits and slashings.
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
	// 1/50: a peer owes nothing if it forwards one message in fifty.
	MeshDeliveriesFraction float64

	// MeshDeliveriesCapFactor sets the P3 counter's cap to this many times
	// the threshold, and at least 2. Zero: 4. Ethereum: 3 for blocks, 4
	// for aggregates, 16 for attestations.
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
	// budget's, −MaxPositiveScore / (Weight · threshold²): a mesh peer
	// that delivers nothing loses as much as any peer can earn. Negative
	// otherwise; Lighthouse uses −Weight, a much milder penalty.
	MeshDeliveriesWeight float64

	// InvalidDeliveriesDecay is the decay window of the P4 counter.
	// Required. The P4 weight is −MaxPositiveScore / Weight: one invalid
	// message costs the whole budget. Ethereum: 50 epochs.
	InvalidDeliveriesDecay time.Duration
}

// TopicParams derives the parameters of one topic from its description and
// the budget, which must have MaxPositiveScore set (Params, which sees every
// topic, computes it): for a topic added after the others, to register with
// Scorer.SetTopicParams. With f(w) the budget's decay factor for window w
// and r = topic.MessagesPerInterval:
//
//	TimeInMeshQuantum              = topic.TimeInMeshQuantum, or DecayInterval
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
// The result passes Validate; an error names the offending Topic or Budget
// field and matches peerscore.ErrInvalidParams.
func TopicParams(topic Topic, budget Budget) (*peerscore.TopicParams, error) {
	b := budget.withDefaults()
	if err := b.check(); err != nil {
		return nil, err
	}
	if !isPositive(b.MaxPositiveScore) {
		return nil, invalid("", "Budget.MaxPositiveScore", b.MaxPositiveScore,
			"must be positive: the most a peer can earn from all topics (Params computes it)")
	}
	return deriveTopic("", topic, &b)
}

// deriveTopic derives a topic's parameters from spec and a budget that has
// defaults filled in, has been checked and has a positive MaxPositiveScore.
// topic names the topic in errors.
func deriveTopic(topic string, spec Topic, b *Budget) (*peerscore.TopicParams, error) {
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
		maxTime = defaultMaxTimeInMesh
	}
	tp := &peerscore.TopicParams{
		TopicWeight:       spec.Weight,
		TimeInMeshQuantum: quantum,
		TimeInMeshCap:     float64(maxTime) / float64(quantum),
	}
	tp.TimeInMeshWeight = rewardWeight(b.MaxInMeshScore, tp.TimeInMeshCap)

	tp.FirstMessageDeliveriesDecay = b.decayFactor(spec.FirstDeliveriesDecay)
	tp.FirstMessageDeliveriesCap = SteadyState(2*rate/float64(spec.MeshDegree), tp.FirstMessageDeliveriesDecay)
	tp.FirstMessageDeliveriesWeight = rewardWeight(b.MaxFirstDeliveriesScore, tp.FirstMessageDeliveriesCap)

	if spec.MeshDeliveries {
		fraction := spec.MeshDeliveriesFraction
		if fraction == 0 {
			fraction = defaultMeshDeliveriesFraction
		}
		capFactor := spec.MeshDeliveriesCapFactor
		if capFactor == 0 {
			capFactor = defaultMeshDeliveriesCapFactor
		}
		decay := b.decayFactor(spec.MeshDeliveriesDecay)
		threshold := SteadyStateThreshold(fraction*rate, decay)
		weight := spec.MeshDeliveriesWeight
		if weight == 0 {
			weight = squaredPenaltyWeight(b.MaxPositiveScore, spec.Weight, threshold)
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
	tp.InvalidMessageDeliveriesWeight = squaredPenaltyWeight(b.MaxPositiveScore, spec.Weight, 1)

	if !allFinite(tp.TimeInMeshCap, tp.TimeInMeshWeight, tp.FirstMessageDeliveriesCap,
		tp.FirstMessageDeliveriesWeight, tp.MeshMessageDeliveriesThreshold,
		tp.MeshMessageDeliveriesCap, tp.MeshMessageDeliveriesWeight,
		tp.InvalidMessageDeliveriesWeight) {
		return nil, invalid(topic, "Topic.MessagesPerInterval", spec.MessagesPerInterval,
			"with the other fields, derives a parameter that is not a finite number")
	}
	if err := validateTopic(topic, tp); err != nil {
		return nil, err
	}
	return tp, nil
}

// check reports the first invalid field of spec; b has defaults filled in.
// topic names the topic in errors.
func (spec *Topic) check(topic string, b *Budget) error {
	switch {
	case !isPositive(spec.Weight):
		return invalid(topic, "Topic.Weight", spec.Weight, rulePositive)
	case !isPositive(spec.MessagesPerInterval):
		return invalid(topic, "Topic.MessagesPerInterval", spec.MessagesPerInterval, rulePositive)
	case spec.MeshDegree < 1:
		return invalid(topic, "Topic.MeshDegree", spec.MeshDegree, "must be at least 1")
	case spec.TimeInMeshQuantum < 0:
		return invalid(topic, "Topic.TimeInMeshQuantum", spec.TimeInMeshQuantum, "must not be negative")
	case spec.MaxTimeInMesh < 0:
		return invalid(topic, "Topic.MaxTimeInMesh", spec.MaxTimeInMesh, "must not be negative")
	}
	if err := b.checkWindow("Topic.FirstDeliveriesDecay", topic, spec.FirstDeliveriesDecay); err != nil {
		return err
	}
	if err := b.checkWindow("Topic.InvalidDeliveriesDecay", topic, spec.InvalidDeliveriesDecay); err != nil {
		return err
	}
	if !spec.MeshDeliveries {
		return nil
	}
	if err := b.checkWindow("Topic.MeshDeliveriesDecay", topic, spec.MeshDeliveriesDecay); err != nil {
		return err
	}
	switch {
	case !isNonNegative(spec.MeshDeliveriesFraction):
		return invalid(topic, "Topic.MeshDeliveriesFraction", spec.MeshDeliveriesFraction, ruleNonNegative)
	case !isNonNegative(spec.MeshDeliveriesCapFactor):
		return invalid(topic, "Topic.MeshDeliveriesCapFactor", spec.MeshDeliveriesCapFactor, ruleNonNegative)
	case !isNonPositive(spec.MeshDeliveriesWeight):
		return invalid(topic, "Topic.MeshDeliveriesWeight", spec.MeshDeliveriesWeight, ruleNonPositive+" (zero derives it from the budget)")
	case spec.MeshDeliveriesActivation < time.Second:
		return invalid(topic, "Topic.MeshDeliveriesActivation", spec.MeshDeliveriesActivation, "must be at least 1s")
	case spec.MeshDeliveriesWindow < 0:
		return invalid(topic, "Topic.MeshDeliveriesWindow", spec.MeshDeliveriesWindow, "must not be negative")
	}
	return nil
}
