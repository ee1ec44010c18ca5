package reputation_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/reputation"
)

// Many reporters and readers at once, with the decay loop stepping every
// millisecond and the bound forcing evictions: run with -race. Readers
// never see a value outside the scale or NaN; the bound holds; at the end
// every tracked peer's Score is what its Standing says once a decay step
// has published it.
func TestConcurrentReportsAndReads(t *testing.T) {
	const bound, peers, reporters, readers, reports = 128, 512, 4, 4, 5000
	r := newRep(t, reputation.WithMaxPeers(bound), reputation.WithReward(1, 5),
		reputation.WithFreeze(-50, time.Minute), reputation.WithDecayInterval(time.Millisecond),
		reputation.WithHalfLife(time.Second))
	r.Start(context.Background())
	ids := make([]peer.ID, peers)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("peer-%d", i))
	}
	actions := []reputation.Action{reputation.Low, reputation.Mid, reputation.High, reputation.Fatal, reputation.Useful}

	var done atomic.Bool
	var bad atomic.Value // first problem a reader found
	var readersWG, reportersWG sync.WaitGroup
	for i := range readers {
		readersWG.Go(func() {
			for j := i; !done.Load(); j++ {
				p := ids[j%peers]
				if v := r.Score(p); math.IsNaN(v) || v < reputation.MinValue || v > 5 {
					bad.CompareAndSwap(nil, fmt.Sprintf("Score(%s) = %v", p, v))
				}
				if j%64 == 0 {
					if st, ok := r.Standing(p); ok && len(st.Reasons) == 0 {
						bad.CompareAndSwap(nil, fmt.Sprintf("%s tracked without a reason", p))
					}
					_ = r.Reasons(p)
					if n := r.Len(); n > bound {
						bad.CompareAndSwap(nil, fmt.Sprintf("%d peers tracked, bound %d", n, bound))
					}
				}
			}
		})
	}
	for i := range reporters {
		reportersWG.Go(func() {
			for j := range reports {
				r.Report(ids[(i*7919+j*31)%peers], actions[(i+j)%len(actions)], fmt.Sprint("reason-", j%5))
			}
		})
	}
	reportersWG.Wait()
	done.Store(true)
	readersWG.Wait()
	require.NoError(t, r.Close())
	require.Nil(t, bad.Load())
	require.LessOrEqual(t, r.Len(), bound)
	require.Positive(t, r.Len())

	// Score holds the value as of the step; Standing decays it further by
	// however long has passed since, which bounds it from both sides.
	start := time.Now()
	reputation.DecayStep(r)
	for _, p := range ids {
		st, ok := r.Standing(p)
		if !ok {
			continue
		}
		v := r.Score(p)
		floor := math.Exp2(-time.Since(start).Seconds()) // the half-life is 1 s
		require.True(t, math.Abs(st.Value) <= math.Abs(v) && math.Abs(st.Value) >= math.Abs(v)*floor && st.Value*v > 0,
			"%s: Score %v, then Standing %v", p, v, st.Value)
	}
}
