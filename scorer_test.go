package peerscore_test

// SetTopicParams, and the copies New and SetTopicParams keep of their
// parameters.

import (
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestSetTopicParamsAddsTopic checks that a topic added with
// SetTopicParams is scored from then on.
func TestSetTopicParamsAddsTopic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 10)}))
		scoretest.Connect(s, "A")
		scoretest.DeliverN(s, "N", "before", "A", 3)
		require.Empty(t, scoretest.Snap(t, s, "A").Topics, "N is not scored yet")

		require.NoError(t, s.SetTopicParams("N", scoretest.FirstTopic(1, 2, 10)))
		require.Equal(t, 0.0, s.Score("A"), "earlier events on N are not counted retroactively")
		scoretest.DeliverN(s, "N", "after", "A", 2)
		require.Equal(t, 2.0, scoretest.Topic(t, s, "A", "N").FirstMessageDeliveries)
		scoretest.Near(t, 4, s.Score("A"), "2 deliveries at weight 2")
	})
}

// TestSetTopicParamsReplaces checks that replacing a topic's parameters
// applies the new weights at once and brings counters above a lowered cap
// down to it, and that raising a cap again does not restore them.
func TestSetTopicParamsReplaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := func(firstWeight, firstCap, meshCap float64, quantum time.Duration) *peerscore.TopicParams {
			return &peerscore.TopicParams{
				SkipAtomicValidation:            true,
				TopicWeight:                     1,
				TimeInMeshWeight:                0.1,
				TimeInMeshQuantum:               quantum,
				TimeInMeshCap:                   100,
				FirstMessageDeliveriesWeight:    firstWeight,
				FirstMessageDeliveriesDecay:     0.5,
				FirstMessageDeliveriesCap:       firstCap,
				MeshMessageDeliveriesWeight:     -1,
				MeshMessageDeliveriesDecay:      0.5,
				MeshMessageDeliveriesCap:        meshCap,
				MeshMessageDeliveriesThreshold:  2,
				MeshMessageDeliveriesActivation: time.Hour,
			}
		}
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": tp(1, 20, 20, time.Second)}))
		scoretest.Connect(s, "A")
		s.Tracer().Graft("A", "T")
		time.Sleep(6 * time.Second)
		s.Refresh()
		scoretest.DeliverN(s, "T", "m", "A", 8)
		// P1 = 6 quanta * 0.1, P2 = 8.
		ts := scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 8.0, ts.FirstMessageDeliveries)
		require.Equal(t, 8.0, ts.MeshMessageDeliveries)
		scoretest.Near(t, 0.6+8, s.Score("A"), "before the change")

		// New caps 3 and 4, P2 weight 2, quantum 2s: counters 3 and 4,
		// P1 = 3 quanta * 0.1, P2 = 2 * 3, at once.
		require.NoError(t, s.SetTopicParams("T", tp(2, 3, 4, 2*time.Second)))
		ts = scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 3.0, ts.FirstMessageDeliveries)
		require.Equal(t, 4.0, ts.MeshMessageDeliveries)
		scoretest.Near(t, 0.3, ts.P1, "P1 with the new quantum")
		scoretest.Near(t, 6, ts.P2, "P2 with the new weight")
		scoretest.Near(t, 0.3+6, s.Score("A"), "after the change")

		// Raising the caps again keeps the counters where they are.
		require.NoError(t, s.SetTopicParams("T", tp(2, 20, 20, 2*time.Second)))
		ts = scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 3.0, ts.FirstMessageDeliveries)
		require.Equal(t, 4.0, ts.MeshMessageDeliveries)
		scoretest.DeliverN(s, "T", "more", "A", 1)
		require.Equal(t, 4.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		require.Equal(t, 5.0, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
	})
}

// TestSetTopicParamsInvalid tabulates parameters SetTopicParams must
// refuse, with an error naming the topic and the field, changing nothing.
func TestSetTopicParamsInvalid(t *testing.T) {
	valid := func() *peerscore.TopicParams { return scoretest.FirstTopic(1, 1, 10) }
	rows := []struct {
		name  string
		tp    func() *peerscore.TopicParams
		field string
	}{
		{"nil", func() *peerscore.TopicParams { return nil }, "TopicParams"},
		{"negative topic weight", func() *peerscore.TopicParams { p := valid(); p.TopicWeight = -1; return p }, "TopicWeight"},
		{"decay above 1", func() *peerscore.TopicParams { p := valid(); p.FirstMessageDeliveriesDecay = 1.5; return p }, "FirstMessageDeliveriesDecay"},
		{"zero cap", func() *peerscore.TopicParams { p := valid(); p.FirstMessageDeliveriesCap = 0; return p }, "FirstMessageDeliveriesCap"},
		{"positive P3 weight", func() *peerscore.TopicParams { p := valid(); p.MeshMessageDeliveriesWeight = 1; return p }, "MeshMessageDeliveriesWeight"},
		{"NaN P4 weight", func() *peerscore.TopicParams { p := valid(); p.InvalidMessageDeliveriesWeight = math.NaN(); return p }, "InvalidMessageDeliveriesWeight"},
		{"P1 without a quantum", func() *peerscore.TopicParams {
			p := valid()
			p.TimeInMeshWeight, p.TimeInMeshCap = 1, 10
			return p
		}, "TimeInMeshQuantum"},
		{"P3 activation under 1s", func() *peerscore.TopicParams {
			p := valid()
			p.MeshMessageDeliveriesWeight = -1
			p.MeshMessageDeliveriesDecay = 0.5
			p.MeshMessageDeliveriesCap = 5
			p.MeshMessageDeliveriesThreshold = 1
			p.MeshMessageDeliveriesActivation = 500 * time.Millisecond
			return p
		}, "MeshMessageDeliveriesActivation"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": valid()}))
				scoretest.Connect(s, "A")
				scoretest.DeliverN(s, "T", "m", "A", 2)
				before := scoretest.Snap(t, s, "A")

				for _, topic := range []string{"T", "New"} {
					err := s.SetTopicParams(topic, row.tp())
					require.Error(t, err, "topic %s", topic)
					require.ErrorIs(t, err, peerscore.ErrInvalidParams)
					var pe *peerscore.ParamError
					require.True(t, errors.As(err, &pe), "a *ParamError: %v", err)
					require.Equal(t, topic, pe.Topic)
					require.Equal(t, row.field, pe.Field)
					require.Contains(t, err.Error(), topic)
					require.Contains(t, err.Error(), row.field)
				}

				require.Equal(t, before, scoretest.Snap(t, s, "A"), "nothing changed")
				// The old parameters still apply, and "New" is still
				// not scored.
				scoretest.DeliverN(s, "T", "later", "A", 1)
				scoretest.DeliverN(s, "New", "later", "A", 1)
				snap := scoretest.Snap(t, s, "A")
				require.Len(t, snap.Topics, 1)
				scoretest.Near(t, 3, snap.Score, "three deliveries at the old weight 1")
			})
		})
	}
}

// TestNewKeepsItsOwnCopy checks that New and SetTopicParams copy their
// parameters: changing them afterwards changes nothing.
func TestNewKeepsItsOwnCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 10)})
		params.AppSpecificScore = func(peer.ID) float64 { return 1 }
		params.AppSpecificWeight = 1
		s := scoretest.New(t, params)

		params.Topics["T"].FirstMessageDeliveriesWeight = 100
		params.Topics["U"] = scoretest.FirstTopic(1, 1, 10)
		params.AppSpecificWeight = 50
		params.AppSpecificScore = func(peer.ID) float64 { return 7 }
		params.TopicScoreCap = 0.5

		scoretest.Connect(s, "A")
		scoretest.DeliverN(s, "T", "t", "A", 2)
		scoretest.DeliverN(s, "U", "u", "A", 1)
		scoretest.Near(t, 2+1, s.Score("A"), "2 deliveries in T at weight 1, P5 1")

		tp := scoretest.FirstTopic(1, 2, 10)
		require.NoError(t, s.SetTopicParams("T", tp))
		tp.FirstMessageDeliveriesWeight = 100
		tp.FirstMessageDeliveriesCap = 1
		scoretest.DeliverN(s, "T", "t2", "A", 1)
		scoretest.Near(t, 3*2+1, s.Score("A"), "3 deliveries in T at weight 2, P5 1")
	})
}
