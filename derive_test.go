package peerscore

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSteadyStateFormulas(t *testing.T) {
	tests := []struct {
		name          string
		rate, decay   float64
		steady, floor float64
	}{
		// 1 + 0.9 + 0.81 + … = 1 / (1 − 0.9) = 10; after the decay step
		// 10 · 0.9 = 9 (= 10 − 1).
		{"rate 1, decay 0.9", 1, 0.9, 10, 9},
		// 2 / (1 − 0.5) = 4; 4 · 0.5 = 2.
		{"rate 2, decay 0.5", 2, 0.5, 4, 2},
		// A counter wiped at every step holds just the last interval's
		// events: 0.125 / 1 = 0.125, and nothing after the step.
		{"decay 0", 0.125, 0, 0.125, 0},
		// 0.25 / (1 − 0.75) = 1; 1 · 0.75 = 0.75.
		{"rate 0.25, decay 0.75", 0.25, 0.75, 1, 0.75},
		// Ethereum voluntary exits: 2·(4/32)/8 = 0.03125 per slot, decay
		// over 100 epochs = 3200 slots: 0.01^(1/3200) = 0.998561919…;
		// 0.03125 / 0.001438081 = 21.7303528…
		{"Ethereum exits", 0.03125, math.Pow(0.01, 1.0/3200), 21.730352842860377, 21.699102842860377},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.steady, SteadyState(tt.rate, tt.decay), 1e-9)
			assert.InDelta(t, tt.floor, SteadyStateThreshold(tt.rate, tt.decay), 1e-9)
			// The floor is the steady state less one interval's events.
			assert.InDelta(t, SteadyState(tt.rate, tt.decay)-tt.rate, SteadyStateThreshold(tt.rate, tt.decay), 1e-9)
		})
	}
	assert.True(t, math.IsInf(SteadyState(1, 1), 1), "decay 1 never settles")
}

// A counter fed at a constant rate and decayed like the scorer does reaches
// the formulas' values: just after the events, SteadyState; just after the
// decay, SteadyStateThreshold.
func TestSteadyStateMatchesSimulation(t *testing.T) {
	const rate, factor = 3.0, 0.8
	x := 0.0
	for range 500 {
		x = x*factor + rate
	}
	assert.InDelta(t, SteadyState(rate, factor), x, 1e-9)                 // 3 / 0.2 = 15
	assert.InDelta(t, SteadyStateThreshold(rate, factor), x*factor, 1e-9) // 15 · 0.8 = 12
}

func TestDeriveWeightFormulas(t *testing.T) {
	// P1: 10 points after 300 quanta (an hour of 12s slots): 10/300.
	assert.InDelta(t, 1.0/30, RewardWeight(10, 300), 1e-12)
	// P2: 40 points at a cap of 20 deliveries: 2 per delivery.
	assert.InDelta(t, 2.0, RewardWeight(40, 20), 1e-12)

	tests := []struct {
		name                      string
		score, topicWeight, count float64
		want                      float64
	}{
		// P4: one invalid message on a 0.5-weight topic costs the 107.5
		// budget: −107.5 / (0.5 · 1²) = −215.
		{"P4 invalid", 107.5, 0.5, 1, -215},
		// P3: a threshold of 10 deliveries on a weight-1 topic with a
		// budget of 100: −100 / (1 · 10²) = −1.
		{"P3 deficit", 100, 1, 10, -1},
		// P7: gossip threshold −4000 at an excess of 20 penalties:
		// −4000 / 20² = −10.
		{"P7 behaviour", 4000, 1, 20, -10},
		// A small topic weight makes the weight larger: −50 / (0.25 · 2²) = −50.
		{"small topic", 50, 0.25, 2, -50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := SquaredPenaltyWeight(tt.score, tt.topicWeight, tt.count)
			assert.InDelta(t, tt.want, w, 1e-12)
			// The weighted penalty at count is exactly −score.
			assert.InDelta(t, -tt.score, w*tt.count*tt.count*tt.topicWeight, 1e-9)
		})
	}
}

// handSpec and handBudget are chosen so every derived number is easy to
// check by hand: DecayToZero 0.25 makes a two-interval window decay by 0.5.
func handSpec() TopicSpec {
	return TopicSpec{
		Weight:                   0.5,
		MessagesPerInterval:      6,
		MeshDegree:               6,
		MaxTimeInMesh:            100 * time.Second,
		FirstDeliveriesDecay:     2 * time.Second,
		MeshDeliveries:           true,
		MeshDeliveriesDecay:      2 * time.Second,
		MeshDeliveriesFraction:   0.5,
		MeshDeliveriesActivation: 5 * time.Second,
		MeshDeliveriesWindow:     10 * time.Millisecond,
		InvalidDeliveriesDecay:   4 * time.Second,
	}
}

func handBudget() ScoreBudget {
	return ScoreBudget{DecayInterval: time.Second, DecayToZero: 0.25, MaxPositiveScore: 90}
}

func TestDeriveTopicParamsByHand(t *testing.T) {
	tp, err := DeriveTopicParams(handSpec(), handBudget())
	require.NoError(t, err)
	require.NoError(t, tp.Validate())

	assert.Equal(t, 0.5, tp.TopicWeight)
	// P1: quantum defaults to the 1s interval; 100s / 1s = 100 quanta;
	// weight 10 / 100 = 0.1.
	assert.Equal(t, time.Second, tp.TimeInMeshQuantum)
	assert.InDelta(t, 100, tp.TimeInMeshCap, 1e-12)
	assert.InDelta(t, 0.1, tp.TimeInMeshWeight, 1e-12)
	// P2: 0.25^(1/2) = 0.5; share 2 · 6 / 6 = 2 per interval; cap
	// 2 / (1 − 0.5) = 4; weight 40 / 4 = 10.
	assert.InDelta(t, 0.5, tp.FirstMessageDeliveriesDecay, 1e-12)
	assert.InDelta(t, 4, tp.FirstMessageDeliveriesCap, 1e-12)
	assert.InDelta(t, 10, tp.FirstMessageDeliveriesWeight, 1e-12)
	// P3: decay 0.5; rate 0.5 · 6 = 3; threshold 0.5 · 3 / 0.5 = 3; cap
	// max(4 · 3, 2) = 12; weight −90 / (0.5 · 3²) = −20.
	assert.InDelta(t, 0.5, tp.MeshMessageDeliveriesDecay, 1e-12)
	assert.InDelta(t, 3, tp.MeshMessageDeliveriesThreshold, 1e-12)
	assert.InDelta(t, 12, tp.MeshMessageDeliveriesCap, 1e-12)
	assert.InDelta(t, -20, tp.MeshMessageDeliveriesWeight, 1e-12)
	assert.Equal(t, 5*time.Second, tp.MeshMessageDeliveriesActivation)
	assert.Equal(t, 10*time.Millisecond, tp.MeshMessageDeliveriesWindow)
	// P3b mirrors P3.
	assert.InDelta(t, -20, tp.MeshFailurePenaltyWeight, 1e-12)
	assert.InDelta(t, 0.5, tp.MeshFailurePenaltyDecay, 1e-12)
	// P4: 0.25^(1/4) = √0.5 = 0.70710678…; weight −90 / 0.5 = −180.
	assert.InDelta(t, math.Sqrt(0.5), tp.InvalidMessageDeliveriesDecay, 1e-12)
	assert.InDelta(t, -180, tp.InvalidMessageDeliveriesWeight, 1e-12)
}

func TestDeriveTopicParamsOptions(t *testing.T) {
	t.Run("mesh deliveries off leaves P3 and P3b zero", func(t *testing.T) {
		spec := handSpec()
		spec.MeshDeliveries = false
		tp, err := DeriveTopicParams(spec, handBudget())
		require.NoError(t, err)
		assert.Zero(t, tp.MeshMessageDeliveriesWeight)
		assert.Zero(t, tp.MeshMessageDeliveriesDecay)
		assert.Zero(t, tp.MeshMessageDeliveriesThreshold)
		assert.Zero(t, tp.MeshMessageDeliveriesCap)
		assert.Zero(t, tp.MeshMessageDeliveriesActivation)
		assert.Zero(t, tp.MeshMessageDeliveriesWindow)
		assert.Zero(t, tp.MeshFailurePenaltyWeight)
		assert.Zero(t, tp.MeshFailurePenaltyDecay)
	})
	t.Run("weight override", func(t *testing.T) {
		spec := handSpec()
		spec.MeshDeliveriesWeight = -0.5
		tp, err := DeriveTopicParams(spec, handBudget())
		require.NoError(t, err)
		assert.Equal(t, -0.5, tp.MeshMessageDeliveriesWeight)
		assert.Equal(t, -0.5, tp.MeshFailurePenaltyWeight)
	})
	t.Run("defaults for fraction and cap factor", func(t *testing.T) {
		spec := handSpec()
		spec.MeshDeliveriesFraction = 0
		spec.MeshDeliveriesCapFactor = 0
		spec.MessagesPerInterval = 600
		tp, err := DeriveTopicParams(spec, handBudget())
		require.NoError(t, err)
		// 600 / 50 = 12 per interval; threshold 0.5 · 12 / 0.5 = 12; cap
		// 4 · 12 = 48.
		assert.InDelta(t, 12, tp.MeshMessageDeliveriesThreshold, 1e-9)
		assert.InDelta(t, 48, tp.MeshMessageDeliveriesCap, 1e-9)
	})
	t.Run("cap floor of 2", func(t *testing.T) {
		spec := handSpec()
		spec.MessagesPerInterval = 0.5 // rate 0.25; threshold 0.5 · 0.25 / 0.5 = 0.25; 4 · 0.25 = 1 < 2
		tp, err := DeriveTopicParams(spec, handBudget())
		require.NoError(t, err)
		assert.InDelta(t, 0.25, tp.MeshMessageDeliveriesThreshold, 1e-12)
		assert.Equal(t, 2.0, tp.MeshMessageDeliveriesCap)
	})
	t.Run("explicit quantum and default hour", func(t *testing.T) {
		spec := handSpec()
		spec.TimeInMeshQuantum = 12 * time.Second
		spec.MaxTimeInMesh = 0
		tp, err := DeriveTopicParams(spec, handBudget())
		require.NoError(t, err)
		// 3600s / 12s = 300 quanta; 10 / 300.
		assert.Equal(t, 12*time.Second, tp.TimeInMeshQuantum)
		assert.InDelta(t, 300, tp.TimeInMeshCap, 1e-12)
		assert.InDelta(t, 10.0/300, tp.TimeInMeshWeight, 1e-12)
	})
}

func TestDeriveTopicParamsErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*TopicSpec, *ScoreBudget)
		field  string
		topicy bool
	}{
		{"no budget", func(_ *TopicSpec, b *ScoreBudget) { b.MaxPositiveScore = 0 }, "ScoreBudget.MaxPositiveScore", false},
		{"zero weight", func(s *TopicSpec, _ *ScoreBudget) { s.Weight = 0 }, "TopicSpec.Weight", true},
		{"NaN weight", func(s *TopicSpec, _ *ScoreBudget) { s.Weight = math.NaN() }, "TopicSpec.Weight", true},
		{"zero rate", func(s *TopicSpec, _ *ScoreBudget) { s.MessagesPerInterval = 0 }, "TopicSpec.MessagesPerInterval", true},
		{"no mesh degree", func(s *TopicSpec, _ *ScoreBudget) { s.MeshDegree = 0 }, "TopicSpec.MeshDegree", true},
		{"no first window", func(s *TopicSpec, _ *ScoreBudget) { s.FirstDeliveriesDecay = 0 }, "TopicSpec.FirstDeliveriesDecay", true},
		{"window below interval", func(s *TopicSpec, _ *ScoreBudget) { s.InvalidDeliveriesDecay = 500 * time.Millisecond }, "TopicSpec.InvalidDeliveriesDecay", true},
		{"no mesh window", func(s *TopicSpec, _ *ScoreBudget) { s.MeshDeliveriesDecay = 0 }, "TopicSpec.MeshDeliveriesDecay", true},
		{"short activation", func(s *TopicSpec, _ *ScoreBudget) { s.MeshDeliveriesActivation = 0 }, "TopicSpec.MeshDeliveriesActivation", true},
		{"positive mesh weight", func(s *TopicSpec, _ *ScoreBudget) { s.MeshDeliveriesWeight = 1 }, "TopicSpec.MeshDeliveriesWeight", true},
		{"negative delivery window", func(s *TopicSpec, _ *ScoreBudget) { s.MeshDeliveriesWindow = -1 }, "TopicSpec.MeshDeliveriesWindow", true},
		{"short decay interval", func(_ *TopicSpec, b *ScoreBudget) { b.DecayInterval = time.Millisecond }, "ScoreBudget.DecayInterval", false},
		{"bad decay to zero", func(_ *TopicSpec, b *ScoreBudget) { b.DecayToZero = 1 }, "ScoreBudget.DecayToZero", false},
		{"bad thresholds", func(_ *TopicSpec, b *ScoreBudget) { b.Thresholds = &Thresholds{GossipThreshold: 1} }, "GossipThreshold", false},
		{"overflow", func(s *TopicSpec, _ *ScoreBudget) { s.Weight = 1e-310 }, "TopicSpec.MessagesPerInterval", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, budget := handSpec(), handBudget()
			tt.edit(&spec, &budget)
			_, err := DeriveTopicParams(spec, budget)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidParams)
			var pe *ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field, err.Error())
		})
	}

	// Through DeriveParams the error names the topic.
	spec := handSpec()
	spec.MeshDegree = 0
	_, _, err := DeriveParams(map[string]TopicSpec{"blocks": spec}, handBudget())
	var pe *ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "blocks", pe.Topic)
	assert.Contains(t, err.Error(), `topic "blocks"`)
}

func TestDeriveParamsByHand(t *testing.T) {
	a := handSpec() // weight 0.5
	b := handSpec()
	b.Weight = 1
	b.MeshDeliveries = false
	budget := ScoreBudget{
		DecayInterval:               time.Second,
		DecayToZero:                 0.25,
		RetainScore:                 time.Hour,
		IPColocationFactorThreshold: 2,
		BehaviourPenaltyDecay:       2 * time.Second,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyRate:        5,
	}
	p, th, err := DeriveParams(map[string]TopicSpec{"a": a, "b": b}, budget)
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
	assert.Equal(t, DefaultThresholds(), *th)
}

func TestDeriveParamsDefaultsAndOff(t *testing.T) {
	spec := handSpec()
	spec.FirstDeliveriesDecay = time.Minute
	spec.MeshDeliveriesDecay = time.Minute
	spec.InvalidDeliveriesDecay = time.Hour
	p, th, err := DeriveParams(map[string]TopicSpec{"t": spec}, ScoreBudget{})
	require.NoError(t, err)
	require.NoError(t, p.Validate())
	assert.Equal(t, defaultDecayInterval, p.DecayInterval)
	assert.Equal(t, defaultDecayToZero, p.DecayToZero)
	// 0.01 over 60 intervals: the same factor as pubsub.ScoreParameterDecay.
	assert.Equal(t, ScoreParameterDecay(time.Minute), p.Topics["t"].FirstMessageDeliveriesDecay)
	// Budget 50 · 0.5 = 25; cap 12.5.
	assert.InDelta(t, 12.5, p.TopicScoreCap, 1e-12)
	// P6 and P7 off unless asked for.
	assert.Zero(t, p.IPColocationFactorWeight)
	assert.Zero(t, p.IPColocationFactorThreshold)
	assert.Zero(t, p.BehaviourPenaltyWeight)
	assert.Zero(t, p.BehaviourPenaltyDecay)
	assert.Equal(t, DefaultThresholds(), *th)

	// Explicit budget and cap are kept.
	p, _, err = DeriveParams(map[string]TopicSpec{"t": spec}, ScoreBudget{MaxPositiveScore: 200, TopicScoreCap: 30})
	require.NoError(t, err)
	assert.Equal(t, 30.0, p.TopicScoreCap)
	assert.InDelta(t, -400, p.Topics["t"].InvalidMessageDeliveriesWeight, 1e-12) // −200 / 0.5

	// The returned thresholds are a copy.
	mine := Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	_, th, err = DeriveParams(map[string]TopicSpec{"t": spec}, ScoreBudget{Thresholds: &mine})
	require.NoError(t, err)
	th.GossipThreshold = -1
	assert.Equal(t, -10.0, mine.GossipThreshold)

	// No topics at all still gives valid (if idle) params.
	p, _, err = DeriveParams(nil, ScoreBudget{})
	require.NoError(t, err)
	require.NoError(t, p.Validate())
}

func TestDeriveParamsBehaviourRateTooLow(t *testing.T) {
	budget := handBudget()
	budget.MaxPositiveScore = 0
	budget.BehaviourPenaltyDecay = 2 * time.Second
	budget.BehaviourPenaltyThreshold = 6
	budget.BehaviourPenaltyRate = 2 // steady state 2 / 0.5 = 4 < 6: never penalised
	_, _, err := DeriveParams(map[string]TopicSpec{"t": handSpec()}, budget)
	var pe *ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "ScoreBudget.BehaviourPenaltyRate", pe.Field)
	assert.True(t, errors.Is(err, ErrInvalidParams))
}

// Map order must not leak into the result: the budget is summed in a fixed
// order, so every run gives the same bits.
func TestDeriveParamsDeterministic(t *testing.T) {
	topics := map[string]TopicSpec{}
	for i, w := range []float64{0.1, 0.2, 0.3, 0.05, 0.015625, 0.7, 0.11} {
		s := handSpec()
		s.Weight = w
		topics[string(rune('a'+i))] = s
	}
	first, _, err := DeriveParams(topics, handBudget2())
	require.NoError(t, err)
	for range 20 {
		again, _, err := DeriveParams(topics, handBudget2())
		require.NoError(t, err)
		assert.Equal(t, first.TopicScoreCap, again.TopicScoreCap)
		for name := range topics {
			assert.Equal(t, first.Topics[name].InvalidMessageDeliveriesWeight, again.Topics[name].InvalidMessageDeliveriesWeight)
		}
	}
}

func handBudget2() ScoreBudget {
	b := handBudget()
	b.MaxPositiveScore = 0 // summed from the topics
	return b
}
