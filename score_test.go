package peerscore_test

// Scenario and rule tests of the score function: P2, the topic cap,
// unscored topics, P5, P7 and message IDs. SetTopicParams is in
// score_topicparams_test.go. P1/P3/P3b are
// in score_mesh_test.go, P4 in score_reject_test.go, P6 in
// score_ip_test.go, retention in score_retention_test.go, the background
// loop and concurrency in score_loop_test.go and the randomised
// model check in score_property_test.go.

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreFirstDeliveries checks P2: one per message the peer was first to
// deliver, capped when incremented, halved at each Refresh and snapped to
// zero below DecayToZero.
func TestScoreFirstDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Weight 1.5, topic weight 2, cap 3: 3 points per delivery.
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(2, 1.5, 3)}))
		scoretest.Connect(s, "A", "B")

		m1, m2 := scoretest.Msg("T", "m1", "A"), scoretest.Msg("T", "m2", "A")
		scoretest.Deliver(s, m1)
		scoretest.Deliver(s, m2)
		// B's copies are not first deliveries.
		s.Tracer().DuplicateMessage(scoretest.As(m1, "B"))
		s.Tracer().DuplicateMessage(scoretest.As(m2, "B"))
		ts := scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 2.0, ts.FirstMessageDeliveries)
		scoretest.Near(t, 3, ts.P2, "P2 = 1.5 * 2")
		scoretest.Near(t, 6, ts.Score, "topic score = 2 * 3")
		scoretest.Near(t, 6, s.Score("A"), "score")
		require.Equal(t, 0.0, scoretest.Topic(t, s, "B", "T").FirstMessageDeliveries)
		require.Equal(t, 0.0, s.Score("B"))

		// Three more would make 5; the cap keeps 3.
		scoretest.DeliverN(s, "T", "x", "A", 3)
		require.Equal(t, 3.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 9, s.Score("A"), "capped: 2 * 1.5 * 3")

		// Halved to 1.5; one delivery makes 2.5; the next would make
		// 3.5 and is capped at 3 (the cap applies on each increment).
		s.Refresh()
		require.Equal(t, 1.5, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 4.5, s.Score("A"), "after one decay")
		scoretest.DeliverN(s, "T", "y", "A", 1)
		scoretest.Near(t, 7.5, s.Score("A"), "2.5 deliveries")
		scoretest.DeliverN(s, "T", "z", "A", 1)
		require.Equal(t, 3.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)

		// 3 * 0.5^8 = 0.01171875 still counts; the ninth halving snaps.
		for range 8 {
			s.Refresh()
		}
		require.Equal(t, 0.01171875, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 2*1.5*0.01171875, s.Score("A"), "tiny but not zero")
		s.Refresh()
		require.Equal(t, 0.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		require.Equal(t, 0.0, s.Score("A"))

		// A peer the scorer does not know earns nothing and is not
		// created by a delivery.
		scoretest.Deliver(s, scoretest.Msg("T", "stranger", "Z"))
		scoretest.RequireUnknown(t, s, "Z")
	})
}

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

// TestScoreUnscoredTopics checks that events on a topic without parameters
// change no score and create no per-topic stats.
func TestScoreUnscoredTopics(t *testing.T) {
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

// TestScoreMessageIDs checks how messages are identified: Message.ID when
// set, otherwise the WithMsgIDFn function or pubsub's default (From then
// Seqno); and that the scorer never writes Message.ID.
func TestScoreMessageIDs(t *testing.T) {
	topic := "T"
	newMsg := func(id, from, seqno, data string, receivedFrom peer.ID) *pubsub.Message {
		return &pubsub.Message{
			Message:      &pb.Message{Topic: &topic, From: []byte(from), Seqno: []byte(seqno), Data: []byte(data)},
			ID:           id,
			ReceivedFrom: receivedFrom,
		}
	}
	// Each case rejects a first message from A as invalid, then shows
	// the scorer a copy from B and a different message from C: whoever
	// sent "the same message" is charged, whoever did not is not.
	run := func(t *testing.T, opts []peerscore.Option, first, same, other *pubsub.Message) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}), opts...)
		scoretest.Connect(s, "A", "B", "C")
		s.Tracer().ValidateMessage(first)
		s.Tracer().RejectMessage(first, pubsub.RejectValidationFailed)
		s.Tracer().DuplicateMessage(same)
		s.Tracer().DuplicateMessage(other)
		scoretest.Near(t, -1, s.Score("A"), "sender")
		scoretest.Near(t, -1, s.Score("B"), "copy of the same message")
		require.Equal(t, 0.0, s.Score("C"), "another message")
	}

	t.Run("Message.ID wins over From and Seqno", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			run(t, nil,
				newMsg("id-1", "x", "1", "d", "A"),
				newMsg("id-1", "y", "2", "e", "B"), // other fields, same ID
				newMsg("id-2", "x", "1", "d", "C"), // same fields, other ID
			)
		})
	})

	t.Run("default: From and Seqno", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			first := newMsg("", "x", "1", "d", "A")
			same := newMsg("", "x", "1", "other data", "B")
			other := newMsg("", "x", "2", "d", "C")
			run(t, nil, first, same, other)
			require.Empty(t, first.ID, "the scorer must not write Message.ID")
			require.Empty(t, same.ID)
			require.Empty(t, other.ID)
		})
	})

	t.Run("WithMsgIDFn when Message.ID is empty", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			byData := func(m *pb.Message) string {
				mu.Lock()
				calls++
				mu.Unlock()
				return "data:" + string(m.GetData())
			}
			first := newMsg("", "x", "1", "d", "A")
			same := newMsg("", "y", "9", "d", "B")
			other := newMsg("", "x", "1", "e", "C")
			run(t, []peerscore.Option{peerscore.WithMsgIDFn(byData)}, first, same, other)
			require.Empty(t, first.ID, "the scorer must not write Message.ID")
			mu.Lock()
			require.Positive(t, calls)
			mu.Unlock()
		})
	})

	t.Run("WithMsgIDFn is not used when Message.ID is set", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			never := func(*pb.Message) string {
				t.Error("the ID function was called for a message with an ID")
				return "never"
			}
			run(t, []peerscore.Option{peerscore.WithMsgIDFn(never)},
				newMsg("id-1", "x", "1", "d", "A"),
				newMsg("id-1", "y", "2", "e", "B"),
				newMsg("id-2", "x", "1", "d", "C"),
			)
		})
	})

	t.Run("nil function", func(t *testing.T) {
		_, err := peerscore.New(scoretest.Params(nil), peerscore.WithMsgIDFn(nil))
		require.Error(t, err)
	})
}

// TestScoreIgnoresMalformedEvents checks that nil messages, messages
// without a protobuf, and events about unknown peers or topics neither
// panic nor change anything.
func TestScoreIgnoresMalformedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}))
		scoretest.Connect(s, "A")
		empty := &pubsub.Message{ReceivedFrom: "A"}
		for _, m := range []*pubsub.Message{nil, empty} {
			s.Tracer().ValidateMessage(m)
			s.Tracer().DeliverMessage(m)
			s.Tracer().DuplicateMessage(m)
			for _, reason := range []string{pubsub.RejectValidationFailed, pubsub.RejectInvalidSignature} {
				s.Tracer().RejectMessage(m, reason)
			}
		}
		s.Tracer().Graft("nobody", "T")
		s.Tracer().Prune("nobody", "T")
		s.Tracer().OnClosedOutboundStream("nobody")
		s.Tracer().Graft("A", "unscored")
		s.Tracer().Prune("A", "unscored")
		s.Refresh()

		scoretest.RequireUnknown(t, s, "nobody")
		snap := scoretest.Snap(t, s, "A")
		require.Empty(t, snap.Topics)
		require.Equal(t, 0.0, snap.Score)
	})
}
