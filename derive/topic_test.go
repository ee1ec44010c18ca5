package derive_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/derive"
)

// handTopic and handBudget are chosen so every derived number is easy to
// check by hand: DecayToZero 0.25 makes a two-interval window decay by 0.5.
func handTopic() derive.Topic {
	return derive.Topic{
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

func handBudget() derive.Budget {
	return derive.Budget{DecayInterval: time.Second, DecayToZero: 0.25, MaxPositiveScore: 90}
}

func TestTopicParamsByHand(t *testing.T) {
	tp, err := derive.TopicParams(handTopic(), handBudget())
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

func TestTopicParamsOptions(t *testing.T) {
	t.Run("mesh deliveries off leaves P3 and P3b zero", func(t *testing.T) {
		spec := handTopic()
		spec.MeshDeliveries = false
		tp, err := derive.TopicParams(spec, handBudget())
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
		spec := handTopic()
		spec.MeshDeliveriesWeight = -0.5
		tp, err := derive.TopicParams(spec, handBudget())
		require.NoError(t, err)
		assert.Equal(t, -0.5, tp.MeshMessageDeliveriesWeight)
		assert.Equal(t, -0.5, tp.MeshFailurePenaltyWeight)
	})
	t.Run("defaults for fraction and cap factor", func(t *testing.T) {
		spec := handTopic()
		spec.MeshDeliveriesFraction = 0
		spec.MeshDeliveriesCapFactor = 0
		spec.MessagesPerInterval = 600
		tp, err := derive.TopicParams(spec, handBudget())
		require.NoError(t, err)
		// 600 / 50 = 12 per interval; threshold 0.5 · 12 / 0.5 = 12; cap
		// 4 · 12 = 48.
		assert.InDelta(t, 12, tp.MeshMessageDeliveriesThreshold, 1e-9)
		assert.InDelta(t, 48, tp.MeshMessageDeliveriesCap, 1e-9)
	})
	t.Run("cap floor of 2", func(t *testing.T) {
		spec := handTopic()
		spec.MessagesPerInterval = 0.5 // rate 0.25; threshold 0.5 · 0.25 / 0.5 = 0.25; 4 · 0.25 = 1 < 2
		tp, err := derive.TopicParams(spec, handBudget())
		require.NoError(t, err)
		assert.InDelta(t, 0.25, tp.MeshMessageDeliveriesThreshold, 1e-12)
		assert.Equal(t, 2.0, tp.MeshMessageDeliveriesCap)
	})
	t.Run("explicit quantum and default hour", func(t *testing.T) {
		spec := handTopic()
		spec.TimeInMeshQuantum = 12 * time.Second
		spec.MaxTimeInMesh = 0
		tp, err := derive.TopicParams(spec, handBudget())
		require.NoError(t, err)
		// 3600s / 12s = 300 quanta; 10 / 300.
		assert.Equal(t, 12*time.Second, tp.TimeInMeshQuantum)
		assert.InDelta(t, 300, tp.TimeInMeshCap, 1e-12)
		assert.InDelta(t, 10.0/300, tp.TimeInMeshWeight, 1e-12)
	})
}

func TestTopicParamsErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*derive.Topic, *derive.Budget)
		field  string
		topicy bool
	}{
		{"no budget", func(_ *derive.Topic, b *derive.Budget) { b.MaxPositiveScore = 0 }, "Budget.MaxPositiveScore", false},
		{"zero weight", func(s *derive.Topic, _ *derive.Budget) { s.Weight = 0 }, "Topic.Weight", true},
		{"NaN weight", func(s *derive.Topic, _ *derive.Budget) { s.Weight = math.NaN() }, "Topic.Weight", true},
		{"zero rate", func(s *derive.Topic, _ *derive.Budget) { s.MessagesPerInterval = 0 }, "Topic.MessagesPerInterval", true},
		{"no mesh degree", func(s *derive.Topic, _ *derive.Budget) { s.MeshDegree = 0 }, "Topic.MeshDegree", true},
		{"no first window", func(s *derive.Topic, _ *derive.Budget) { s.FirstDeliveriesDecay = 0 }, "Topic.FirstDeliveriesDecay", true},
		{"window below interval", func(s *derive.Topic, _ *derive.Budget) { s.InvalidDeliveriesDecay = 500 * time.Millisecond }, "Topic.InvalidDeliveriesDecay", true},
		{"no mesh window", func(s *derive.Topic, _ *derive.Budget) { s.MeshDeliveriesDecay = 0 }, "Topic.MeshDeliveriesDecay", true},
		{"short activation", func(s *derive.Topic, _ *derive.Budget) { s.MeshDeliveriesActivation = 0 }, "Topic.MeshDeliveriesActivation", true},
		{"positive mesh weight", func(s *derive.Topic, _ *derive.Budget) { s.MeshDeliveriesWeight = 1 }, "Topic.MeshDeliveriesWeight", true},
		{"negative delivery window", func(s *derive.Topic, _ *derive.Budget) { s.MeshDeliveriesWindow = -1 }, "Topic.MeshDeliveriesWindow", true},
		{"short decay interval", func(_ *derive.Topic, b *derive.Budget) { b.DecayInterval = time.Millisecond }, "Budget.DecayInterval", false},
		{"bad decay to zero", func(_ *derive.Topic, b *derive.Budget) { b.DecayToZero = 1 }, "Budget.DecayToZero", false},
		{"bad thresholds", func(_ *derive.Topic, b *derive.Budget) { b.Thresholds = &peerscore.Thresholds{GossipThreshold: 1} }, "GossipThreshold", false},
		{"overflow", func(s *derive.Topic, _ *derive.Budget) { s.Weight = 1e-310 }, "Topic.MessagesPerInterval", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, budget := handTopic(), handBudget()
			tt.edit(&spec, &budget)
			_, err := derive.TopicParams(spec, budget)
			require.Error(t, err)
			assert.ErrorIs(t, err, peerscore.ErrInvalidParams)
			var pe *peerscore.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field, err.Error())
			// One prefix, this package's, even for the thresholds'
			// error, which peerscore's Validate reports.
			assert.True(t, strings.HasPrefix(err.Error(), "peerscore/derive: "), err.Error())
			assert.NotContains(t, err.Error(), "peerscore: ")

			if !tt.topicy {
				return
			}
			// Through Params the same field is named, with its topic.
			_, _, err = derive.Params(map[string]derive.Topic{"t": spec}, budget)
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field, err.Error())
			assert.Equal(t, "t", pe.Topic, err.Error())
		})
	}

	// Through Params the error names the topic.
	spec := handTopic()
	spec.MeshDegree = 0
	_, _, err := derive.Params(map[string]derive.Topic{"blocks": spec}, handBudget())
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "blocks", pe.Topic)
	assert.Equal(t, `peerscore/derive: topic "blocks": Topic.MeshDegree = 0: must be at least 1`, err.Error())
}
