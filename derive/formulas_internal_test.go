package derive

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The weight formulas are unexported: Params and TopicParams apply them,
// and the package doc states them.
func TestWeightFormulas(t *testing.T) {
	// P1: 10 points after 300 quanta (an hour of 12s slots): 10/300.
	assert.InDelta(t, 1.0/30, rewardWeight(10, 300), 1e-12)
	// P2: 40 points at a cap of 20 deliveries: 2 per delivery.
	assert.InDelta(t, 2.0, rewardWeight(40, 20), 1e-12)

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
			w := squaredPenaltyWeight(tt.score, tt.topicWeight, tt.count)
			assert.InDelta(t, tt.want, w, 1e-12)
			// The weighted penalty at count is exactly −score.
			assert.InDelta(t, -tt.score, w*tt.count*tt.count*tt.topicWeight, 1e-9)
		})
	}
}
