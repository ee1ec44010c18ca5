package metrics_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

// Was a bug: with extreme but valid weights the metrics export NaN. Scores
// may be ±Inf (a P5 of 1e308 × 10, or a topic score of MaxFloat64 plus a
// positive P5), and Collect added the scores of all peers into the
// histogram's sum and the components of all peers into
// peerscore_component_contribution: +Inf + -Inf = NaN, which a query
// summing series cannot recover from (and ±Inf in a gauge makes any sum
// across instances NaN as soon as another has the opposite infinity).
//
// Input: Params with one topic T (TopicWeight 1e308, P2 weight 1e308, P4
// weight -1e308), AppSpecificWeight 1e308, AppSpecificScore +10 for A and
// -10 for B, which Validate accepts; A delivers a message first in T, B
// delivers an invalid one; a scrape.
// Expected: no NaN and no ±Inf anywhere in the scrape: each value is
// clamped to ±MaxFloat64 before it is added, and each sum after. Before the
// fix: peerscore_score_sum, peerscore_component_contribution{p5} NaN.
func TestCollectNeverNaNOrInfinite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &peerscore.Params{
			Topics: map[string]*peerscore.TopicParams{"T": {
				TopicWeight:                  1e308,
				FirstMessageDeliveriesWeight: 1e308, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 10,
				TimeInMeshQuantum:              time.Second,
				InvalidMessageDeliveriesWeight: -1e308, InvalidMessageDeliveriesDecay: 0.5,
			}},
			AppSpecificScore: func(p peer.ID) float64 {
				if p == "A" {
					return 10
				}
				return -10
			},
			AppSpecificWeight: 1e308,
			DecayInterval:     time.Second, DecayToZero: 0.01,
		}
		require.NoError(t, p.Validate())
		s := scoretest.New(t, p, peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -1, PublishThreshold: -2, GraylistThreshold: -3}))
		scoretest.Connect(s, "A", "B")
		scoretest.Deliver(s, scoretest.Msg("T", "good", "A"))
		bad := scoretest.Msg("T", "bad", "B")
		s.Tracer().ValidateMessage(bad)
		s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
		require.Equal(t, math.Inf(1), s.Score("A"))
		require.Equal(t, math.Inf(-1), s.Score("B"))

		c, err := metrics.New(s)
		require.NoError(t, err)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		require.NoError(t, err)
		require.Empty(t, scoretest.NonFinite(mfs), "non-finite values in the scrape")

		sc := scoretest.Gather(t, reg)
		require.Equal(t, 0.0, sc.Metric(t, "peerscore_score").GetHistogram().GetSampleSum(), "MaxFloat64 + -MaxFloat64")
		require.Equal(t, 0.0, sc.Value(t, "peerscore_component_contribution", "component", "p5"))
		require.Equal(t, math.MaxFloat64, sc.Value(t, "peerscore_component_contribution", "component", "p2"))
		require.Equal(t, -math.MaxFloat64, sc.Value(t, "peerscore_component_contribution", "component", "p4"))
		require.Equal(t, -math.MaxFloat64, sc.Value(t, "peerscore_component_min", "component", "p5"))
	})
}
