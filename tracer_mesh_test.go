package peerscore_test

// Graft and Prune (tracer.go) and the mesh components: P1 (time in mesh),
// P3 (mesh message deliveries) and P3b (mesh failure penalty).

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreTimeInMeshRule tabulates P1: whole quanta of the time in mesh
// measured at the last Refresh, never more than TimeInMeshCap.
func TestScoreTimeInMeshRule(t *testing.T) {
	// Quantum 2s, cap 3.5 quanta (a cap that is not a whole number of
	// quanta shows that the cap, not the quantisation, wins at the top),
	// weight 0.25, topic weight 2.
	const weight, topicWeight = 0.25, 2.0
	rows := []struct {
		name    string
		elapsed time.Duration
		quanta  float64
	}{
		{"just grafted", 0, 0},
		{"a nanosecond short of one quantum", 2*time.Second - 1, 0},
		{"exactly one quantum", 2 * time.Second, 1},
		{"two and a half quanta count as two", 5 * time.Second, 2},
		{"three quanta", 6 * time.Second, 3},
		{"a nanosecond short of four quanta", 8*time.Second - 1, 3},
		{"four quanta are capped at 3.5", 8 * time.Second, 3.5},
		{"an hour is capped at 3.5", time.Hour, 3.5},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": {
					SkipAtomicValidation: true,
					TopicWeight:          topicWeight,
					TimeInMeshWeight:     weight,
					TimeInMeshQuantum:    2 * time.Second,
					TimeInMeshCap:        3.5,
				}}))
				scoretest.Connect(s, "A")
				s.Tracer().Graft("A", "T")
				time.Sleep(row.elapsed)
				s.Refresh()

				ts := scoretest.Topic(t, s, "A", "T")
				require.True(t, ts.InMesh)
				require.Equal(t, row.elapsed, ts.TimeInMesh, "TimeInMesh is the raw time, not quantised or capped")
				scoretest.Near(t, weight*row.quanta, ts.P1, "weighted P1")
				scoretest.Near(t, topicWeight*weight*row.quanta, ts.Score, "topic score")
				scoretest.Near(t, topicWeight*weight*row.quanta, s.Score("A"), "score")
			})
		})
	}
}

// TestScoreTimeInMeshScenario follows one peer in and out of the mesh: P1
// moves only at Refresh, stops at the cap, restarts on a new GRAFT and does
// not grow outside the mesh.
func TestScoreTimeInMeshScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Quantum 1s, cap 10 quanta, weight 0.5, topic weight 1: the
		// score is 0.5 per whole second in the mesh, at most 5.
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": {
			SkipAtomicValidation: true,
			TopicWeight:          1,
			TimeInMeshWeight:     0.5,
			TimeInMeshQuantum:    time.Second,
			TimeInMeshCap:        10,
		}}))
		scoretest.Connect(s, "A", "B")
		s.Tracer().Graft("A", "T")

		// Three seconds pass without a Refresh: nothing moves yet.
		time.Sleep(3 * time.Second)
		require.Equal(t, 0.0, s.Score("A"))
		ts := scoretest.Topic(t, s, "A", "T")
		require.True(t, ts.InMesh)
		require.Equal(t, time.Duration(0), ts.TimeInMesh)

		// The Refresh at 3s counts three quanta: 3 * 0.5.
		s.Refresh()
		scoretest.Near(t, 1.5, s.Score("A"), "after the refresh at 3s")
		require.Equal(t, 3*time.Second, scoretest.Topic(t, s, "A", "T").TimeInMesh)

		// Between refreshes the score stands still.
		time.Sleep(2900 * time.Millisecond)
		scoretest.Near(t, 1.5, s.Score("A"), "at 5.9s, before the refresh")
		scoretest.Near(t, 1.5, scoretest.Snap(t, s, "A").Score, "snapshot at 5.9s, before the refresh")

		// At 5.9s five whole quanta count: 5 * 0.5.
		s.Refresh()
		scoretest.Near(t, 2.5, s.Score("A"), "after the refresh at 5.9s")
		require.Equal(t, 5900*time.Millisecond, scoretest.Topic(t, s, "A", "T").TimeInMesh)

		// At 15.9s fifteen quanta would count; the cap keeps ten: 10 * 0.5.
		time.Sleep(10 * time.Second)
		s.Refresh()
		scoretest.Near(t, 5, s.Score("A"), "capped")
		scoretest.Near(t, 5, scoretest.Topic(t, s, "A", "T").P1, "capped P1")

		// B was never grafted: no stats in the topic, no P1.
		require.Empty(t, scoretest.Snap(t, s, "B").Topics)
		require.Equal(t, 0.0, s.Score("B"))

		// A second GRAFT while in the mesh restarts the clock at once.
		s.Tracer().Graft("A", "T")
		require.Equal(t, 0.0, s.Score("A"))
		require.Equal(t, time.Duration(0), scoretest.Topic(t, s, "A", "T").TimeInMesh)
		time.Sleep(2 * time.Second)
		s.Refresh()
		scoretest.Near(t, 1, s.Score("A"), "two quanta after the second graft")

		// Out of the mesh, P1 is zero and time is not counted.
		s.Tracer().Prune("A", "T")
		ts = scoretest.Topic(t, s, "A", "T")
		require.False(t, ts.InMesh)
		require.Equal(t, time.Duration(0), ts.TimeInMesh)
		require.Equal(t, 0.0, ts.P1)
		require.Equal(t, 0.0, s.Score("A"))
		time.Sleep(5 * time.Second)
		s.Refresh()
		require.Equal(t, 0.0, s.Score("A"))
		require.Equal(t, time.Duration(0), scoretest.Topic(t, s, "A", "T").TimeInMesh)

		// Grafted again, it starts from zero, not from what it had.
		s.Tracer().Graft("A", "T")
		time.Sleep(time.Second)
		s.Refresh()
		scoretest.Near(t, 0.5, s.Score("A"), "one quantum after the re-graft")
	})
}

// TestScoreMeshDeliveriesCounting checks which copies of a message earn a
// mesh peer P3 credit: a first delivery, a copy that arrived while the
// message was being validated, and a copy at most the window after
// validation; each peer's copy once, and only while in the mesh.
func TestScoreMeshDeliveriesCounting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.MeshTopic(1)}))
		scoretest.Connect(s, "A", "B", "C", "D")
		for _, p := range []peer.ID{"A", "B", "C"} {
			s.Tracer().Graft(p, "T") // D stays out of the mesh
		}
		counter := func(p peer.ID) float64 { return scoretest.Topic(t, s, p, "T").MeshMessageDeliveries }

		// m1: A is first; B and D send copies during validation.
		m1 := scoretest.Msg("T", "m1", "A")
		s.Tracer().ValidateMessage(m1)
		s.Tracer().DuplicateMessage(scoretest.As(m1, "B"))
		s.Tracer().DuplicateMessage(scoretest.As(m1, "D"))
		s.Tracer().DeliverMessage(m1)
		require.Equal(t, 1.0, counter("A"), "first delivery by a mesh peer")
		require.Equal(t, 1.0, counter("B"), "copy during validation")
		require.Equal(t, 0.0, counter("D"), "not in the mesh: no credit")

		// 4ms after validation C's copy is inside the window; repeats
		// from C and from B (already counted) earn nothing more.
		time.Sleep(4 * time.Millisecond)
		s.Tracer().DuplicateMessage(scoretest.As(m1, "C"))
		s.Tracer().DuplicateMessage(scoretest.As(m1, "C"))
		s.Tracer().DuplicateMessage(scoretest.As(m1, "B"))
		require.Equal(t, 1.0, counter("C"), "copy within the window, counted once")
		require.Equal(t, 1.0, counter("B"), "B's copy is counted once")

		// m2: B is first. A's copy exactly at the window's end still
		// counts; C's a nanosecond later does not.
		m2 := scoretest.Msg("T", "m2", "B")
		scoretest.Deliver(s, m2)
		time.Sleep(10 * time.Millisecond)
		s.Tracer().DuplicateMessage(scoretest.As(m2, "A"))
		time.Sleep(time.Nanosecond)
		s.Tracer().DuplicateMessage(scoretest.As(m2, "C"))
		require.Equal(t, 2.0, counter("A"), "copy exactly at the end of the window")
		require.Equal(t, 2.0, counter("B"), "B's first delivery")
		require.Equal(t, 1.0, counter("C"), "copy after the window")

		// m3: D (not in the mesh) is first: no mesh credit for D; C's
		// immediate copy counts.
		m3 := scoretest.Msg("T", "m3", "D")
		scoretest.Deliver(s, m3)
		s.Tracer().DuplicateMessage(scoretest.As(m3, "C"))
		require.Equal(t, 0.0, counter("D"))
		require.Equal(t, 2.0, counter("C"))

		// m4: A echoes its own message during validation: the first
		// delivery is all it earns.
		m4 := scoretest.Msg("T", "m4", "A")
		s.Tracer().ValidateMessage(m4)
		s.Tracer().DuplicateMessage(m4)
		s.Tracer().DeliverMessage(m4)
		require.Equal(t, 3.0, counter("A"), "own echo during validation earns nothing")

		// Nobody has been in the mesh past the activation: no P3 yet.
		for _, p := range []peer.ID{"A", "B", "C", "D"} {
			ts := scoretest.Topic(t, s, p, "T")
			require.False(t, ts.MeshDeliveriesActive, "peer %s", p)
			require.Equal(t, 0.0, ts.P3, "peer %s", p)
			require.Equal(t, 0.0, s.Score(p), "peer %s", p)
		}
	})
}

// TestScoreMeshDeliveriesLateEchoOfFirstSender pins a pubsub behaviour: the
// peer that delivered a message first is not on the record's list of
// copies, so its own copy arriving after validation (within the window) is
// credited once more. pubsub v0.17.0 does the same.
func TestScoreMeshDeliveriesLateEchoOfFirstSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.MeshTopic(1)}))
		scoretest.Connect(s, "A")
		s.Tracer().Graft("A", "T")
		m := scoretest.Msg("T", "m", "A")
		scoretest.Deliver(s, m)
		time.Sleep(5 * time.Millisecond)
		s.Tracer().DuplicateMessage(m)
		s.Tracer().DuplicateMessage(m) // now on the list: no third credit
		require.Equal(t, 2.0, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
	})
}

// TestScoreMeshDeliveriesPenalty checks P3 itself: nothing before the
// activation (which happens at a Refresh once the time in mesh exceeds
// MeshMessageDeliveriesActivation), then weight × deficit², following the
// counter as it grows with deliveries, stops at its cap and decays.
func TestScoreMeshDeliveriesPenalty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Topic weight 0.5 on top of P3's weight -1, threshold 3.
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.MeshTopic(0.5)}))
		scoretest.Connect(s, "A", "B")
		s.Tracer().Graft("A", "T")
		s.Tracer().Graft("B", "T")
		scoretest.DeliverN(s, "T", "a", "A", 2)
		require.Equal(t, 2.0, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)

		// At exactly 2s in the mesh the activation (2s) is not exceeded:
		// the counter halves (2 -> 1) but P3 stays off.
		time.Sleep(2 * time.Second)
		s.Refresh()
		ts := scoretest.Topic(t, s, "A", "T")
		require.False(t, ts.MeshDeliveriesActive)
		require.Equal(t, 1.0, ts.MeshMessageDeliveries)
		require.Equal(t, 0.0, s.Score("A"))
		require.Equal(t, 0.0, s.Score("B"))

		// 1ms later it is: counter 0.5, deficit 2.5, P3 = -6.25, topic
		// score -3.125. B has delivered nothing: deficit 3, P3 = -9.
		time.Sleep(time.Millisecond)
		s.Refresh()
		ts = scoretest.Topic(t, s, "A", "T")
		require.True(t, ts.MeshDeliveriesActive)
		require.Equal(t, 0.5, ts.MeshMessageDeliveries)
		scoretest.Near(t, -6.25, ts.P3, "A's P3")
		scoretest.Near(t, -3.125, ts.Score, "A's topic score")
		scoretest.Near(t, -3.125, s.Score("A"), "A's score")
		scoretest.Near(t, -9, scoretest.Topic(t, s, "B", "T").P3, "B's P3")
		scoretest.Near(t, -4.5, s.Score("B"), "B's score")

		// A delivery shows at once: counter 1.5, deficit 1.5, 0.5*-2.25.
		scoretest.DeliverN(s, "T", "b", "A", 1)
		scoretest.Near(t, -1.125, s.Score("A"), "after one more delivery")

		// Four more would make 5.5: the counter stops at its cap of 5,
		// above the threshold, so P3 is 0.
		scoretest.DeliverN(s, "T", "c", "A", 4)
		ts = scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 5.0, ts.MeshMessageDeliveries)
		require.Equal(t, 0.0, ts.P3)
		require.Equal(t, 0.0, s.Score("A"))

		// Decay: 5 -> 2.5 (deficit 0.5: 0.5 * -0.25), then 1.25 (deficit
		// 1.75: 0.5 * -3.0625).
		s.Refresh()
		require.Equal(t, 2.5, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
		scoretest.Near(t, -0.125, s.Score("A"), "after one decay")
		s.Refresh()
		require.Equal(t, 1.25, scoretest.Topic(t, s, "A", "T").MeshMessageDeliveries)
		scoretest.Near(t, -1.53125, s.Score("A"), "after two decays")
	})
}

// TestScoreMeshFailurePenalty follows P3 and P3b through prunes, a
// disconnect and a new GRAFT, under both readings of P3: pubsub's (the
// default), where the activation outlives the mesh, and the
// specification's (WithSpecP3), where leaving the mesh clears it.
func TestScoreMeshFailurePenalty(t *testing.T) {
	for _, spec := range []bool{false, true} {
		name := map[bool]string{false: "pubsub", true: "spec"}[spec]
		t.Run(name, func(t *testing.T) { meshFailurePenalty(t, spec) })
	}
}

func meshFailurePenalty(t *testing.T, spec bool) {
	// pubsub's reading keeps charging P3 to a peer out of the mesh.
	ifPubsub := func(x float64) float64 {
		if spec {
			return 0
		}
		return x
	}
	synctest.Test(t, func(t *testing.T) {
		// P3: weight -1, threshold 4, cap 10, halving, activation 1s.
		// P3b: weight -2, halving. Topic weight 1.
		params := scoretest.Params(map[string]*peerscore.TopicParams{"T": {
			SkipAtomicValidation:            true,
			TopicWeight:                     1,
			MeshMessageDeliveriesWeight:     -1,
			MeshMessageDeliveriesDecay:      0.5,
			MeshMessageDeliveriesCap:        10,
			MeshMessageDeliveriesThreshold:  4,
			MeshMessageDeliveriesActivation: time.Second,
			MeshFailurePenaltyWeight:        -2,
			MeshFailurePenaltyDecay:         0.5,
		}})
		params.RetainScore = time.Hour
		var opts []peerscore.Option
		if spec {
			opts = append(opts, peerscore.WithSpecP3())
		}
		s := scoretest.New(t, params, opts...)
		scoretest.Connect(s, "A", "B", "C", "D")
		s.Tracer().Graft("A", "T")
		s.Tracer().Graft("B", "T")
		s.Tracer().Graft("D", "T")
		scoretest.DeliverN(s, "T", "a", "A", 1)
		scoretest.DeliverN(s, "T", "d", "D", 12) // capped at 10

		// At 2s: A's counter 0.5 (deficit 3.5, P3 -12.25), B's 0
		// (deficit 4, P3 -16), D's 5 (no deficit).
		time.Sleep(2 * time.Second)
		s.Refresh()
		scoretest.Near(t, -12.25, s.Score("A"), "A active")
		scoretest.Near(t, -16, s.Score("B"), "B active")
		require.Equal(t, 0.0, s.Score("D"))

		// Pruning A turns its deficit into P3b: counter 3.5² = 12.25,
		// weighted -24.5. Under pubsub's reading P3 stays active, out of
		// the mesh: -12.25 more.
		s.Tracer().Prune("A", "T")
		ts := scoretest.Topic(t, s, "A", "T")
		require.False(t, ts.InMesh)
		require.Equal(t, !spec, ts.MeshDeliveriesActive)
		require.Equal(t, 12.25, ts.MeshFailurePenalty)
		require.Equal(t, ifPubsub(-12.25), ts.P3)
		scoretest.Near(t, -24.5, ts.P3b, "A's P3b")
		scoretest.Near(t, -24.5+ifPubsub(-12.25), s.Score("A"), "A after prune")
		require.Equal(t, 0.5, ts.MeshMessageDeliveries, "the P3 counter itself is kept")

		// D had no deficit: pruning it costs nothing.
		s.Tracer().Prune("D", "T")
		require.Equal(t, 0.0, scoretest.Topic(t, s, "D", "T").MeshFailurePenalty)
		require.Equal(t, 0.0, s.Score("D"))

		// C is pruned before its activation: no P3b either.
		s.Tracer().Graft("C", "T")
		s.Tracer().Prune("C", "T")
		require.Equal(t, 0.0, scoretest.Topic(t, s, "C", "T").MeshFailurePenalty)
		require.Equal(t, 0.0, s.Score("C"))

		// P3b decays: 12.25 -> 6.125, weighted -12.25. So does the P3
		// counter, out of the mesh: 0.25, deficit 3.75, P3 -14.0625 under
		// pubsub's reading, which grows as the counter decays.
		s.Refresh()
		require.Equal(t, 6.125, scoretest.Topic(t, s, "A", "T").MeshFailurePenalty)
		scoretest.Near(t, -12.25+ifPubsub(-14.0625), s.Score("A"), "A after one decay")

		// A second PRUNE of A, already out of the mesh: under pubsub's
		// reading the active deficit is charged to P3b again (3.75² =
		// 14.0625 more); under the spec's there is none.
		s.Tracer().Prune("A", "T")
		require.Equal(t, 6.125+ifPubsub(14.0625), scoretest.Topic(t, s, "A", "T").MeshFailurePenalty)

		// B disconnects while in the mesh and active: score -16 <= 0, so
		// it is retained, and its deficit 4² = 16 becomes P3b (-32), with
		// P3 (-16) still charged under pubsub's reading.
		s.Tracer().OnClosedOutboundStream("B")
		snap := scoretest.Snap(t, s, "B")
		require.False(t, snap.Connected)
		ts = snap.Topics["T"]
		require.False(t, ts.InMesh)
		require.Equal(t, !spec, ts.MeshDeliveriesActive)
		require.Equal(t, 16.0, ts.MeshFailurePenalty)
		require.Equal(t, ifPubsub(-16), ts.P3)
		scoretest.Near(t, -32+ifPubsub(-16), s.Score("B"), "B after disconnect")

		// A is grafted again: its P3b stays, and P3 waits for a new
		// activation. At 3.001s (1.001s in the mesh) it is active again:
		// P3b halved, P3 counter 0.25/2 = 0.125 (deficit 3.875, P3
		// -15.015625).
		s.Tracer().Graft("A", "T")
		p3b := -2 * (6.125 + ifPubsub(14.0625))
		scoretest.Near(t, p3b, s.Score("A"), "A re-grafted, not active")
		time.Sleep(time.Second + time.Millisecond)
		s.Refresh()
		ts = scoretest.Topic(t, s, "A", "T")
		require.True(t, ts.MeshDeliveriesActive)
		require.Equal(t, -p3b/4, ts.MeshFailurePenalty)
		require.Equal(t, 0.125, ts.MeshMessageDeliveries)
		scoretest.Near(t, p3b/2, ts.P3b, "A's P3b")
		scoretest.Near(t, -15.015625, ts.P3, "A's P3")
		scoretest.Near(t, p3b/2-15.015625, s.Score("A"), "A with both P3 and P3b")

		// B is retained: its counters do not decay.
		scoretest.Near(t, -32+ifPubsub(-16), s.Score("B"), "retained B does not decay")
	})
}
