package peerscore_test

// The slow-peer penalty (router_slow.go). Every message in
// an RPC the router dropped on its way to a peer adds 1 to the peer's
// slow-peer counter, and so does a write to its stream slower than
// SlowPeerWriteThreshold (SendRPCCompleted, reported by pubsub v0.19.0 and
// later). These tests call the tracer directly, so they run against every
// pubsub release; the end-to-end test with a real router is in
// e2e_slow_writes_test.go.

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// slowParams turns the slow-peer penalty on (weight -0.5 above 2, halving
// every Refresh) with a write threshold of one second.
func slowParams() *peerscore.Params {
	p := scoretest.Params(nil)
	p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = -0.5, 2, 0.5
	p.SlowPeerWriteThreshold = time.Second
	return p
}

func oneMessageRPC() *pubsub.RPC {
	return &pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}}}}
}

// TestSlowWriteRules: which reports count, one row per rule.
func TestSlowWriteRules(t *testing.T) {
	type setup struct {
		threshold time.Duration
		weight    float64
	}
	on := setup{time.Second, -0.5}
	cases := []struct {
		name  string
		setup setup
		peer  peer.ID // "A" is connected, "R" retained, others unknown
		rpc   *pubsub.RPC
		took  time.Duration
		want  float64 // added to the counter of peer
	}{
		{"slower than the threshold", on, "A", oneMessageRPC(), time.Second + 1, 1},
		{"much slower still counts 1", on, "A", oneMessageRPC(), time.Hour, 1},
		{"exactly the threshold", on, "A", oneMessageRPC(), time.Second, 0},
		{"fast", on, "A", oneMessageRPC(), time.Millisecond, 0},
		{"zero duration", on, "A", oneMessageRPC(), 0, 0},
		{"negative duration", on, "A", oneMessageRPC(), -time.Hour, 0},
		{"an RPC without messages counts: the write was slow", on, "A", &pubsub.RPC{}, 2 * time.Second, 1},
		{"nil RPC counts: only the duration matters", on, "A", nil, 2 * time.Second, 1},
		{"threshold 0 is off", setup{0, -0.5}, "A", oneMessageRPC(), time.Hour, 0},
		{"slow-peer weight 0 is off", setup{time.Second, 0}, "A", oneMessageRPC(), time.Hour, 0},
		{"retained peer", on, "R", oneMessageRPC(), time.Hour, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := slowParams()
				p.SlowPeerWriteThreshold, p.SlowPeerWeight = c.setup.threshold, c.setup.weight
				s := scoretest.New(t, p)
				scoretest.Connect(s, "A", "R")
				s.Tracer().OnClosedOutboundStream("R") // score 0: retained
				scoretest.SendRPCCompleted(s, c.rpc, c.peer, c.took)
				assert.Equal(t, c.want, scoretest.Snap(t, s, c.peer).SlowPeerCounter)
				assert.Equal(t, uint64(c.want), s.Stats().Penalties[peerscore.PenaltySlowPeer])
			})
		})
	}
	t.Run("unknown peer is not tracked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, slowParams())
			scoretest.SendRPCCompleted(s, oneMessageRPC(), "stranger", time.Hour)
			_, known := s.Snapshot("stranger")
			assert.False(t, known)
			assert.Zero(t, s.Stats().Penalties[peerscore.PenaltySlowPeer])
		})
	})
}

// TestSlowWriteSharesTheSlowCounter: slow writes and dropped messages add
// to one counter, with one decay, one threshold and one weight, and one
// penalty total.
func TestSlowWriteSharesTheSlowCounter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, slowParams())
		scoretest.Connect(s, "A")
		for range 3 {
			scoretest.SendRPCCompleted(s, oneMessageRPC(), "A", 5*time.Second)
		}
		scoretest.SendRPCCompleted(s, oneMessageRPC(), "A", 10*time.Millisecond) // fast: nothing
		drop := &pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}, {Data: []byte("y")}}}}
		s.Tracer().DropRPC(drop, "A")

		snap := scoretest.Snap(t, s, "A")
		assert.Equal(t, 5.0, snap.SlowPeerCounter, "3 slow writes + 2 dropped messages")
		assert.Equal(t, -1.5, snap.SlowPeer, "-0.5 × (5 − 2)")
		assert.Equal(t, -1.5, snap.Score)
		assert.Equal(t, -1.5, s.Score("A"))
		assert.Equal(t, uint64(5), s.Stats().Penalties[peerscore.PenaltySlowPeer])

		s.Refresh()
		snap = scoretest.Snap(t, s, "A")
		assert.Equal(t, 2.5, snap.SlowPeerCounter, "decays with SlowPeerDecay")
		assert.Equal(t, -0.25, snap.SlowPeer)
		why, value := snap.Dominant()
		assert.Equal(t, peerscore.ComponentSlowPeer, why)
		assert.Equal(t, -0.25, value)
	})
}

// Slow peers: every message in an RPC the router dropped on its way to a
// peer adds 1; the penalty is linear above the threshold and decays.
func TestSlowPeerPenalty(t *testing.T) {
	drop := func(s *peerscore.Scorer, p peer.ID, messages int) {
		rpc := &pubsub.RPC{}
		for i := 0; i < messages; i++ {
			rpc.Publish = append(rpc.Publish, &pb.Message{Data: []byte("x")})
		}
		s.Tracer().DropRPC(rpc, p)
	}
	synctest.Test(t, func(t *testing.T) {
		p := scoretest.Params(nil)
		p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = -0.5, 10, 0.5
		s := scoretest.New(t, p)
		scoretest.Connect(s, "A")
		for range 3 {
			drop(s, "A", 4)
		}
		drop(s, "A", 0) // control only: nothing to count
		snap := scoretest.Snap(t, s, "A")
		assert.Equal(t, 12.0, snap.SlowPeerCounter)
		assert.Equal(t, -1.0, snap.SlowPeer, "-0.5 × (12 − 10)")
		assert.Equal(t, -1.0, snap.Score)
		assert.Equal(t, uint64(12), s.Stats().Penalties[peerscore.PenaltySlowPeer])

		s.Refresh() // 6: under the threshold
		snap = scoretest.Snap(t, s, "A")
		assert.Equal(t, 6.0, snap.SlowPeerCounter)
		assert.Zero(t, snap.SlowPeer)

		drop(s, "stranger", 100) // unknown peers are not tracked
		_, known := s.Snapshot("stranger")
		assert.False(t, known)
		scoretest.Connect(s, "B")
		s.Tracer().OnClosedOutboundStream("B") // a score of 0: retained
		drop(s, "B", 100)                      // nor are disconnected ones: their queue is gone
		assert.Zero(t, scoretest.Snap(t, s, "B").SlowPeerCounter)
	})
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(nil)) // SlowPeerWeight 0: off
		scoretest.Connect(s, "A")
		drop(s, "A", 50)
		assert.Zero(t, scoretest.Snap(t, s, "A").SlowPeerCounter)
		assert.Zero(t, s.Stats().Penalties[peerscore.PenaltySlowPeer])
	})
}
