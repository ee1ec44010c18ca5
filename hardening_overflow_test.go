package peerscore_test

// Overflows found by the hardening work (fuzzing and reading), each pinned
// by the input that showed it and what the contract or pubsub v0.17.0 says
// must happen. All are fixed: sums of score parts are kept finite, times
// saturate instead of wrapping, and penalty totals saturate.

import (
	"context"
	"math"
	"sync/atomic"
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

// Was a bug: Score (and Snapshot.Score) can be NaN, which the API contract
// forbids ("Score never returns NaN"; ±Inf from AppSpecificScore passes
// through as ±Inf). The behaviour term is cached as P7 + SlowPeer
// (score.go behaviourTerm), each part clamped by finite() but not their
// sum: with huge (valid) weights both parts reach about -MaxFloat64 and
// their sum overflows to -Inf. Score adds it to the rest; if the rest is
// +Inf (an AppSpecificScore of +Inf, or a topic score and a P5 that are
// both near MaxFloat64), the result is +Inf + -Inf = NaN.
//
// Input: Params{SkipAtomicValidation, DecayInterval 1s, DecayToZero 0.01,
// AppSpecificScore +Inf (weight 1), BehaviourPenaltyWeight -1e300 (decay
// 0.5), SlowPeerWeight -1e300 (decay 0.5)}, which Validate accepts; peer A
// connects, AddPenalty(A, 2^31), and the router drops one message on its
// way to A (DropRPC with one published message).
// Expected: Score(A) = +Inf (the application's +Inf passes through), or at
// least not NaN. Before the fix: NaN, in Score, Snapshot and Snapshots.
// Fixed by: clamp the sum in behaviourTerm (finite(p7 + slow)) and in
// Snapshot.addApp.
func TestOverflowBehaviourTermOverflowNaN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &peerscore.Params{
			SkipAtomicValidation:   true,
			AppSpecificScore:       func(peer.ID) float64 { return math.Inf(1) },
			AppSpecificWeight:      1,
			BehaviourPenaltyWeight: -1e300, BehaviourPenaltyDecay: 0.5,
			SlowPeerWeight: -1e300, SlowPeerDecay: 0.5,
			DecayInterval: time.Second, DecayToZero: 0.01,
		}
		require.NoError(t, p.Validate())
		s, err := peerscore.New(p)
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		s.AddPenalty("A", 1<<31)
		s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}}}}, "A")

		snap := scoretest.Snap(t, s, "A")
		t.Logf("P5 %v, P7 %v, SlowPeer %v, P7+SlowPeer %v", snap.P5, snap.P7, snap.SlowPeer, snap.P7+snap.SlowPeer)
		require.False(t, math.IsNaN(s.Score("A")), "Score(A) is NaN")
		require.False(t, math.IsNaN(snap.Score), "Snapshot(A).Score is NaN")
		require.Equal(t, math.Inf(1), s.Score("A"))
	})
}

// Was a bug: the same NaN with nothing infinite anywhere: finite application
// scores and finite weights, all accepted by Validate. A topic score
// clamped to MaxFloat64 plus a P5 of MaxFloat64 overflow to +Inf before
// the (overflowed) -Inf behaviour term is added.
//
// Input: atomic Params with topic "T" (TopicWeight 1e300, only P2 on:
// weight 1e300, decay 0.5, cap 10), AppSpecificScore 1e308 (weight 1),
// BehaviourPenaltyWeight -1e300, SlowPeerWeight -1e300; A connects,
// delivers one message first in T (topic score 1e300 × 1e300, clamped to
// MaxFloat64), gets AddPenalty(A, 2^31) and one dropped message.
// Expected: a score that is not NaN. Before the fix: NaN (MaxFloat64 + 1e308 =
// +Inf, plus -Inf).
func TestOverflowBehaviourTermOverflowNaNFinite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := saturatingParams()
		require.NoError(t, p.Validate())
		s, err := peerscore.New(p)
		require.NoError(t, err)
		driveToSaturation(s)

		snap := scoretest.Snap(t, s, "A")
		t.Logf("TopicScore %v, P5 %v, P7 %v, SlowPeer %v", snap.TopicScore, snap.P5, snap.P7, snap.SlowPeer)
		require.False(t, math.IsNaN(s.Score("A")), "Score(A) is NaN")
		require.False(t, math.IsNaN(snap.Score), "Snapshot(A).Score is NaN")
	})
}

// Was a bug: Stats().Penalties (exported as the Prometheus counter
// peerscore_penalties_total) wraps around. counters.charge adds uint64(n)
// to an atomic uint64 with no saturation, so once 2^64 has been charged
// for a reason the total drops to a small number: a counter that goes
// down, which Prometheus takes for a restart of the process (rate() then
// reports a huge spike).
//
// Input: peer A connected; AddPenalty(A, math.MaxInt) twice (each charges
// 2^63 after the conversion to float64), then AddPenalty(A, 5).
// Expected: the total for PenaltyAddPenalty never decreases (saturating
// at math.MaxUint64). Before the fix: 2^63, then 0, then 5.
// Fixed by: saturate in charge (compare-and-swap loop, or clamp n and check
// for overflow).
func TestOverflowPenaltyTotalsWrapAround(t *testing.T) {
	s, err := peerscore.New(&peerscore.Params{SkipAtomicValidation: true})
	require.NoError(t, err)
	s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
	var last uint64
	for i, n := range []int{math.MaxInt, math.MaxInt, 5} {
		s.AddPenalty("A", n)
		total := s.Stats().Penalties[peerscore.PenaltyAddPenalty]
		require.GreaterOrEqualf(t, total, last, "after AddPenalty #%d (%d) the total went from %d down to %d", i+1, n, last, total)
		last = total
	}
}

// Was a bug: a peer can dodge the GRAFT-during-backoff penalty (P7) that
// pubsub v0.17.0 charges, by asking for a PRUNE backoff just below 2^63
// nanoseconds. The scorer stored the backoff's end as
// now + Duration(backoff)*Second (router_backoff.go: pruned,
// backoffs.extend(..., now+r.backoffOf(pr))), with now the time since the
// Scorer was created; for a backoff of 9223372036 s (= 9.223372036e18 ns, no overflow yet) the sum
// overflows int64 as soon as the scorer is 0.85 s old, and the end lies in
// the past. pubsub computes time.Now().Add(time.Duration(backoff) *
// time.Second) (gossipsub.go handlePrune → doAddBackoff), which does not
// overflow (about 292 years from now), and then charges a GRAFT in that
// topic 1 for the backoff and 1 more for coming within the flood
// threshold (gossipsub.go handleGraft, lines 1100-1112). The same
// overflow hits every backoff from (2^63-1 - uptime)/1e9 s up to
// 9223372036 s, and judgeGraft's flood check (end + GraftFloodThreshold -
// PruneBackoff) overflows for ends near the top of the range.
//
// Input: Join("T"); peer A connects; 2 s later A sends PRUNE{T, backoff
// 9223372036} and then GRAFT{T} (RecvRPC, sender A).
// Expected (pubsub): A's behaviour penalty counter is 2. Before the fix: 0 (and
// with a 60 s backoff it is 2, as the control case shows).
// Fixed by: saturate (addSat(now, backoff)) and compare as end-now against
// PruneBackoff-GraftFloodThreshold.
func TestOverflowPruneBackoffOverflowEvadesGraftPenalty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &peerscore.Params{
			SkipAtomicValidation:   true,
			BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.5,
			DecayInterval: time.Second, DecayToZero: 0.01,
		}
		s, err := peerscore.New(p)
		require.NoError(t, err)
		s.Tracer().Join("T")
		time.Sleep(2 * time.Second)
		pruneThenGraft := func(from peer.ID, backoff uint64) float64 {
			s.Tracer().OnNewOutboundStream(from, "/meshsub/1.1.0")
			scoretest.PruneThenGraft(s, from, "T", &backoff)
			snap := scoretest.Snap(t, s, from)
			return snap.BehaviourPenalty
		}
		require.Equal(t, 2.0, pruneThenGraft("control", 60), "control case: a 60s backoff")
		require.Equal(t, 2.0, pruneThenGraft("A", 9223372036), "a backoff of 9223372036s: pubsub charges 2")
	})
}

// Was a bug: durations meant as "forever" wrap around into the past. The scorer
// keeps times as durations since New and adds configured durations to
// them unchecked (deliveries.go get: now + d.ttl; router_rpc.go send:
// now + followUp, backoffOf default: now + PruneBackoff), where pubsub
// uses time.Now().Add, which does not wrap. RetainScore is saturated
// (addSat, "a RetainScore of 'forever' must not wrap around into the
// past"); these three are not.
//
//   - SeenMsgTTL = math.MaxInt64 (accepted by Validate, which does not
//     check it, like pubsub): a message rejected as invalid loses its
//     delivery record at the next Refresh, so a copy of it that B sends
//     later is not charged. Expected (pubsub keeps the record ~292 years):
//     B's P4 counter is 1. Before the fix: 0.
//   - WithGossipSubParams IWantFollowupTime = math.MaxInt64: an IWANT we
//     send is a promise that is "broken" at the very next heartbeat.
//     Expected (pubsub's deadline is ~292 years away): no penalty.
//     Before the fix: A's behaviour counter is 1.
//   - WithGossipSubParams PruneBackoff = math.MaxInt64: a PRUNE without a
//     backoff field (the router's default applies) starts no backoff, so
//     a GRAFT right after it is not charged. Expected (pubsub): 2.
//     Before the fix: 0.
//
// Fixed by: saturate these sums (addSat) as for RetainScore.
func TestOverflowForeverDurationsWrap(t *testing.T) {
	t.Run("SeenMsgTTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := &peerscore.Params{
				SkipAtomicValidation: true,
				Topics:               map[string]*peerscore.TopicParams{"T": scoretest.FullTopic()},
				DecayInterval:        time.Second, DecayToZero: 0.01,
				SeenMsgTTL: math.MaxInt64,
			}
			s, err := peerscore.New(p)
			require.NoError(t, err)
			s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
			s.Tracer().OnNewOutboundStream("B", "/meshsub/1.1.0")
			time.Sleep(time.Second)
			m := scoretest.Msg("T", "m", "A")
			s.Tracer().ValidateMessage(m)
			s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
			time.Sleep(time.Second)
			s.Refresh()
			s.Tracer().DuplicateMessage(scoretest.Msg("T", "m", "B"))
			snap := scoretest.Snap(t, s, "B")
			require.Equal(t, 1.0, snap.Topics["T"].InvalidMessageDeliveries, "B forwarded a known invalid message")
		})
	})
	router := func(t *testing.T, mutate func(*pubsub.GossipSubParams)) *peerscore.Scorer {
		gs := pubsub.DefaultGossipSubParams()
		mutate(&gs)
		s, err := peerscore.New(&peerscore.Params{
			SkipAtomicValidation:   true,
			BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.5,
			DecayInterval: time.Second, DecayToZero: 0.01,
		}, peerscore.WithGossipSubParams(gs))
		require.NoError(t, err)
		s.Tracer().Join("T")
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		time.Sleep(time.Second)
		return s
	}
	t.Run("IWantFollowupTime", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := router(t, func(gs *pubsub.GossipSubParams) { gs.IWantFollowupTime = math.MaxInt64 })
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{
				Iwant: []*pb.ControlIWant{{MessageIDs: []string{"x"}}}}}}, "A")
			time.Sleep(time.Second)
			s.Refresh() // also the router heartbeat
			snap := scoretest.Snap(t, s, "A")
			require.Equal(t, 0.0, snap.BehaviourPenalty, "a promise with a 'forever' deadline was broken")
		})
	})
	t.Run("PruneBackoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := router(t, func(gs *pubsub.GossipSubParams) { gs.PruneBackoff = math.MaxInt64 })
			scoretest.PruneThenGraft(s, "A", "T", nil)
			snap := scoretest.Snap(t, s, "A")
			require.Equal(t, 2.0, snap.BehaviourPenalty, "GRAFT right after a PRUNE with a 'forever' backoff")
		})
	})
}

// Was a bug: the parts of a snapshot did not add up to its score when a
// partial sum overflowed. Score added its parts left to right (topics,
// P5, P6, P7 with the slow-peer penalty); topics at MaxFloat64 plus a P5
// of 1e308 overflowed to +Inf before the behaviour term of -MaxFloat64
// came, so the score was +Inf although its parts add up to 1e308, and
// Snapshot's promise (the parts add up to Score) failed.
//
// Input: saturatingParams and driveToSaturation, as in
// TestOverflowBehaviourTermOverflowNaNFinite (topic
// score MaxFloat64, P5 1e308, P7 + SlowPeer held at -MaxFloat64).
// Expected: Score = TopicScore + P5 + P6 + (P7 + SlowPeer) = 1e308 (to
// rounding), in Score, Snapshot and the inspection scores. Before the fix:
// +Inf. Fixed by: total retries an overflowed sum at a scale where no
// partial sum can overflow.
func TestOverflowPartialSumSaturates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := saturatingParams()
		var inspected atomic.Value
		s, err := peerscore.New(p, peerscore.WithInspect(func(scores map[peer.ID]float64) { inspected.Store(scores["A"]) }, time.Second))
		require.NoError(t, err)
		s.Start(context.Background())
		defer s.Close()
		driveToSaturation(s)

		snap := scoretest.Snap(t, s, "A")
		require.Equal(t, math.MaxFloat64, snap.TopicScore)
		require.Equal(t, 1e308, snap.P5)
		require.Equal(t, -math.MaxFloat64, snap.P7)
		require.InEpsilon(t, 1e308, snap.Score, 1e-12, "Snapshot.Score")
		require.Equal(t, snap.Score, s.Score("A"))
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, snap.Score, inspected.Load(), "the inspection's score")
	})
}

// saturatingParams are the params of the two saturation tests: only P2
// on, at weights whose product overflows, a P5 of 1e308 and behaviour
// weights of -1e300.
func saturatingParams() *peerscore.Params {
	return &peerscore.Params{
		Topics: map[string]*peerscore.TopicParams{"T": {
			TopicWeight:                  1e300,
			FirstMessageDeliveriesWeight: 1e300, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 10,
			TimeInMeshQuantum:             time.Second,
			InvalidMessageDeliveriesDecay: 0.5,
		}},
		AppSpecificScore:       func(peer.ID) float64 { return 1e308 },
		AppSpecificWeight:      1,
		BehaviourPenaltyWeight: -1e300, BehaviourPenaltyDecay: 0.5,
		SlowPeerWeight: -1e300, SlowPeerDecay: 0.5,
		DecayInterval: time.Second, DecayToZero: 0.01,
	}
}

// driveToSaturation connects A, has it deliver one message first in T
// (topic score clamped to MaxFloat64), and charges it 2^31 penalties and
// one dropped message (behaviour term clamped to -MaxFloat64).
func driveToSaturation(s *peerscore.Scorer) {
	s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
	m := scoretest.Msg("T", "m", "A")
	s.Tracer().ValidateMessage(m)
	s.Tracer().DeliverMessage(m)
	s.AddPenalty("A", 1<<31)
	s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}}}}, "A")
}
