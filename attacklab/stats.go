package attacklab

import (
	"math"
	"slices"
	"time"
)

// Figures over seeds: medians, ranges, and the test that tells two arms'
// distributions apart.

// Spread is a figure over the seeds of a scenario in one arm.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// spreadOf summarises xs; the zero Spread when xs is empty.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return Spread{Median: median(s), Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// median of sorted values: the middle one, or the mean of the two middle
// ones.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// over maps every run to a figure.
func over(runs []*Result, f func(*Result) float64) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = f(r)
	}
	return out
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// mannWhitney returns the two-sided p-value of the Mann-Whitney U test
// that a and b come from one distribution (normal approximation with the
// tie correction; fine from about five values each), and whether a's
// values tend to be the larger.
func mannWhitney(a, b []float64) (p float64, aLarger bool) {
	n1, n2 := float64(len(a)), float64(len(b))
	if n1 == 0 || n2 == 0 {
		return 1, false
	}
	type v struct {
		x     float64
		fromA bool
	}
	all := make([]v, 0, len(a)+len(b))
	for _, x := range a {
		all = append(all, v{x, true})
	}
	for _, x := range b {
		all = append(all, v{x, false})
	}
	slices.SortFunc(all, func(p, q v) int {
		switch {
		case p.x < q.x:
			return -1
		case p.x > q.x:
			return 1
		}
		return 0
	})
	var rankA, ties float64
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].x == all[i].x {
			j++
		}
		rank := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			if all[k].fromA {
				rankA += rank
			}
		}
		t := float64(j - i + 1)
		ties += t*t*t - t
		i = j + 1
	}
	u := rankA - n1*(n1+1)/2
	mean := n1 * n2 / 2
	n := n1 + n2
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		return 1, false
	}
	z := (u - mean) / math.Sqrt(variance)
	return math.Erfc(math.Abs(z) / math.Sqrt2), u > mean
}
