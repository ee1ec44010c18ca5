package peerscore_test

// Refresh (decay.go): every counter decays by its factor and snaps to zero
// below DecayToZero. The decay of each component is also followed in its own
// scenario tests; retained peers' counters do not decay (retained_test.go).

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreBehaviourPenaltyDecay checks that the P7 counter decays at each
// Refresh and that AddPenalty does not create peers.
func TestScoreBehaviourPenaltyDecay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.Params(nil)
		params.BehaviourPenaltyWeight = -2
		params.BehaviourPenaltyThreshold = 1.5
		params.BehaviourPenaltyDecay = 0.5
		s := scoretest.New(t, params)
		scoretest.Connect(s, "A")
		s.AddPenalty("A", 4)
		scoretest.Near(t, -12.5, s.Score("A"), "(4-1.5)² * -2")

		s.Refresh() // 2: (0.5)² * -2
		require.Equal(t, 2.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
		scoretest.Near(t, -0.5, s.Score("A"), "after one decay")
		s.Refresh() // 1: under the threshold
		require.Equal(t, 1.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
		require.Equal(t, 0.0, s.Score("A"))
		// 1 * 0.5^6 = 0.015625 is above 0.01; the seventh halving snaps.
		for range 6 {
			s.Refresh()
		}
		require.Equal(t, 0.015625, scoretest.Snap(t, s, "A").BehaviourPenalty)
		s.Refresh()
		require.Equal(t, 0.0, scoretest.Snap(t, s, "A").BehaviourPenalty)

		s.AddPenalty("Z", 5)
		scoretest.RequireUnknown(t, s, "Z")
	})
}

// TestScoreMeshDeliveriesDecayToZero checks that the P3 counter snaps to
// zero once it decays below DecayToZero (0.01).
func TestScoreMeshDeliveriesDecayToZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.MeshTopic(1)}))
		scoretest.Connect(s, "A")
		s.Tracer().Graft("A", "T")
		scoretest.DeliverN(s, "T", "m", "A", 5)
		// 5 * 0.5^8 = 0.01953125 is still above 0.01; the ninth halving
		// (0.009765625) snaps to 0.
		for range 8 {
			s.Refresh()
		}
		require.Equal(t, 0.01953125, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
		s.Refresh()
		require.Equal(t, 0.0, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
	})
}
