package reputation_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
// max(1, bound/16) places are freed if that many peers are not frozen
// (all that are not, otherwise, and the report is refused if none), and
// the peers forgotten are never frozen and are the least severe: each had
// decayed to nothing, or its last report left it at least as high as
// every unfrozen peer kept, and if as high, it was tracked later. At the
// end the index has not grown with the churn.
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
	r := newRep(t, append(opts, reputation.WithLogger(slog.New(slog.DiscardHandler)))...)
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
		_, _, _, known := reputation.Severity(r, p) // tracked, if only decayed to nothing
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

// severity is what a peer is ranked by when room is made.
type severity struct {
	value  float64
	seq    uint64
	frozen bool
}

// milder reports whether a goes before b.
func (a severity) milder(b severity) bool {
	if a.value != b.value {
		return a.value > b.value
	}
	return a.seq > b.seq
}

// reportAtBound reports about p, new, at the bound, and checks who was
// forgotten to make room for it.
// It returns how many peers above nothing were forgotten.
func reportAtBound(t *testing.T, r *reputation.Reputation, pool []peer.ID, p peer.ID, a reputation.Action, bound int) int {
	before := map[peer.ID]severity{}
	unfrozen := 0
	for _, q := range pool {
		if _, ok := r.Standing(q); !ok {
			continue
		}
		v, seq, frozen, _ := reputation.Severity(r, q)
		before[q] = severity{v, seq, frozen}
		if !frozen {
			unfrozen++
		}
	}
	negligibleBefore := r.Len() - len(before) // tracked, but decayed to nothing
	r.Report(p, a, "churn")
	var gone, kept []severity
	for q, sev := range before {
		if _, ok := r.Standing(q); ok {
			kept = append(kept, sev)
		} else {
			gone = append(gone, sev)
		}
	}
	want := max(1, bound/16)
	require.GreaterOrEqual(t, len(gone)+negligibleBefore, min(want, unfrozen+negligibleBefore), "room made at the bound")
	if len(gone)+negligibleBefore == 0 {
		_, tracked := r.Standing(p)
		require.False(t, tracked, "a report with no room was kept")
	}
	for _, g := range gone {
		require.False(t, g.frozen, "a frozen peer was forgotten")
		for _, k := range kept {
			if !k.frozen {
				require.True(t, g.milder(k), "a peer more severe than one kept was forgotten: %+v, %+v", g, k)
			}
		}
	}
	return len(gone)
}

// selectFirst agrees with sorting.
func TestSelectFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type item struct {
		v   float64
		seq int
	}
	before := func(a, b item) bool {
		if a.v != b.v {
			return a.v > b.v
		}
		return a.seq > b.seq
	}
	for range 2000 {
		n := 1 + rng.IntN(50)
		items := make([]item, n)
		for i := range items {
			items[i] = item{v: float64(rng.IntN(8)) - 4, seq: i} // many equal values
			if rng.IntN(4) == 0 {
				items[i].v = rng.NormFloat64()
			}
		}
		sorted := slices.Clone(items)
		slices.SortFunc(sorted, func(a, b item) int {
			if before(a, b) {
				return -1
			}
			return 1
		})
		k := 1 + rng.IntN(n)
		reputation.SelectFirst(items, k, before)
		require.ElementsMatch(t, sorted[:k], items[:k], "the first %d of %v", k, sorted)
	}
}

// The defect: a Fatal report, then 4,096 Fatal reports about fresh IDs,
// and the offender was forgotten and scored 0, with WithFreeze too: room
// went to the highest value first, and the older Fatal had decayed a
// little above -100. Under a flood, a record that has aged is not taken
// for a milder one: peers are ranked by the value their last report left
// them at, and among equals the most recently tracked goes first, so the
// flood pushes out its own members and the offender stays.
func TestFloodKeepsWorstOffender(t *testing.T) {
	for name, opts := range map[string][]reputation.Option{
		"no freeze": nil,
		"freeze":    {reputation.WithFreeze(-50, 12*time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRep(t, append(opts, reputation.WithLogger(slog.New(slog.DiscardHandler)))...)
				offender := peer.ID("offender")
				r.Report(offender, reputation.Fatal, "wrong network")
				time.Sleep(time.Minute)
				reputation.DecayStep(r)
				for i := range reputation.DefaultMaxPeers {
					r.Report(peer.ID(fmt.Sprintf("fresh-%d", i)), reputation.Fatal, "wrong network")
				}
				require.LessOrEqual(t, r.Len(), reputation.DefaultMaxPeers)
				st, ok := r.Standing(offender)
				require.True(t, ok, "the offender was forgotten")
				require.Less(t, st.Value, -90.0)
				require.Less(t, r.Score(offender), -90.0)
			})
		})
	}
}

// Under WithFreeze, a frozen peer is never forgotten before its freeze
// ends, however full the table: while every tracked peer is frozen, a
// report about a new peer is not tracked (and is counted in
// Stats().Untracked); once freezes end, new peers get room again.
func TestFrozenPeersNeverEvicted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound = 16
		var logs bytes.Buffer
		r := newRep(t, reputation.WithMaxPeers(bound), reputation.WithFreeze(-50, time.Hour),
			reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		for i := range bound {
			r.Report(peer.ID(fmt.Sprintf("frozen-%d", i)), reputation.Fatal, "x")
		}
		time.Sleep(time.Minute)
		r.Report("newcomer", reputation.Fatal, "x")
		require.Equal(t, bound, r.Len())
		require.Zero(t, r.Score("newcomer"))
		for i := range bound {
			require.Equal(t, reputation.MinValue, r.Score(peer.ID(fmt.Sprintf("frozen-%d", i))), "frozen-%d", i)
		}
		r.Report("another", reputation.Low, "x")
		require.Equal(t, uint64(2), r.Stats().Untracked)
		require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())

		time.Sleep(time.Hour) // the freezes end
		r.Report("newcomer", reputation.Fatal, "x")
		require.Equal(t, reputation.MinValue, r.Score("newcomer"))
		require.LessOrEqual(t, r.Len(), bound)
	})
}
