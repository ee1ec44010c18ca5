//go:build peerscore_parity

package peerscore_test

// Compiled only by TestParityWithPubsub (parity_test.go), against a copy of
// go-libp2p-pubsub that exports its internal scorer as ParityScorer.

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// reference adapts pubsub's scorer to traceSubject.
type reference struct{ *pubsub.ParityScorer }

func (r reference) SetTopicParams(topic string, tp *peerscore.TopicParams) error {
	return r.ParityScorer.SetTopicParams(topic, tp.ToPubsub())
}

// TestParityTraces replays random traces into pubsub's scorer and into
// peerscore, under one fake clock, and compares every peer's score after
// every event.
func TestParityTraces(t *testing.T) {
	const traces, events = 60, 3000
	var compared, nonzero, negative int
	defer func() {
		t.Logf("%d score comparisons, %d non-zero, %d negative", compared, nonzero, negative)
		if nonzero < compared/4 || negative == 0 {
			t.Errorf("traces too tame to test anything: %d of %d scores non-zero, %d negative", nonzero, compared, negative)
		}
	}()
	for seed := uint64(1); seed <= traces; seed++ {
		tr := newTrace(seed, events)
		synctest.Test(t, func(t *testing.T) {
			ps := tr.params()
			mine, err := peerscore.New(ps)
			require.NoError(t, err)
			ref := reference{pubsub.NewParityScorer(ps.ToPubsub())}
			for i, e := range tr.events {
				if e.op == opAdvance {
					time.Sleep(e.advance)
					continue
				}
				tr.apply(wrapOurs(mine), e)
				tr.apply(ref, e)
				for _, p := range tr.peers {
					want, got := ref.Score(p), mine.Score(p)
					compared++
					if want != 0 {
						nonzero++
					}
					if want < 0 {
						negative++
					}
					if !sameScore(want, got) {
						t.Fatalf("seed %d event %d (%v): peer %s: pubsub %v, peerscore %v\n%s",
							seed, i, e, p, want, got, recent(tr, i))
					}
				}
			}
		})
	}
}

func sameScore(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func recent(tr *trace, i int) string {
	out := ""
	for k := max(0, i-15); k <= i; k++ {
		out += "  " + tr.events[k].String() + "\n"
	}
	return out
}
