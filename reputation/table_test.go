package reputation_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/reputation"
)

// The bound under churn, as a property over random report streams: reports
// about ten times more peers than the bound, with time passing and decay
// steps between them. After every report the tracked peers are within the
// bound and every value within the scale; whenever a new peer needs room,
// at least max(1, bound/16) places are freed, and the peers forgotten are
// the least bad: each had decayed to nothing or was at least as high as
// every peer kept. At the end the index has not grown with the churn.
func TestBoundUnderChurn(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { churn(t, seed) })
		})
	}
}

func churn(t *testing.T, seed uint64) {
	const bound, poolSize, steps = 64, 640, 2000
	rng := rand.New(rand.NewPCG(seed, 13))
	opts := []reputation.Option{reputation.WithMaxPeers(bound), reputation.WithReward(2, 10)}
	if seed%2 == 1 {
		opts = append(opts, reputation.WithFreeze(-50, 5*time.Minute))
	}
	r := newRep(t, opts...)
	pool := make([]peer.ID, poolSize)
	for i := range pool {
		pool[i] = peer.ID(fmt.Sprintf("peer-%d", i))
	}
	actions := []reputation.Action{reputation.Low, reputation.Low, reputation.Mid, reputation.High, reputation.Fatal, reputation.Useful, reputation.Useful}
	evicted := 0
	for range steps {
		switch rng.IntN(20) {
		case 0:
			time.Sleep(time.Duration(rng.IntN(600)) * time.Second)
		case 1:
			reputation.DecayStep(r)
		}
		p := pool[rng.IntN(poolSize)]
		a := actions[rng.IntN(len(actions))]
		_, known := r.Standing(p)
		if known || r.Len() < bound {
			r.Report(p, a, "churn")
		} else {
			evicted += reportAtBound(t, r, pool, p, a, bound)
		}
		require.LessOrEqual(t, r.Len(), bound)
		if v := r.Score(p); math.IsNaN(v) || v < reputation.MinValue || v > 10 {
			t.Fatalf("%s's value %v is outside [-100, 10]", p, v)
		}
	}
	require.Greater(t, evicted, 10*bound, "the bound was reached and peers above nothing were forgotten, often")
	require.LessOrEqual(t, reputation.IndexSize(r), 8*bound, "the index stays within 8 slots per tracked peer")
}

// reportAtBound reports about p, new, at the bound, and checks who was
// forgotten to make room for it.
// It returns how many peers above nothing were forgotten.
func reportAtBound(t *testing.T, r *reputation.Reputation, pool []peer.ID, p peer.ID, a reputation.Action, bound int) int {
	before := map[peer.ID]float64{}
	for _, q := range pool {
		if st, ok := r.Standing(q); ok {
			before[q] = st.Value
		}
	}
	negligibleBefore := r.Len() - len(before) // tracked, but decayed to nothing
	r.Report(p, a, "churn")
	var gone, kept []float64
	for q, v := range before {
		if _, ok := r.Standing(q); ok {
			kept = append(kept, v)
		} else {
			gone = append(gone, v)
		}
	}
	require.GreaterOrEqual(t, len(gone)+negligibleBefore, max(1, bound/16), "room made at the bound")
	if len(gone) > 0 && len(kept) > 0 {
		require.GreaterOrEqual(t, slices.Min(gone), slices.Max(kept), "a peer worse than one kept was forgotten")
	}
	return len(gone)
}

// kthLargest agrees with sorting, duplicates and all.
func TestKthLargest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + rng.IntN(50)
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = float64(rng.IntN(8)) - 4 // many ties
			if rng.IntN(4) == 0 {
				vals[i] = rng.NormFloat64()
			}
		}
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		slices.Reverse(sorted)
		k := 1 + rng.IntN(n)
		require.Equal(t, sorted[k-1], reputation.KthLargest(vals, k), "%d-th largest of %v", k, sorted)
	}
}
