package peerscore_test

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// Slow writes (SendRPCCompleted, reported by pubsub v0.19.0 and later): a
// write to a peer's stream slower than SlowPeerWriteThreshold adds 1 to the
// slow-peer counter DropRPC also feeds. These tests call the method
// directly, so they run against every pubsub release; the end-to-end test
// with a real router is in e2e_slow_writes_test.go.

// swParams turns the slow-peer penalty on (weight -0.5 above 2, halving
// every Refresh) with a write threshold of one second.
func swParams() *peerscore.Params {
	p := scoretest.Params(nil)
	p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = -0.5, 2, 0.5
	p.SlowPeerWriteThreshold = time.Second
	return p
}

func swRPC() *pubsub.RPC {
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
		{"slower than the threshold", on, "A", swRPC(), time.Second + 1, 1},
		{"much slower still counts 1", on, "A", swRPC(), time.Hour, 1},
		{"exactly the threshold", on, "A", swRPC(), time.Second, 0},
		{"fast", on, "A", swRPC(), time.Millisecond, 0},
		{"zero duration", on, "A", swRPC(), 0, 0},
		{"negative duration", on, "A", swRPC(), -time.Hour, 0},
		{"an RPC without messages counts: the write was slow", on, "A", &pubsub.RPC{}, 2 * time.Second, 1},
		{"nil RPC counts: only the duration matters", on, "A", nil, 2 * time.Second, 1},
		{"threshold 0 is off", setup{0, -0.5}, "A", swRPC(), time.Hour, 0},
		{"slow-peer weight 0 is off", setup{time.Second, 0}, "A", swRPC(), time.Hour, 0},
		{"retained peer", on, "R", swRPC(), time.Hour, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := swParams()
				p.SlowPeerWriteThreshold, p.SlowPeerWeight = c.setup.threshold, c.setup.weight
				s := scoretest.New(t, p)
				scoretest.Connect(s, "A", "R")
				s.Tracer().OnClosedOutboundStream("R") // score 0: retained
				writeDone(s).SendRPCCompleted(c.rpc, c.peer, c.took)
				assert.Equal(t, c.want, scoretest.Snap(t, s, c.peer).SlowPeerCounter)
				assert.Equal(t, uint64(c.want), s.Stats().Penalties[peerscore.PenaltySlowPeer])
			})
		})
	}
	t.Run("unknown peer is not tracked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, swParams())
			writeDone(s).SendRPCCompleted(swRPC(), "stranger", time.Hour)
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
		s := scoretest.New(t, swParams())
		scoretest.Connect(s, "A")
		for range 3 {
			writeDone(s).SendRPCCompleted(swRPC(), "A", 5*time.Second)
		}
		writeDone(s).SendRPCCompleted(swRPC(), "A", 10*time.Millisecond) // fast: nothing
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

// TestSlowWriteThresholdValidation: a negative threshold is rejected with
// the field named, in both modes and with the rest of the slow-peer group
// off; New refuses it and changes nothing.
func TestSlowWriteThresholdValidation(t *testing.T) {
	for _, skip := range []bool{false, true} {
		p := baseParams(skip)
		p.SlowPeerWriteThreshold = -time.Nanosecond
		err := p.Validate()
		var pe *peerscore.ParamError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "SlowPeerWriteThreshold", pe.Field)
		assert.ErrorIs(t, err, peerscore.ErrInvalidParams)

		p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = 0, 0, 0
		require.ErrorAs(t, p.Validate(), &pe, "checked with the rest of the group off")
		assert.Equal(t, "SlowPeerWriteThreshold", pe.Field)

		s, err := peerscore.New(p)
		assert.Nil(t, s)
		require.ErrorAs(t, err, &pe)
	}
}

// sendCompleter is the tracer method pubsub v0.19.0 added; the Scorer's
// tracer has it on every release, but pubsub.RawTracer only from v0.19.0.
type sendCompleter interface {
	SendRPCCompleted(rpc *pubsub.RPC, p peer.ID, writeDuration time.Duration)
}

func writeDone(s *peerscore.Scorer) sendCompleter { return s.Tracer().(sendCompleter) }
