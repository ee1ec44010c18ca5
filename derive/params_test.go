package derive_test

import (
	"errors"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/derive"
)

func TestParamsByHand(t *testing.T) {
	a := handTopic() // weight 0.5
	b := handTopic()
	b.Weight = 1
	b.MeshDeliveries = false
	budget := derive.Budget{
		DecayInterval:               time.Second,
		DecayToZero:                 0.25,
		RetainScore:                 time.Hour,
		IPColocationFactorThreshold: 2,
		BehaviourPenaltyDecay:       2 * time.Second,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyRate:        5,
	}
	p, th, err := derive.Params(map[string]derive.Topic{"a": a, "b": b}, budget)
	require.NoError(t, err)
	require.NoError(t, p.Validate())
	require.NoError(t, th.Validate())

	// Budget: (10 + 40) · (0.5 + 1) = 75; topic cap 75 / 2 = 37.5.
	assert.InDelta(t, 37.5, p.TopicScoreCap, 1e-12)
	// P4 of topic a: −75 / 0.5 = −150; of b: −75 / 1 = −75.
	assert.InDelta(t, -150, p.Topics["a"].InvalidMessageDeliveriesWeight, 1e-12)
	assert.InDelta(t, -75, p.Topics["b"].InvalidMessageDeliveriesWeight, 1e-12)
	// P3 of a: threshold 3 as in the single-topic case; −75 / (0.5 · 9) = −16.67.
	assert.InDelta(t, -75/4.5, p.Topics["a"].MeshMessageDeliveriesWeight, 1e-12)
	assert.Zero(t, p.Topics["b"].MeshMessageDeliveriesWeight)
	// P5: a placeholder returning 0, weight 1.
	require.NotNil(t, p.AppSpecificScore)
	assert.Zero(t, p.AppSpecificScore(""))
	assert.Equal(t, 1.0, p.AppSpecificWeight)
	// P6: threshold 2, weight −37.5.
	assert.Equal(t, 2, p.IPColocationFactorThreshold)
	assert.InDelta(t, -37.5, p.IPColocationFactorWeight, 1e-12)
	// P7: decay 0.25^(1/2) = 0.5; steady state 5 / 0.5 = 10; excess
	// 10 − 6 = 4; weight −4000 / 4² = −250.
	assert.InDelta(t, 0.5, p.BehaviourPenaltyDecay, 1e-12)
	assert.Equal(t, 6.0, p.BehaviourPenaltyThreshold)
	assert.InDelta(t, -250, p.BehaviourPenaltyWeight, 1e-12)
	// A peer misbehaving at that rate ends up at the gossip threshold.
	assert.InDelta(t, th.GossipThreshold, p.BehaviourPenaltyWeight*4*4, 1e-9)

	assert.Equal(t, time.Second, p.DecayInterval)
	assert.Equal(t, 0.25, p.DecayToZero)
	assert.Equal(t, time.Hour, p.RetainScore)
	assert.Equal(t, derive.DefaultThresholds(), th)
}

func TestParamsDefaultsAndOff(t *testing.T) {
	spec := handTopic()
	spec.FirstDeliveriesDecay = time.Minute
	spec.MeshDeliveriesDecay = time.Minute
	spec.InvalidDeliveriesDecay = time.Hour
	p, th, err := derive.Params(map[string]derive.Topic{"t": spec}, derive.Budget{})
	require.NoError(t, err)
	require.NoError(t, p.Validate())
	assert.Equal(t, pubsub.DefaultDecayInterval, p.DecayInterval)
	assert.Equal(t, pubsub.DefaultDecayToZero, p.DecayToZero)
	// 0.01 over 60 intervals: the same factor as pubsub.ScoreParameterDecay.
	assert.Equal(t, peerscore.ScoreParameterDecay(time.Minute), p.Topics["t"].FirstMessageDeliveriesDecay)
	// Budget 50 · 0.5 = 25; cap 12.5.
	assert.InDelta(t, 12.5, p.TopicScoreCap, 1e-12)
	// The defect: RetainScore was 0 here, so a disconnected spammer was
	// forgotten at once and came back clean (and ban.WithBanForRetainScore
	// refused it). The zero budget retains peers for DefaultRetainScore.
	assert.Equal(t, derive.DefaultRetainScore, p.RetainScore)
	assert.Equal(t, time.Hour, p.RetainScore)
	// P6 and P7 off unless asked for.
	assert.Zero(t, p.IPColocationFactorWeight)
	assert.Zero(t, p.IPColocationFactorThreshold)
	assert.Zero(t, p.BehaviourPenaltyWeight)
	assert.Zero(t, p.BehaviourPenaltyDecay)
	assert.Equal(t, derive.DefaultThresholds(), th)

	// Explicit budget and cap are kept.
	p, _, err = derive.Params(map[string]derive.Topic{"t": spec}, derive.Budget{MaxPositiveScore: 200, TopicScoreCap: 30})
	require.NoError(t, err)
	assert.Equal(t, 30.0, p.TopicScoreCap)
	assert.InDelta(t, -400, p.Topics["t"].InvalidMessageDeliveriesWeight, 1e-12) // −200 / 0.5

	// DefaultThresholds gives a new copy each time.
	mutated := derive.DefaultThresholds()
	mutated.GossipThreshold = -1
	assert.Equal(t, -4000.0, derive.DefaultThresholds().GossipThreshold)

	// The returned thresholds are a copy.
	mine := peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	_, th, err = derive.Params(map[string]derive.Topic{"t": spec}, derive.Budget{Thresholds: &mine})
	require.NoError(t, err)
	th.GossipThreshold = -1
	assert.Equal(t, -10.0, mine.GossipThreshold)

	// No topics at all still gives valid (if idle) params.
	p, _, err = derive.Params(nil, derive.Budget{})
	require.NoError(t, err)
	require.NoError(t, p.Validate())
}

func TestParamsBehaviourRateTooLow(t *testing.T) {
	budget := handBudget()
	budget.MaxPositiveScore = 0
	budget.BehaviourPenaltyDecay = 2 * time.Second
	budget.BehaviourPenaltyThreshold = 6
	budget.BehaviourPenaltyRate = 2 // steady state 2 / 0.5 = 4 < 6: never penalised
	_, _, err := derive.Params(map[string]derive.Topic{"t": handTopic()}, budget)
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "Budget.BehaviourPenaltyRate", pe.Field)
	assert.True(t, errors.Is(err, peerscore.ErrInvalidParams))
}

// Map order must not leak into the result: the budget is summed in a fixed
// order, so every run gives the same bits.
func TestParamsDeterministic(t *testing.T) {
	topics := map[string]derive.Topic{}
	for i, w := range []float64{0.1, 0.2, 0.3, 0.05, 0.015625, 0.7, 0.11} {
		s := handTopic()
		s.Weight = w
		topics[string(rune('a'+i))] = s
	}
	first, _, err := derive.Params(topics, handBudgetFromTopics())
	require.NoError(t, err)
	for range 20 {
		again, _, err := derive.Params(topics, handBudgetFromTopics())
		require.NoError(t, err)
		assert.Equal(t, first.TopicScoreCap, again.TopicScoreCap)
		for name := range topics {
			assert.Equal(t, first.Topics[name].InvalidMessageDeliveriesWeight, again.Topics[name].InvalidMessageDeliveriesWeight)
		}
	}
}

func handBudgetFromTopics() derive.Budget {
	b := handBudget()
	b.MaxPositiveScore = 0 // summed from the topics
	return b
}
