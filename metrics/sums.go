package metrics

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/bounded"
)

// sums adds up the values of a scrape so that no metric is ever NaN or
// infinite. Scores can be ±Inf, and components near ±MaxFloat64 can add up
// beyond it: +Inf + -Inf would be NaN here, and an infinite series would
// make NaN of any query adding series up as soon as another has the
// opposite infinity. So every value is clamped to ±MaxFloat64 before it is
// added, the sums are kept at a scale where they cannot overflow, and each
// sum is clamped to ±MaxFloat64 when it is read.
//
// The scale is a power of two no larger than 1/n for n values, so a sum of
// n values of at most MaxFloat64 stays finite; scaling by a power of two is
// exact (short of subnormals), so values of usual size give exactly the
// plain sum's bits.
type sums struct{ scale float64 }

// newSums is sized for snaps: no sum adds more than one value per peer and
// topic, plus one per peer.
func newSums(snaps map[peer.ID]peerscore.Snapshot) sums {
	n := len(snaps)
	for _, snap := range snaps {
		n += len(snap.Topics)
	}
	return sums{scale: bounded.Scale(n)}
}

func (s sums) add(acc *float64, v float64) { *acc += finite(v) * s.scale }

func (s sums) value(acc float64) float64 { return finite(acc / s.scale) }

func finite(x float64) float64 { return bounded.Finite(x) }
