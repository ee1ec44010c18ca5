package peerscore_test

// GossipSubOptions (router.go): what the router is given. The rebuilt
// router penalties are in router_promises_test.go, router_backoff_test.go,
// router_extensions_test.go and router_slow_test.go.

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

func TestGossipSubOptions(t *testing.T) {
	s := scoretest.New(t, scoretest.Params(nil))
	_, err := s.GossipSubOptions()
	assert.ErrorContains(t, err, "WithThresholds", "the router needs thresholds")
	_, err = peerscore.New(scoretest.Params(nil), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: 1}))
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "GossipThreshold", pe.Field)
	assert.Equal(t, "peerscore: GossipThreshold = 1: must be zero or negative and finite", err.Error(), "the error is prefixed once")

	// The options arm the router's scoring (pubsub refuses an inspector
	// without it) and add an inspector unless WithRouterCheck(0) (a second
	// one is refused as a duplicate). A router pubsub refuses leaves
	// goroutines behind, so this runs outside the bubble below.
	mn := mocknet.New()
	defer mn.Close()
	thr := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	inspect := pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(func(map[peer.ID]float64) {}), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, check := range []bool{true, false} {
		opts := []peerscore.Option{peerscore.WithThresholds(thr)}
		if !check {
			opts = append(opts, peerscore.WithRouterCheck(0))
		}
		router, err := scoretest.New(t, scoretest.Params(nil), opts...).GossipSubOptions()
		require.NoError(t, err)
		h, err := mn.GenPeer()
		require.NoError(t, err)
		_, err = pubsub.NewGossipSub(ctx, h, append(router, inspect)...)
		if check {
			require.ErrorContains(t, err, "duplicate peer score inspector", "the router check's inspector is among the options")
		} else {
			require.NoError(t, err, "scoring armed: pubsub takes an inspector, with the zero-weight parameters and the thresholds")
		}
	}
	testnet.Bubble(t, gossipSubOptionsWire)
}

// gossipSubOptionsWire checks, in a bubble, that the Scorer wired by
// GossipSubOptions traces a real router: it learns of the peer that
// connects, with and without the router check.
func gossipSubOptionsWire(t *testing.T) {
	net := testnet.New(time.Millisecond)
	var hosts []host.Host
	for i := range 4 {
		h, err := net.AddHost(testnet.PublicIP(i+1), 4001)
		require.NoError(t, err)
		hosts = append(hosts, h)
	}
	net.Start()
	thr := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { // everything the bubble started must end in it
		cancel()
		net.Close()
		time.Sleep(time.Minute)
	}()
	for i, check := range []bool{true, false} {
		opts := []peerscore.Option{peerscore.WithThresholds(thr)}
		if !check {
			opts = append(opts, peerscore.WithRouterCheck(0))
		}
		s := scoretest.New(t, scoretest.Params(nil), opts...)
		router, err := s.GossipSubOptions()
		require.NoError(t, err)
		h, other := hosts[2*i], hosts[2*i+1]
		_, err = pubsub.NewGossipSub(ctx, h, router...)
		require.NoError(t, err)
		_, err = pubsub.NewGossipSub(ctx, other)
		require.NoError(t, err)
		require.NoError(t, testnet.Connect(ctx, h, other))
		time.Sleep(time.Second) // fake time: the streams open
		synctest.Wait()
		_, known := s.Snapshot(other.ID())
		require.True(t, known, "the Scorer traces the router: it learns of the peer that connected")
	}
}
