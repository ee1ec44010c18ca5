package peerscore

import (
	"math"
	"time"
)

// Defaults pubsub uses for ScoreParameterDecay, and that New falls back to
// when SkipAtomicValidation leaves DecayInterval at zero.
const (
	defaultDecayInterval = time.Second
	defaultDecayToZero   = 0.01
)

// ScoreParameterDecay returns the decay factor that brings a counter from 1
// down to 0.01 in the given time, decaying once per second, pubsub's
// defaults for DecayToZero and DecayInterval. It equals pubsub.ScoreParameterDecay.
func ScoreParameterDecay(decay time.Duration) float64 {
	return ScoreParameterDecayWithBase(decay, defaultDecayInterval, defaultDecayToZero)
}

// ScoreParameterDecayWithBase returns the factor f such that a counter
// multiplied by f once per base interval falls from 1 to decayToZero after
// decay: f = decayToZero^(1/n) with n = decay/base whole intervals. A decay
// shorter than one interval gives 0 (the counter is gone at the next step).
// It equals pubsub.ScoreParameterDecayWithBase, except that a zero base,
// where pubsub divides by zero and panics, gives NaN, which Validate
// rejects wherever the result is used.
func ScoreParameterDecayWithBase(decay, base time.Duration, decayToZero float64) float64 {
	if base == 0 {
		return math.NaN()
	}
	intervals := float64(decay / base)
	return math.Pow(decayToZero, 1/intervals)
}
