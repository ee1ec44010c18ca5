package peerscore

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSquareTimes pins how P3, P4 and P7 multiply: as pubsub does, to the
// bit, wherever pubsub's product is finite; the true product where only
// pubsub's intermediate square overflows; ±Inf (held at ±MaxFloat64 by the
// caller) only when the product itself is beyond float64.
func TestSquareTimes(t *testing.T) {
	for _, c := range []struct {
		x, w, want float64
	}{
		{3, -2, -18},
		{0, -1e308, 0},
		{1e200, -1e-300, -1e100}, // x·x overflows; x²·w does not
		{1e200, 1e-300, 1e100},
		{1e200, -1, math.Inf(-1)},
		{1e154, -1e300, math.Inf(-1)},
	} {
		got := squareTimes(c.x, c.w)
		if got != c.want && math.Abs(got-c.want) > 1e-15*math.Abs(c.want) {
			t.Errorf("squareTimes(%g, %g) = %g, want %g", c.x, c.w, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x := math.Ldexp(rng.Float64(), rng.IntN(400)-200)
		w := -math.Ldexp(rng.Float64(), rng.IntN(400)-200)
		if pubsub := x * x * w; !math.IsInf(pubsub, 0) && squareTimes(x, w) != pubsub {
			t.Fatalf("squareTimes(%g, %g) = %g, pubsub's %g", x, w, squareTimes(x, w), pubsub)
		}
	}
}
