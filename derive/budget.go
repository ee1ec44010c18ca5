package derive

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/peerscore/peerscore"
)

// Defaults of the budget, used where a Budget field is zero. A caller that
// sets Budget.MaxPositiveScore itself (the Ethereum preset does, so that a
// topic registered under two fork digests counts once) computes it from
// these.
const (
	// DefaultMaxInMeshScore is the most P1 adds to a topic's score before
	// its weight.
	DefaultMaxInMeshScore = 10.0
	// DefaultMaxFirstDeliveriesScore is the most P2 adds to a topic's
	// score before its weight.
	DefaultMaxFirstDeliveriesScore = 40.0
	// DefaultRetainScore is how long a disconnected peer's score of zero
	// or less is kept: an hour, about the Ethereum clients' 100 epochs
	// (64 minutes), and as long as a ban.Monitor's default ban.
	DefaultRetainScore = time.Hour
)

// DefaultThresholds returns the thresholds the Ethereum consensus clients
// (Lighthouse, Teku, Lodestar, Prysm) all use: gossip -4000, publish -8000,
// graylist -16000, accept PX 100, opportunistic graft 5. They are sized for
// a budget of about a hundred points, whose squared penalties reach
// thousands of points within a few offences. Each call returns a new copy.
func DefaultThresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{
		GossipThreshold:             -4000,
		PublishThreshold:            -8000,
		GraylistThreshold:           -16000,
		AcceptPXThreshold:           100,
		OpportunisticGraftThreshold: 5,
	}
}

// Budget describes the scoring as a whole: the scale of rewards, the
// thresholds, and the global penalties. Params turns it, with one Topic
// per topic, into peerscore.Params and peerscore.Thresholds. Fields marked
// "zero:" take that default when left at zero; the zero Budget is valid.
type Budget struct {
	// DecayInterval is how often counters decay (Params.DecayInterval),
	// the unit of every "per interval" rate. At least one second. Zero:
	// pubsub.DefaultDecayInterval (1s). Ethereum: one slot.
	DecayInterval time.Duration

	// DecayToZero is the value a counter is rounded down to zero below,
	// and the value every decay window decays 1 to. In (0, 1). Zero:
	// pubsub.DefaultDecayToZero (0.01).
	DecayToZero float64

	// MaxInMeshScore is the most P1 adds to a topic's score, before its
	// weight. Positive. Zero: DefaultMaxInMeshScore (10).
	MaxInMeshScore float64

	// MaxFirstDeliveriesScore is the most P2 adds to a topic's score,
	// before its weight. Positive. Zero: DefaultMaxFirstDeliveriesScore
	// (40).
	MaxFirstDeliveriesScore float64

	// MaxPositiveScore is the most score a peer can earn from all topics:
	//
	//	MaxPositiveScore = Σ_topics Weight · (MaxInMeshScore + MaxFirstDeliveriesScore)
	//
	// Penalties are sized against it. Zero: Params computes it from its
	// topics, as above; TopicParams, which sees one topic, requires it.
	MaxPositiveScore float64

	// TopicScoreCap is Params.TopicScoreCap. Zero: MaxPositiveScore / 2,
	// so a peer earns at most half the budget from topics.
	TopicScoreCap float64

	// Thresholds are returned as they are, and GossipThreshold also sizes
	// P7. Nil: DefaultThresholds.
	Thresholds *peerscore.Thresholds

	// RetainScore is Params.RetainScore: how long a disconnected peer's
	// bad score is kept, so that it cannot come back clean by
	// reconnecting. Zero: DefaultRetainScore (an hour). Ethereum: 100
	// epochs. To forget disconnected peers at once, which is rarely
	// wanted, set the returned Params.RetainScore to 0.
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
	// misbehaviour tolerated before P7 applies. Not negative. Typical: 6.
	BehaviourPenaltyThreshold float64

	// BehaviourPenaltyRate is the misbehaviour rate, in penalties per
	// decay interval, that should on its own take a peer to
	// GossipThreshold. With decay the factor of BehaviourPenaltyDecay, the
	// P7 weight is
	//
	//	GossipThreshold / (SteadyState(rate, decay) − BehaviourPenaltyThreshold)²
	//
	// Positive when P7 is on, and high enough for the steady state to
	// exceed the threshold. Ethereum: 10 per epoch (10 / SlotsPerEpoch per
	// slot).
	BehaviourPenaltyRate float64
}

// withDefaults returns b with its zero fields filled in. MaxPositiveScore
// and TopicScoreCap stay as they are; they depend on the topics.
func (b Budget) withDefaults() Budget {
	if b.DecayInterval == 0 {
		b.DecayInterval = pubsub.DefaultDecayInterval
	}
	if b.DecayToZero == 0 {
		b.DecayToZero = pubsub.DefaultDecayToZero
	}
	if b.MaxInMeshScore == 0 {
		b.MaxInMeshScore = DefaultMaxInMeshScore
	}
	if b.MaxFirstDeliveriesScore == 0 {
		b.MaxFirstDeliveriesScore = DefaultMaxFirstDeliveriesScore
	}
	if b.Thresholds == nil {
		b.Thresholds = DefaultThresholds()
	}
	if b.RetainScore == 0 {
		b.RetainScore = DefaultRetainScore
	}
	return b
}

// check reports the first invalid field of a budget with defaults filled in.
func (b *Budget) check() error {
	switch {
	case b.DecayInterval < time.Second:
		return invalid("", "Budget.DecayInterval", b.DecayInterval, "must be at least 1s")
	case !isDecayFactor(b.DecayToZero):
		return invalid("", "Budget.DecayToZero", b.DecayToZero, ruleDecay)
	case !isPositive(b.MaxInMeshScore):
		return invalid("", "Budget.MaxInMeshScore", b.MaxInMeshScore, rulePositive)
	case !isPositive(b.MaxFirstDeliveriesScore):
		return invalid("", "Budget.MaxFirstDeliveriesScore", b.MaxFirstDeliveriesScore, rulePositive)
	case !isNonNegative(b.MaxPositiveScore):
		return invalid("", "Budget.MaxPositiveScore", b.MaxPositiveScore, ruleNonNegative)
	case !isNonNegative(b.TopicScoreCap):
		return invalid("", "Budget.TopicScoreCap", b.TopicScoreCap, ruleNonNegative)
	case b.RetainScore < 0:
		return invalid("", "Budget.RetainScore", b.RetainScore, "must not be negative")
	case b.IPColocationFactorThreshold < 0:
		return invalid("", "Budget.IPColocationFactorThreshold", b.IPColocationFactorThreshold, "must not be negative")
	}
	if err := b.Thresholds.Validate(); err != nil {
		return wrap(err)
	}
	if b.BehaviourPenaltyDecay != 0 {
		if err := b.checkWindow("Budget.BehaviourPenaltyDecay", "", b.BehaviourPenaltyDecay); err != nil {
			return err
		}
		if !isNonNegative(b.BehaviourPenaltyThreshold) {
			return invalid("", "Budget.BehaviourPenaltyThreshold", b.BehaviourPenaltyThreshold, ruleNonNegative)
		}
		if !isPositive(b.BehaviourPenaltyRate) {
			return invalid("", "Budget.BehaviourPenaltyRate", b.BehaviourPenaltyRate, rulePositive)
		}
	}
	return nil
}

// checkWindow checks a decay window: at least one decay interval, so that
// its factor is in (0, 1).
func (b *Budget) checkWindow(field, topic string, window time.Duration) error {
	if window < b.DecayInterval {
		return invalid(topic, field, window, "must be at least one DecayInterval ("+b.DecayInterval.String()+")")
	}
	return nil
}

// decayFactor is the factor that takes a counter from 1 to DecayToZero over
// window, in whole decay intervals (ScoreParameterDecayWithBase).
func (b *Budget) decayFactor(window time.Duration) float64 {
	return peerscore.ScoreParameterDecayWithBase(window, b.DecayInterval, b.DecayToZero)
}

// maxTopicScore is the most one topic of the given weight adds to a score.
func (b *Budget) maxTopicScore(topicWeight float64) float64 {
	return topicWeight * (b.MaxInMeshScore + b.MaxFirstDeliveriesScore)
}
