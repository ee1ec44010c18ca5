package peerscore_test

// GossipSubOptions (router.go): what the router is given. The rebuilt
// router penalties are in router_promises_test.go, router_backoff_test.go,
// router_extensions_test.go and router_slow_test.go.

import (
	"context"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
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

	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	require.NoError(t, err)
	s = scoretest.New(t, scoretest.Params(nil), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}))
	opts, err := s.GossipSubOptions()
	require.NoError(t, err)
	assert.Len(t, opts, 3, "the raw tracer, the peer score and the score inspection options")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = pubsub.NewGossipSub(ctx, h, opts...)
	assert.NoError(t, err, "pubsub accepts the zero-weight parameters and the thresholds")
}
