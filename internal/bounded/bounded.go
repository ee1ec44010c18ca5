// Package bounded keeps floating-point scores within float64's range: a
// value held within ±MaxFloat64 (NaN counting as 0), and the power of two
// by which n values can be scaled so that no partial sum of them
// overflows. The scorer's score parts and the metrics' sums over peers
// both rely on it.
package bounded

import (
	"math"
	"math/bits"
)

// Finite holds x within ±MaxFloat64, NaN counting as 0, so that no sum of
// such values can become NaN.
func Finite(x float64) float64 {
	switch {
	case x != x:
		return 0
	case x > math.MaxFloat64:
		return math.MaxFloat64
	case x < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return x
}

// Scale is a power of two no larger than 1/n: n finite values times Scale
// add up without any partial sum overflowing. Scaling by a power of two is
// exact (but for subnormal values) and commutes with rounding, so a sum
// scaled down and back up has the plain sum's bits wherever the plain sum
// does not overflow.
func Scale(n int) float64 { return math.Ldexp(1, -bits.Len(uint(n))) }
