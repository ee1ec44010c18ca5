package peerscore_test

// What happens to a peer's score when it disconnects: forgotten when
// positive, retained (frozen) for RetainScore when zero or negative.

import (
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// retentionParams scores topic T as scoretest.StateTopic does (P2, P3,
// P3b, P4) and P7 (weight -1, threshold 0), every counter halving at each
// Refresh, and retains non-positive peers for retain.
func retentionParams(retain time.Duration) *peerscore.Params {
	params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.StateTopic()})
	params.BehaviourPenaltyWeight = -1
	params.BehaviourPenaltyThreshold = 0
	params.BehaviourPenaltyDecay = 0.5
	params.RetainScore = retain
	return params
}

// TestRetentionForgetsPositive checks that a peer with a positive
// score is forgotten as soon as it disconnects, and comes back with a clean
// slate, while a peer at exactly zero is retained.
func TestRetentionForgetsPositive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, retentionParams(time.Hour))
		scoretest.Connect(s, "G", "Z")
		scoretest.DeliverN(s, "T", "g", "G", 3)
		scoretest.Near(t, 3, s.Score("G"), "G before")

		s.Tracer().OnClosedOutboundStream("G")
		scoretest.RequireUnknown(t, s, "G")

		scoretest.Connect(s, "G")
		snap := scoretest.Snap(t, s, "G")
		require.True(t, snap.Connected)
		require.Empty(t, snap.Topics, "a forgotten peer starts afresh")
		require.Equal(t, 0.0, snap.Score)

		// Z's score is exactly 0: that is "not positive", so Z is kept.
		s.Tracer().OnClosedOutboundStream("Z")
		snap = scoretest.Snap(t, s, "Z")
		require.False(t, snap.Connected)
		require.Equal(t, 0.0, snap.Score)
	})
}

// TestRetentionFreezesNegative follows a peer with a negative score
// through a disconnect, a retention period without decay, and a reconnect
// that resumes its counters.
func TestRetentionFreezesNegative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		s := scoretest.New(t, retentionParams(10*time.Second))
		scoretest.Connect(s, "X")
		s.Tracer().Graft("X", "T")
		scoretest.DeliverN(s, "T", "x", "X", 3)  // first 3, mesh 3
		scoretest.RejectN(s, "T", "bad", "X", 2) // invalid 2

		// At 1.5s: first 1.5 (+1.5), mesh 1.5 and active (deficit 2.5:
		// -6.25), invalid 1 (-2 * 1²); P7 (1 - 0)² * -1 = -1.
		time.Sleep(1500 * time.Millisecond)
		s.Refresh()
		s.AddPenalty("X", 1)
		scoretest.Near(t, 1.5-6.25-2-1, s.Score("X"), "X before disconnecting")

		// Disconnect: the score is negative, so X is retained. Its first
		// deliveries are dropped and its deficit becomes P3b (2.5² = 6.25,
		// weighted -6.25); P3 stays active, as in pubsub, and still
		// charges the deficit: -6.25 - 6.25 - 2 - 1.
		s.Tracer().OnClosedOutboundStream("X")
		const retained = -6.25 - 6.25 - 2 - 1
		snap := scoretest.Snap(t, s, "X")
		require.False(t, snap.Connected)
		require.True(t, snap.RetainedUntil.Equal(t0.Add(1500*time.Millisecond+10*time.Second)),
			"RetainedUntil %v", snap.RetainedUntil)
		ts := snap.Topics["T"]
		require.Equal(t, 0.0, ts.FirstMessageDeliveries)
		require.Equal(t, 1.5, ts.MeshMessageDeliveries)
		require.Equal(t, 6.25, ts.MeshFailurePenalty)
		require.Equal(t, 1.0, ts.InvalidMessageDeliveries)
		require.False(t, ts.InMesh)
		require.True(t, ts.MeshDeliveriesActive)
		require.Equal(t, -6.25, ts.P3)
		scoretest.Near(t, retained, snap.Score, "snapshot after disconnect")
		scoretest.Near(t, retained, s.Score("X"), "score after disconnect")

		// Five seconds and three refreshes later nothing has decayed.
		time.Sleep(5 * time.Second)
		for range 3 {
			s.Refresh()
		}
		snap = scoretest.Snap(t, s, "X")
		require.Equal(t, 1.5, snap.Topics["T"].MeshMessageDeliveries)
		require.Equal(t, 6.25, snap.Topics["T"].MeshFailurePenalty)
		require.Equal(t, 1.0, snap.Topics["T"].InvalidMessageDeliveries)
		require.Equal(t, 1.0, snap.BehaviourPenalty)
		scoretest.Near(t, retained, s.Score("X"), "frozen while retained")

		// X reconnects before its retention ends: same counters, same
		// score, connected again.
		scoretest.Connect(s, "X")
		snap = scoretest.Snap(t, s, "X")
		require.True(t, snap.Connected)
		require.True(t, snap.RetainedUntil.IsZero(), "a connected peer is not retained")
		scoretest.Near(t, retained, s.Score("X"), "resumed after reconnecting")

		// Connected, it decays again: P3b 3.125, the P3 counter 0.75
		// (deficit 3.25: -10.5625), invalid 0.5 (-2 * 0.25), P7 counter
		// 0.5 (-0.25).
		s.Refresh()
		scoretest.Near(t, -3.125-10.5625-0.5-0.25, s.Score("X"), "decaying again")

		// Past the original expiry it is still there: reconnecting
		// cancelled the retention.
		time.Sleep(10 * time.Second)
		s.Refresh()
		require.True(t, scoretest.Snap(t, s, "X").Connected)
	})
}

// TestRetentionExpiry checks that a retained peer is forgotten by the
// first Refresh strictly after RetainScore has passed.
func TestRetentionExpiry(t *testing.T) {
	for _, retain := range []time.Duration{0, 10 * time.Second} {
		t.Run(retain.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, retentionParams(retain))
				scoretest.Connect(s, "Y", "W")
				scoretest.RejectN(s, "T", "bad", "Y", 1) // -2
				time.Sleep(3 * time.Second)
				s.Tracer().OnClosedOutboundStream("Y")
				scoretest.Near(t, -2, s.Score("Y"), "retained")

				// At exactly the end of the retention, Y is kept.
				time.Sleep(retain)
				s.Refresh()
				scoretest.Near(t, -2, s.Score("Y"), "at the end of the retention")
				require.False(t, scoretest.Snap(t, s, "Y").Connected)

				// Any later Refresh forgets it; W is untouched.
				time.Sleep(time.Nanosecond)
				s.Refresh()
				scoretest.RequireUnknown(t, s, "Y")
				require.True(t, scoretest.Snap(t, s, "W").Connected)

				// Reconnecting now starts from zero.
				scoretest.Connect(s, "Y")
				require.Empty(t, scoretest.Snap(t, s, "Y").Topics)
				require.Equal(t, 0.0, s.Score("Y"))
			})
		})
	}
}

// TestPeerChurn connects, scores and disconnects hundreds of peers in
// rounds, so that the peer table grows, fills with removed entries and is
// rebuilt, while another goroutine reads scores without pause. Every peer
// must end up with exactly the score its history gives it.
func TestPeerChurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(1, 1, 100)})
		params.BehaviourPenaltyWeight = -1
		params.BehaviourPenaltyDecay = 0.5
		params.RetainScore = time.Hour
		s := scoretest.New(t, params)

		id := func(round, i int) peer.ID { return peer.ID(fmt.Sprintf("churn-%d-%d", round, i)) }
		const rounds, perRound = 5, 150

		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if v := s.Score(id(n%rounds, n%perRound)); math.IsNaN(v) {
					t.Error("NaN score")
				}
			}
		}()

		// Even peers earn 1 + i%5 first deliveries and are forgotten
		// when they disconnect; odd peers take a penalty of 1 + i%3 (P7
		// = -(1+i%3)²) and are retained; odd peers with i%4 == 1
		// reconnect.
		for round := range rounds {
			for i := range perRound {
				p := id(round, i)
				scoretest.Connect(s, p)
				if i%2 == 0 {
					scoretest.DeliverN(s, "T", string(p), p, 1+i%5)
				} else {
					s.AddPenalty(p, 1+i%3)
				}
			}
			for i := range perRound {
				s.Tracer().OnClosedOutboundStream(id(round, i))
			}
			for i := 1; i < perRound; i += 4 {
				scoretest.Connect(s, id(round, i))
			}
		}
		close(stop)
		<-done

		for round := range rounds {
			for i := range perRound {
				p := id(round, i)
				if i%2 == 0 {
					scoretest.RequireUnknown(t, s, p)
					continue
				}
				n := float64(1 + i%3)
				scoretest.Near(t, -n*n, s.Score(p), "peer %s", p)
				require.Equal(t, i%4 == 1, scoretest.Snap(t, s, p).Connected, "peer %s", p)
			}
		}
		require.Len(t, s.Snapshots(), rounds*perRound/2)

		// After the retention, one Refresh forgets the disconnected and
		// halves the reconnected peers' counters.
		time.Sleep(time.Hour + time.Second)
		s.Refresh()
		for round := range rounds {
			for i := range perRound {
				p := id(round, i)
				if i%4 != 1 {
					scoretest.RequireUnknown(t, s, p)
					continue
				}
				n := float64(1+i%3) / 2
				scoretest.Near(t, -n*n, s.Score(p), "peer %s", p)
			}
		}
		require.Len(t, s.Snapshots(), rounds*((perRound+2)/4))
	})
}
