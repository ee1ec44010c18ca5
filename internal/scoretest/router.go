package scoretest

import (
	"context"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// Router wires s into a GossipSub router on h, the way an application
// would, and starts s; the router stops with ctx, s when the test ends.
func Router(t testing.TB, ctx context.Context, h host.Host, s *peerscore.Scorer) {
	t.Helper()
	opts, err := s.GossipSubOptions()
	require.NoError(t, err)
	_, err = pubsub.NewGossipSub(ctx, h, opts...)
	require.NoError(t, err)
	s.Start(ctx)
	t.Cleanup(func() { s.Close() })
}

// PlainRouter runs an unscored GossipSub router on h, so that a scored
// router elsewhere learns of h.
func PlainRouter(t testing.TB, ctx context.Context, h host.Host) {
	t.Helper()
	_, err := pubsub.NewGossipSub(ctx, h)
	require.NoError(t, err)
}
