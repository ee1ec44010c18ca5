package peerscore

import (
	"math"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Deriving parameters
//
// Hand-picking thirty numbers per topic is where scoring usually goes wrong.
// The method the Ethereum consensus clients share (Lighthouse first; Teku,
// Lodestar and Prysm after it) derives them from a few facts instead:
//
//  1. Decay factors come from decay windows: a counter should fall from 1 to
//     DecayToZero over the window (ScoreParameterDecayWithBase).
//  2. Counter caps and thresholds come from the rate a topic is expected to
//     carry: a counter fed r events per decay interval and multiplied by d
//     at each interval settles at SteadyState(r, d).
//  3. Weights come from a budget: each topic may reward a peer with at most
//     MaxInMeshScore + MaxFirstDeliveriesScore (times its TopicWeight), so
//     the most any peer can earn, MaxPositiveScore, is known, and penalties
//     are sized against it: one invalid message, or a mesh peer that
//     delivers nothing, costs the whole of it.
//  4. Global knobs follow from the budget and the thresholds: the topic cap
//     is half the budget, and a peer that misbehaves at a given rate reaches
//     GossipThreshold through P7 alone.
//
// The building blocks below state each formula; TopicSpec and ScoreBudget
// describe a topic and the whole budget; DeriveTopicParams and DeriveParams
// put them together; EthereumPreset applies them to the beacon chain.

// Defaults of the derivation, used where a ScoreBudget or TopicSpec field is
// zero.
const (
	// DefaultMaxInMeshScore is the most P1 adds to a topic's score before
	// its TopicWeight.
	DefaultMaxInMeshScore = 10.0
	// DefaultMaxFirstDeliveriesScore is the most P2 adds to a topic's
	// score before its TopicWeight.
	DefaultMaxFirstDeliveriesScore = 40.0
	// DefaultMaxTimeInMesh is the time in mesh at which P1 stops growing.
	DefaultMaxTimeInMesh = time.Hour
	// DefaultMeshDeliveriesFraction is the share of a topic's expected
	// messages a mesh peer must deliver to stay clear of P3: 1/50.
	DefaultMeshDeliveriesFraction = 1.0 / 50
	// DefaultMeshDeliveriesCapFactor is how many times the P3 threshold the
	// P3 counter may reach.
	DefaultMeshDeliveriesCapFactor = 4.0
)

// DefaultThresholds returns the thresholds the Ethereum consensus clients
// (Lighthouse, Teku, Lodestar, Prysm) all use: gossip -4000, publish -8000,
// graylist -16000, accept PX 100, opportunistic graft 5. They are sized for
// a budget of about a hundred points, whose squared penalties reach
// thousands of points within a few offences.
func DefaultThresholds() Thresholds {
	return Thresholds{
		GossipThreshold:             -4000,
		PublishThreshold:            -8000,
		GraylistThreshold:           -16000,
		AcceptPXThreshold:           100,
		OpportunisticGraftThreshold: 5,
	}
}

// SteadyState returns the value a decaying counter settles at when it gains
// ratePerInterval events in every decay interval and is multiplied by decay
// once per interval:
//
//	SteadyState = rate + rate·decay + rate·decay² + … = rate / (1 − decay)
//
// This is the counter's value just after the events of an interval arrive,
// its highest point. For example, 1 message per interval with decay 0.9
// settles at 10. Units are those of the rate (messages, penalties). decay
// must be in [0, 1); 1 gives +Inf.
func SteadyState(ratePerInterval, decay float64) float64 {
	return ratePerInterval / (1 - decay)
}

// SteadyStateThreshold returns the lowest point of the same counter in its
// steady state, just after a decay step, before the next interval's events:
//
//	SteadyStateThreshold = decay · rate / (1 − decay) = SteadyState − rate
//
// A peer that keeps delivering ratePerInterval never falls below it, which
// makes it the natural MeshMessageDeliveriesThreshold for a peer expected to
// deliver that rate. For example, 1 per interval with decay 0.9 gives 9.
func SteadyStateThreshold(ratePerInterval, decay float64) float64 {
	return decay * SteadyState(ratePerInterval, decay)
}

// RewardWeight returns the weight that makes a capped counter worth at most
// maxScore points (before TopicWeight):
//
//	weight = maxScore / cap
//
// P1 uses it with cap = TimeInMeshCap and maxScore = MaxInMeshScore (10
// points after an hour in the mesh by default); P2 with cap =
// FirstMessageDeliveriesCap and maxScore = MaxFirstDeliveriesScore (40).
func RewardWeight(maxScore, counterCap float64) float64 {
	return maxScore / counterCap
}

// SquaredPenaltyWeight returns the (negative) weight at which a penalty that
// squares its counter costs score points once the counter reaches count,
// after the topic's weight:
//
//	weight = −score / (topicWeight · count²), so weight·count²·topicWeight = −score
//
// It sizes the squared penalties: P4 with count 1 and score =
// MaxPositiveScore (one invalid message wipes out the most a peer can earn);
// P3 and P3b with count = MeshMessageDeliveriesThreshold (a mesh peer that
// delivers nothing loses as much); P7 with topicWeight 1, score =
// −GossipThreshold and count the steady-state excess over the threshold. For
// example score 107.5, topic weight 0.5, count 1 gives −215.
func SquaredPenaltyWeight(score, topicWeight, count float64) float64 {
	return -score / (topicWeight * count * count)
}

// ScoreBudget describes the scoring as a whole: the scale of rewards, the
// thresholds, and the global penalties. DeriveParams turns it, with one
// TopicSpec per topic, into Params and Thresholds. Fields marked "zero:"
// take that default when left at zero.
type ScoreBudget struct {
	// DecayInterval is how often counters decay (Params.DecayInterval),
	// the unit of every "per interval" rate. At least one second. Zero:
	// defaultDecayInterval (1s). Ethereum: one slot.
	DecayInterval time.Duration

	// DecayToZero is the value a counter is rounded down to zero below,
	// and the value every decay window decays 1 to. In (0, 1). Zero:
	// defaultDecayToZero (0.01).
	DecayToZero float64

	// MaxInMeshScore is the most P1 adds to a topic's score, before its
	// TopicWeight. Zero: DefaultMaxInMeshScore (10).
	MaxInMeshScore float64

	// MaxFirstDeliveriesScore is the most P2 adds to a topic's score,
	// before its TopicWeight. Zero: DefaultMaxFirstDeliveriesScore (40).
	MaxFirstDeliveriesScore float64

	// MaxPositiveScore is the most score a peer can earn from all topics:
	//
	//	MaxPositiveScore = Σ_topics TopicWeight · (MaxInMeshScore + MaxFirstDeliveriesScore)
	//
	// Penalties are sized against it. Zero: DeriveParams computes it from
	// its topics, as above; DeriveTopicParams, which sees one topic,
	// requires it.
	MaxPositiveScore float64

	// TopicScoreCap is Params.TopicScoreCap. Zero: MaxPositiveScore / 2,
	// so a peer earns at most half the budget from topics.
	TopicScoreCap float64

	// Thresholds are returned as they are, and GossipThreshold also sizes
	// P7. Nil: DefaultThresholds.
	Thresholds *Thresholds

	// RetainScore is Params.RetainScore. Zero forgets a disconnected peer
	// at once. Ethereum: 100 epochs.
	RetainScore time.Duration

	// IPColocationFactorThreshold is Params.IPColocationFactorThreshold:
	// how many peers may share an address before P6 applies. Zero turns
	// P6 off. When on, its weight is −TopicScoreCap: one peer too many on
	// an address costs what a peer can earn from topics. Ethereum: 3
	// (Teku, Lodestar), 8 (Lighthouse), 10 (Prysm).
	IPColocationFactorThreshold int

	// BehaviourPenaltyDecay is the decay window of the P7 counter (the
	// time for 1 to decay to DecayToZero). Zero turns P7 off. Ethereum: 10
	// epochs.
	BehaviourPenaltyDecay time.Duration

	// BehaviourPenaltyThreshold is Params.BehaviourPenaltyThreshold, the
	// misbehaviour tolerated before P7 applies. Typical: 6.
	BehaviourPenaltyThreshold float64

	// BehaviourPenaltyRate is the misbehaviour rate, in penalties per
	// decay interval, that should on its own take a peer to
	// GossipThreshold. The P7 weight is
	//
	//	SquaredPenaltyWeight(−GossipThreshold, 1, SteadyState(rate, decay) − BehaviourPenaltyThreshold)
	//
	// It must be high enough for the steady state to exceed the threshold.
	// Ethereum: 10 per epoch (10 / SlotsPerEpoch per slot).
	BehaviourPenaltyRate float64
}

// withDefaults returns b with its zero fields filled in. MaxPositiveScore
// and TopicScoreCap stay as they are; they depend on the topics.
func (b ScoreBudget) withDefaults() ScoreBudget {
	if b.DecayInterval == 0 {
		b.DecayInterval = defaultDecayInterval
	}
	if b.DecayToZero == 0 {
		b.DecayToZero = defaultDecayToZero
	}
	if b.MaxInMeshScore == 0 {
		b.MaxInMeshScore = DefaultMaxInMeshScore
	}
	if b.MaxFirstDeliveriesScore == 0 {
		b.MaxFirstDeliveriesScore = DefaultMaxFirstDeliveriesScore
	}
	if b.Thresholds == nil {
		t := DefaultThresholds()
		b.Thresholds = &t
	}
	return b
}

// check reports the first invalid field of a budget with defaults filled in.
func (b *ScoreBudget) check() error {
	switch {
	case b.DecayInterval < time.Second:
		return specError("", "ScoreBudget.DecayInterval", b.DecayInterval, "must be at least 1s")
	case !isDecayFactor(b.DecayToZero):
		return specError("", "ScoreBudget.DecayToZero", b.DecayToZero, ruleDecay)
	case !isPositive(b.MaxInMeshScore):
		return specError("", "ScoreBudget.MaxInMeshScore", b.MaxInMeshScore, rulePositive)
	case !isPositive(b.MaxFirstDeliveriesScore):
		return specError("", "ScoreBudget.MaxFirstDeliveriesScore", b.MaxFirstDeliveriesScore, rulePositive)
	case !isNonNegative(b.MaxPositiveScore):
		return specError("", "ScoreBudget.MaxPositiveScore", b.MaxPositiveScore, ruleNonNegative)
	case !isNonNegative(b.TopicScoreCap):
		return specError("", "ScoreBudget.TopicScoreCap", b.TopicScoreCap, ruleNonNegative)
	case b.RetainScore < 0:
		return specError("", "ScoreBudget.RetainScore", b.RetainScore, "must not be negative")
	case b.IPColocationFactorThreshold < 0:
		return specError("", "ScoreBudget.IPColocationFactorThreshold", b.IPColocationFactorThreshold, "must not be negative")
	}
	if err := b.Thresholds.Validate(); err != nil {
		return err
	}
	if b.BehaviourPenaltyDecay != 0 {
		if err := b.checkWindow("ScoreBudget.BehaviourPenaltyDecay", "", b.BehaviourPenaltyDecay); err != nil {
			return err
		}
		if !isNonNegative(b.BehaviourPenaltyThreshold) {
			return specError("", "ScoreBudget.BehaviourPenaltyThreshold", b.BehaviourPenaltyThreshold, ruleNonNegative)
		}
		if !isPositive(b.BehaviourPenaltyRate) {
			return specError("", "ScoreBudget.BehaviourPenaltyRate", b.BehaviourPenaltyRate, rulePositive)
		}
	}
	return nil
}

// checkWindow checks a decay window: at least one decay interval, so that
// its factor is in (0, 1).
func (b *ScoreBudget) checkWindow(field, topic string, window time.Duration) error {
	if window < b.DecayInterval {
		return specError(topic, field, window, "must be at least one DecayInterval ("+b.DecayInterval.String()+")")
	}
	return nil
}

// decayFactor is the factor that takes a counter from 1 to DecayToZero over
// window, in whole decay intervals (ScoreParameterDecayWithBase).
func (b *ScoreBudget) decayFactor(window time.Duration) float64 {
	return ScoreParameterDecayWithBase(window, b.DecayInterval, b.DecayToZero)
}

// maxTopicScore is the most one topic of the given weight adds to a score.
func (b *ScoreBudget) maxTopicScore(topicWeight float64) float64 {
	return topicWeight * (b.MaxInMeshScore + b.MaxFirstDeliveriesScore)
}

// specError reports an invalid field of a TopicSpec or ScoreBudget. It
// matches ErrInvalidParams, like every other parameter error.
func specError(topic, field string, value any, rule string) *ParamError {
	return &ParamError{Topic: topic, Field: field, Value: value, Rule: rule}
}

// DeriveParams derives complete Params and Thresholds from one TopicSpec per
// topic (keyed by topic name) and the budget:
//
//   - MaxPositiveScore, unless set: Σ TopicWeight · (MaxInMeshScore +
//     MaxFirstDeliveriesScore) over topics.
//   - Each topic: DeriveTopicParams.
//   - TopicScoreCap, unless set: MaxPositiveScore / 2.
//   - P5: AppSpecificScore returns 0 and AppSpecificWeight is 1; the
//     application replaces the function with its own.
//   - P6: threshold from the budget, weight −TopicScoreCap (off at
//     threshold 0).
//   - P7: decay from BehaviourPenaltyDecay; weight such that a peer
//     misbehaving at BehaviourPenaltyRate settles at GossipThreshold
//     (off without a decay window).
//   - DecayInterval, DecayToZero, RetainScore from the budget; SeenMsgTTL
//     zero (pubsub's default), to be matched to the router by the caller.
//
// The results pass Validate; an error names the offending spec or budget
// field and matches ErrInvalidParams.
func DeriveParams(topics map[string]TopicSpec, budget ScoreBudget) (*Params, *Thresholds, error) {
	b := budget.withDefaults()
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	// Sum in a fixed order so that the budget, and every weight derived
	// from it, is the same to the last bit on every run.
	slices.Sort(names)
	if b.MaxPositiveScore == 0 {
		for _, name := range names {
			b.MaxPositiveScore += b.maxTopicScore(topics[name].Weight)
		}
	}
	if b.TopicScoreCap == 0 {
		b.TopicScoreCap = b.MaxPositiveScore / 2
	}
	if err := b.check(); err != nil {
		return nil, nil, err
	}

	p := &Params{
		Topics:            make(map[string]*TopicParams, len(topics)),
		TopicScoreCap:     b.TopicScoreCap,
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		DecayInterval:     b.DecayInterval,
		DecayToZero:       b.DecayToZero,
		RetainScore:       b.RetainScore,
	}
	for _, name := range names {
		tp, err := deriveTopic(name, topics[name], &b)
		if err != nil {
			return nil, nil, err
		}
		p.Topics[name] = tp
	}

	if b.IPColocationFactorThreshold > 0 {
		p.IPColocationFactorThreshold = b.IPColocationFactorThreshold
		p.IPColocationFactorWeight = -b.TopicScoreCap
	}

	if b.BehaviourPenaltyDecay != 0 {
		decay := b.decayFactor(b.BehaviourPenaltyDecay)
		excess := SteadyState(b.BehaviourPenaltyRate, decay) - b.BehaviourPenaltyThreshold
		if !(excess > 0) {
			return nil, nil, specError("", "ScoreBudget.BehaviourPenaltyRate", b.BehaviourPenaltyRate,
				"too low: its steady state does not exceed BehaviourPenaltyThreshold")
		}
		p.BehaviourPenaltyDecay = decay
		p.BehaviourPenaltyThreshold = b.BehaviourPenaltyThreshold
		p.BehaviourPenaltyWeight = SquaredPenaltyWeight(-b.Thresholds.GossipThreshold, 1, excess)
		if p.BehaviourPenaltyWeight == 0 {
			// A zero GossipThreshold leaves nothing to size P7 by; keep it
			// off rather than half-configured.
			p.BehaviourPenaltyDecay, p.BehaviourPenaltyThreshold = 0, 0
		}
	}

	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	t := *b.Thresholds
	return p, &t, nil
}

// allFinite reports whether every x is a finite number; used to catch a
// derivation that overflowed before Validate sees the result.
func allFinite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
