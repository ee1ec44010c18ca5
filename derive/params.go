package derive

import (
	"maps"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Params derives complete peerscore.Params and peerscore.Thresholds from one
// Topic per topic (keyed by topic name) and the budget:
//
//   - MaxPositiveScore, unless set: Σ Weight · (MaxInMeshScore +
//     MaxFirstDeliveriesScore) over topics.
//   - Each topic: as TopicParams.
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
// The thresholds are the budget's (DefaultThresholds if nil), copied. The
// results pass Validate; an error names the offending Topic or Budget field
// and matches peerscore.ErrInvalidParams.
func Params(topics map[string]Topic, budget Budget) (*peerscore.Params, *peerscore.Thresholds, error) {
	b := budget.withDefaults()
	// Sum in a fixed order so that the budget, and every weight derived
	// from it, is the same to the last bit on every run.
	names := slices.Sorted(maps.Keys(topics))
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

	p := &peerscore.Params{
		Topics:            make(map[string]*peerscore.TopicParams, len(topics)),
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
	if err := b.deriveBehaviourPenalty(p); err != nil {
		return nil, nil, err
	}

	if err := p.Validate(); err != nil {
		return nil, nil, wrap(err)
	}
	t := *b.Thresholds
	return p, &t, nil
}

// deriveBehaviourPenalty sets P7 in p: off without a decay window, else
// weighted so that a peer misbehaving at BehaviourPenaltyRate settles at
// GossipThreshold.
func (b *Budget) deriveBehaviourPenalty(p *peerscore.Params) error {
	if b.BehaviourPenaltyDecay == 0 {
		return nil
	}
	decay := b.decayFactor(b.BehaviourPenaltyDecay)
	excess := SteadyState(b.BehaviourPenaltyRate, decay) - b.BehaviourPenaltyThreshold
	if !(excess > 0) {
		return invalid("", "Budget.BehaviourPenaltyRate", b.BehaviourPenaltyRate,
			"too low: its steady state does not exceed BehaviourPenaltyThreshold")
	}
	weight := squaredPenaltyWeight(-b.Thresholds.GossipThreshold, 1, excess)
	if weight == 0 {
		// A zero GossipThreshold leaves nothing to size P7 by; keep it off
		// rather than half-configured.
		return nil
	}
	p.BehaviourPenaltyDecay = decay
	p.BehaviourPenaltyThreshold = b.BehaviourPenaltyThreshold
	p.BehaviourPenaltyWeight = weight
	return nil
}
