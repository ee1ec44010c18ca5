package peerscore_test

// ScoreParameterDecay and ScoreParameterDecayWithBase (params_decay.go): to
// the bit what pubsub computes, and decay factors that reach DecayToZero in
// the given window.

import (
	"math"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

func TestDecayMatchesPubsub(t *testing.T) {
	windows := []time.Duration{0, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
		10 * time.Second, time.Minute, 100 * 12 * time.Second, time.Hour, -10 * time.Second}
	bases := []time.Duration{100 * time.Millisecond, time.Second, 12 * time.Second, time.Minute}
	zeros := []float64{0.01, 0.001, 0.1, 0.5}

	for _, w := range windows {
		assert.Equal(t, math.Float64bits(pubsub.ScoreParameterDecay(w)),
			math.Float64bits(peerscore.ScoreParameterDecay(w)), "ScoreParameterDecay(%v)", w)
		for _, b := range bases {
			for _, z := range zeros {
				want := pubsub.ScoreParameterDecayWithBase(w, b, z)
				got := peerscore.ScoreParameterDecayWithBase(w, b, z)
				assert.Equal(t, math.Float64bits(want), math.Float64bits(got),
					"ScoreParameterDecayWithBase(%v, %v, %v): ours %v, pubsub %v", w, b, z, got, want)
			}
		}
	}
}

func TestDecayValues(t *testing.T) {
	assert.InDelta(t, 0.6309573444801932, peerscore.ScoreParameterDecay(10*time.Second), 1e-15)
	assert.InDelta(t, 0.1, peerscore.ScoreParameterDecay(2*time.Second), 1e-15)
	// Partial intervals do not count: 2.5s at a 1s base is two intervals.
	assert.InDelta(t, 0.1, peerscore.ScoreParameterDecay(2500*time.Millisecond), 1e-15)
	assert.InDelta(t, 0.01, peerscore.ScoreParameterDecay(time.Second), 1e-15)
	assert.Equal(t, peerscore.ScoreParameterDecayWithBase(time.Minute, time.Second, 0.01),
		peerscore.ScoreParameterDecay(time.Minute))

	cases := []struct {
		name         string
		decay, base  time.Duration
		decayToZero  float64
		wantInterval int
	}{
		{"10s at 1s", 10 * time.Second, time.Second, 0.01, 10},
		{"1m at 1s", time.Minute, time.Second, 0.01, 60},
		{"100 slots", 1200 * time.Second, 12 * time.Second, 0.01, 100},
		{"1h at 1m to 0.001", time.Hour, time.Minute, 0.001, 60},
		{"1s at 100ms to 0.1", time.Second, 100 * time.Millisecond, 0.1, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := peerscore.ScoreParameterDecayWithBase(c.decay, c.base, c.decayToZero)
			require.True(t, f > 0 && f < 1, "factor %v", f)
			v := 1.0
			for range c.wantInterval {
				v *= f
			}
			assert.InDelta(t, c.decayToZero, v, 1e-12)
		})
	}

	// A window shorter than one interval, or none, forgets at the next step.
	assert.Equal(t, 0.0, peerscore.ScoreParameterDecayWithBase(500*time.Millisecond, time.Second, 0.01))
	assert.Equal(t, 0.0, peerscore.ScoreParameterDecayWithBase(0, time.Second, 0.01))
	// A zero base is where pubsub divides by zero; ours gives NaN.
	assert.True(t, math.IsNaN(peerscore.ScoreParameterDecayWithBase(10*time.Second, 0, 0.01)))
	assert.True(t, math.IsNaN(peerscore.ScoreParameterDecayWithBase(0, 0, 0.01)))
}
