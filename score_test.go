package peerscore_test

// The score function (score.go): how the parts add up. The topic cap, topics
// without parameters, P5 (the application's score, asked for live) and P7
// (AddPenalty, squared above its threshold). The counters themselves are
// tested where they are kept: tracer_messages_test.go (P2, P4),
// tracer_mesh_test.go (P1, P3, P3b), ipcolocation_test.go (P6),
// router_slow_test.go (the slow-peer penalty), decay_test.go (their decay).

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreTopicCap checks that TopicScoreCap limits only a positive sum of
// topic scores, and that P5 and P7 are added after the cap.
func TestScoreTopicCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app := map[peer.ID]float64{"A": 5, "B": -1}
		params := scoretest.Params(map[string]*peerscore.TopicParams{
			// 2 points per first delivery.
			"T1": scoretest.FirstTopic(1, 2, 100),
			// 0.5 * 6 = 3 points per first delivery, 0.5 * -1 * n² for
			// n invalid messages.
			"T2": {
				SkipAtomicValidation:           true,
				TopicWeight:                    0.5,
				FirstMessageDeliveriesWeight:   6,
				FirstMessageDeliveriesDecay:    0.5,
				FirstMessageDeliveriesCap:      100,
				InvalidMessageDeliveriesWeight: -1,
				InvalidMessageDeliveriesDecay:  0.5,
			},
		})
		params.TopicScoreCap = 10
		params.AppSpecificScore = func(p peer.ID) float64 { return app[p] }
		params.AppSpecificWeight = 1
		params.BehaviourPenaltyWeight = -1
		params.BehaviourPenaltyThreshold = 1
		params.BehaviourPenaltyDecay = 0.5
		s := scoretest.New(t, params)
		scoretest.Connect(s, "A", "B", "C", "D")

		// A: 4 on T1 (8) and 2 on T2 (6): 14, capped at 10. Then P5 = 5
		// and P7 = -(3-1)² = -4 are added: 11.
		scoretest.DeliverN(s, "T1", "a1", "A", 4)
		scoretest.DeliverN(s, "T2", "a2", "A", 2)
		s.AddPenalty("A", 3)
		snap := scoretest.Snap(t, s, "A")
		scoretest.Near(t, 8, snap.Topics["T1"].Score, "A in T1")
		scoretest.Near(t, 6, snap.Topics["T2"].Score, "A in T2")
		scoretest.Near(t, 14, snap.TopicScoreUncapped, "A uncapped")
		require.Equal(t, 10.0, snap.TopicScoreCap)
		scoretest.Near(t, 10, snap.TopicScore, "A capped")
		scoretest.Near(t, 5, snap.P5, "A's P5")
		scoretest.Near(t, -4, snap.P7, "A's P7")
		scoretest.Near(t, 11, snap.Score, "A's snapshot score")
		scoretest.Near(t, 11, s.Score("A"), "A's score")

		// B: 3 on T1 (+6) and 7 invalid on T2 (0.5 * -49 = -24.5):
		// -18.5, far below -10 and not limited; P5 -1: -19.5.
		scoretest.DeliverN(s, "T1", "b1", "B", 3)
		for _, id := range []string{"i1", "i2", "i3", "i4", "i5", "i6", "i7"} {
			m := scoretest.Msg("T2", id, "B")
			s.Tracer().ValidateMessage(m)
			s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
		}
		snap = scoretest.Snap(t, s, "B")
		scoretest.Near(t, -18.5, snap.TopicScoreUncapped, "B uncapped")
		scoretest.Near(t, -18.5, snap.TopicScore, "B: a negative sum is not capped")
		scoretest.Near(t, -19.5, s.Score("B"), "B's score")

		// C: 3 on T1 = 6, under the cap.
		scoretest.DeliverN(s, "T1", "c1", "C", 3)
		scoretest.Near(t, 6, scoretest.Snap(t, s, "C").TopicScore, "C under the cap")
		scoretest.Near(t, 6, s.Score("C"), "C's score")

		// D: 5 on T1 = 10, exactly the cap.
		scoretest.DeliverN(s, "T1", "d1", "D", 5)
		scoretest.Near(t, 10, s.Score("D"), "D at the cap")
	})
}

// TestUnscoredTopics checks that events on a topic without parameters
// change no score and create no per-topic stats.
func TestUnscoredTopics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": {
			SkipAtomicValidation:           true,
			TopicWeight:                    1,
			TimeInMeshWeight:               1,
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  10,
			FirstMessageDeliveriesWeight:   1,
			FirstMessageDeliveriesDecay:    0.5,
			FirstMessageDeliveriesCap:      10,
			InvalidMessageDeliveriesWeight: -1,
			InvalidMessageDeliveriesDecay:  0.5,
		}}))
		scoretest.Connect(s, "A", "B")
		for _, p := range []peer.ID{"A", "B"} {
			s.Tracer().Graft(p, "U")
		}
		good := scoretest.Msg("U", "good", "A")
		scoretest.Deliver(s, good)
		s.Tracer().DuplicateMessage(scoretest.As(good, "B"))
		bad := scoretest.Msg("U", "bad", "A")
		s.Tracer().ValidateMessage(bad)
		s.Tracer().DuplicateMessage(scoretest.As(bad, "B"))
		s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
		s.Tracer().DuplicateMessage(scoretest.As(bad, "B"))
		s.Tracer().RejectMessage(scoretest.Msg("U", "unsigned", "A"), pubsub.RejectMissingSignature)
		time.Sleep(5 * time.Second)
		s.Refresh()
		s.Tracer().Prune("A", "U")

		for _, p := range []peer.ID{"A", "B"} {
			snap := scoretest.Snap(t, s, p)
			require.True(t, snap.Connected)
			require.Empty(t, snap.Topics, "peer %s has no stats for an unscored topic", p)
			require.Equal(t, 0.0, snap.Score)
			require.Equal(t, 0.0, s.Score(p))
		}

		// The same events on the scored topic do count, and only it is
		// listed.
		s.Tracer().Graft("A", "T")
		scoretest.Deliver(s, scoretest.Msg("T", "t1", "A"))
		require.Len(t, scoretest.Snap(t, s, "A").Topics, 1)
		scoretest.Near(t, 1, s.Score("A"), "one first delivery in T")
	})
}

// TestScoreAppSpecificRule tabulates P5 = AppSpecificScore × AppSpecificWeight
// and its treatment of NaN and of an infinite score with a zero weight.
func TestScoreAppSpecificRule(t *testing.T) {
	rows := []struct {
		name           string
		raw, weight    float64
		wantRaw, wantW float64
	}{
		{"positive", 4, 0.5, 4, 2},
		{"negative", -6, 0.5, -6, -3},
		{"zero weight", 3, 0, 3, 0},
		{"NaN counts as 0", math.NaN(), 0.5, 0, 0},
		{"infinity times a zero weight is 0, not NaN", math.Inf(1), 0, math.Inf(1), 0},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				params := scoretest.Params(nil)
				params.AppSpecificScore = func(peer.ID) float64 { return row.raw }
				params.AppSpecificWeight = row.weight
				s := scoretest.New(t, params)
				scoretest.Connect(s, "A")
				snap := scoretest.Snap(t, s, "A")
				require.Equal(t, row.wantRaw, snap.AppSpecificScore, "raw P5")
				require.Equal(t, row.wantW, snap.P5, "weighted P5")
				require.Equal(t, row.wantW, snap.Score)
				require.Equal(t, row.wantW, s.Score("A"))
			})
		})
	}
}

// TestScoreAppSpecificLive checks that P5 is asked for on every Score call,
// so a change in the application's opinion shows at once, without a Refresh,
// and that a peer the scorer does not know scores 0 whatever the
// application says.
func TestScoreAppSpecificLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		app := map[peer.ID]float64{"A": 4, "Z": 100}
		calls := 0
		params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 10)})
		params.AppSpecificScore = func(p peer.ID) float64 {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return app[p]
		}
		params.AppSpecificWeight = 0.5
		set := func(p peer.ID, v float64) {
			mu.Lock()
			app[p] = v
			mu.Unlock()
		}
		callCount := func() int {
			mu.Lock()
			defer mu.Unlock()
			return calls
		}
		s := scoretest.New(t, params)
		scoretest.Connect(s, "A")
		scoretest.DeliverN(s, "T", "m", "A", 3) // P2 = 3

		scoretest.Near(t, 3+2, s.Score("A"), "P2 3 plus P5 4*0.5")
		before := callCount()
		s.Score("A")
		require.Equal(t, before+1, callCount(), "each Score asks the application once")

		set("A", -6)
		scoretest.Near(t, 3-3, s.Score("A"), "P5 now -6*0.5")
		set("A", -10)
		scoretest.Near(t, 3-5, s.Score("A"), "P5 now -10*0.5")
		snap := scoretest.Snap(t, s, "A")
		require.Equal(t, -10.0, snap.AppSpecificScore)
		scoretest.Near(t, -5, snap.P5, "snapshot P5")
		scoretest.Near(t, -2, snap.Score, "snapshot score")

		set("A", math.NaN())
		scoretest.Near(t, 3, s.Score("A"), "NaN counts as 0")
		snap = scoretest.Snap(t, s, "A")
		require.Equal(t, 0.0, snap.AppSpecificScore)
		require.Equal(t, 0.0, snap.P5)

		require.Equal(t, 0.0, s.Score("Z"), "unknown peer")
	})
}

// TestScoreBehaviourPenaltyRule tabulates P7 = weight × (counter −
// threshold)², zero at or below the threshold, and AddPenalty's refusal of
// counts below 1.
func TestScoreBehaviourPenaltyRule(t *testing.T) {
	rows := []struct {
		name      string
		threshold float64
		adds      []int
		counter   float64
		p7        float64 // weight -2
	}{
		{"below the threshold", 1.5, []int{1}, 1, 0},
		{"half a point over", 1.5, []int{2}, 2, -2 * 0.25},
		{"counts add up", 1.5, []int{1, 1}, 2, -2 * 0.25},
		{"squared", 1.5, []int{4}, 4, -2 * 6.25},
		{"exactly the threshold", 2, []int{2}, 2, 0},
		{"zero threshold", 0, []int{3}, 3, -2 * 9},
		{"zero count is ignored", 1.5, []int{0}, 0, 0},
		{"negative count is ignored", 1.5, []int{3, -3}, 3, -2 * 2.25},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				params := scoretest.Params(nil)
				params.BehaviourPenaltyWeight = -2
				params.BehaviourPenaltyThreshold = row.threshold
				params.BehaviourPenaltyDecay = 0.5
				s := scoretest.New(t, params)
				scoretest.Connect(s, "A")
				for _, n := range row.adds {
					s.AddPenalty("A", n)
				}
				snap := scoretest.Snap(t, s, "A")
				require.Equal(t, row.counter, snap.BehaviourPenalty, "raw counter")
				scoretest.Near(t, row.p7, snap.P7, "weighted P7")
				scoretest.Near(t, row.p7, s.Score("A"), "score")
			})
		})
	}
}
