package derive_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore/derive"
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
			assert.InDelta(t, tt.steady, derive.SteadyState(tt.rate, tt.decay), 1e-9)
			assert.InDelta(t, tt.floor, derive.SteadyStateThreshold(tt.rate, tt.decay), 1e-9)
			// The floor is the steady state less one interval's events.
			assert.InDelta(t, derive.SteadyState(tt.rate, tt.decay)-tt.rate, derive.SteadyStateThreshold(tt.rate, tt.decay), 1e-9)
		})
	}
	assert.True(t, math.IsInf(derive.SteadyState(1, 1), 1), "decay 1 never settles")
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
	assert.InDelta(t, derive.SteadyState(rate, factor), x, 1e-9)                 // 3 / 0.2 = 15
	assert.InDelta(t, derive.SteadyStateThreshold(rate, factor), x*factor, 1e-9) // 15 · 0.8 = 12
}
