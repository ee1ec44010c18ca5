package peerscore_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// Direct peers named with WithDirectPeers are treated as the router treats
// them: a GRAFT during a backoff costs them nothing (the router answers a
// direct peer's GRAFT with a PRUNE, before any backoff check), and their
// RPCs reach the router whatever their score.
func TestDirectPeers(t *testing.T) {
	const topic = "T"
	direct := []peer.AddrInfo{{ID: "D"}}
	graylisted := func(p peer.ID) float64 { return -100 } // below -80: graylisted
	run := func(t *testing.T, app func(peer.ID) float64, opts ...peerscore.Option) (d, other float64) {
		s := scoretest.New(t, scoretest.BehaviourParams(app), append([]peerscore.Option{peerscore.WithThresholds(scoretest.Thresholds())}, opts...)...)
		scoretest.Connect(s, "D", "A")
		s.Tracer().Join(topic)
		for _, p := range []peer.ID{"D", "A"} {
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, p)
			s.Tracer().RecvRPC(scoretest.ControlRPC(p, graftCtl(topic)))
		}
		return scoretest.Snap(t, s, "D").BehaviourPenalty, scoretest.Snap(t, s, "A").BehaviourPenalty
	}
	t.Run("a direct peer's GRAFT during a backoff is free", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d, a := run(t, nil, peerscore.WithDirectPeers(direct))
			assert.Zero(t, d, "direct peer")
			assert.Equal(t, 2.0, a, "the other peer, inside the flood window")
		})
	})
	t.Run("unless the scorer is not told", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			d, _ := run(t, nil)
			assert.Equal(t, 2.0, d)
		})
	})
	t.Run("a graylisted direct peer's RPCs still reach the router", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := scoretest.NewStreamHost()
			s := scoretest.New(t, scoretest.BehaviourParams(graylisted), peerscore.WithHost(h),
				peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithDirectPeers(direct))
			scoretest.Connect(s, "D", "A")
			for _, p := range []peer.ID{"D", "A"} {
				h.Open(p, "stream-"+string(p), pubsub.GossipSubID_v13)
				for range 3 {
					s.Tracer().RecvRPC(scoretest.ExtensionsRPC(p, true))
				}
			}
			assert.Equal(t, 20.0, scoretest.Snap(t, s, "D").BehaviourPenalty, "the router handles and charges both repeats")
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "the router drops a graylisted peer's RPCs unread")
		})
	})
}

// GossipSubOptions hands the direct peers to the router, which accepts them.
func TestDirectPeersGivenToTheRouter(t *testing.T) {
	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	require.NoError(t, err)
	other, err := mn.GenPeer()
	require.NoError(t, err)
	s := scoretest.New(t, scoretest.Params(nil), peerscore.WithThresholds(scoretest.Thresholds()),
		peerscore.WithDirectPeers([]peer.AddrInfo{{ID: other.ID(), Addrs: other.Addrs()}}))
	opts, err := s.GossipSubOptions()
	require.NoError(t, err)
	assert.Len(t, opts, 4, "the tracer, the peer score, the inspection and the direct peers")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = pubsub.NewGossipSub(ctx, h, opts...)
	require.NoError(t, err)
	assert.NotEmpty(t, h.Peerstore().Addrs(other.ID()), "the router stored the direct peer's addresses")

	_, err = peerscore.New(scoretest.Params(nil), peerscore.WithDirectPeers([]peer.AddrInfo{{}}))
	assert.ErrorContains(t, err, "peerscore: WithDirectPeers: a peer without an ID")
}

// The router never asks for a direct peer's score, so the router check
// must not count a direct peer's RPCs as unanswered.
func TestDirectPeersRouterCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []peerscore.Option
		want uint64
	}{
		{"named", []peerscore.Option{peerscore.WithDirectPeers([]peer.AddrInfo{{ID: "D"}})}, 0},
		{"not named: the router looks unwired", nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, scoretest.Params(nil), append(c.opts, peerscore.WithThresholds(scoretest.Thresholds()),
					peerscore.WithRouterCheck(time.Second), peerscore.WithLogger(slog.New(slog.DiscardHandler)))...)
				_, err := s.GossipSubOptions() // arms the check; no router asks
				require.NoError(t, err)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				s.Start(ctx)
				defer s.Close()
				scoretest.Connect(s, "D")
				for range 3 {
					s.Tracer().RecvRPC(scoretest.ControlRPC("D", &pb.ControlMessage{}))
				}
				time.Sleep(time.Second + time.Millisecond)
				synctest.Wait()
				assert.Equal(t, c.want, s.Stats().RouterMismatches)
			})
		})
	}
}
