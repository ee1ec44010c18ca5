package peerscore_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// Migrating from pubsub's scorer: what a node brings over from its
// pubsub configuration must work as it did there.

// TestNewWarnsOfUnweightedAppScore: an AppSpecificScore with a zero
// AppSpecificWeight is valid (pubsub accepts it) but counts for nothing,
// which is never what a node that sets the function means: New says so
// at Warn, and only then.
func TestNewWarnsOfUnweightedAppScore(t *testing.T) {
	app := func(peer.ID) float64 { return 5 }
	cases := []struct {
		name   string
		app    func(peer.ID) float64
		weight float64
		warn   bool
	}{
		{"function, weight 0", app, 0, true},
		{"function, weight 1", app, 1, false},
		{"function, negative weight", app, -1, false},
		{"no function, weight 0", nil, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			p := scoretest.Params(nil)
			p.AppSpecificScore, p.AppSpecificWeight = c.app, c.weight
			s := scoretest.New(t, p, peerscore.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			if c.warn {
				assert.Contains(t, log.String(), "level=WARN")
				assert.Contains(t, log.String(), "AppSpecificWeight is 0")
			} else {
				assert.Empty(t, log.String())
			}
			scoretest.Connect(s, "A")
			want := 0.0
			if c.app != nil {
				want = 5 * c.weight
			}
			require.Equal(t, want, s.Score("A"))
		})
	}
}

// TestWithInspectTakesPubsubCallbacks: a callback written for
// pubsub.WithPeerScoreInspect, of either of its callback types, moves to
// WithInspect unchanged, as the README's migration table says.
func TestWithInspectTakesPubsubCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var plain map[peer.ID]float64
		var extended map[peer.ID]*pubsub.PeerScoreSnapshot
		for _, fn := range []any{
			pubsub.PeerScoreInspectFn(func(m map[peer.ID]float64) { plain = m }),
			pubsub.ExtendedPeerScoreInspectFn(func(m map[peer.ID]*pubsub.PeerScoreSnapshot) { extended = m }),
		} {
			p := scoretest.Params(nil)
			p.AppSpecificScore, p.AppSpecificWeight = func(peer.ID) float64 { return 3 }, 1
			s := scoretest.New(t, p, peerscore.WithInspect(fn, time.Second))
			scoretest.Connect(s, "A")
			ctx, cancel := context.WithCancel(context.Background())
			s.Start(ctx)
			time.Sleep(1500 * time.Millisecond)
			cancel()
			require.NoError(t, s.Close())
		}
		assert.Equal(t, map[peer.ID]float64{"A": 3}, plain)
		require.Contains(t, extended, peer.ID("A"))
		assert.Equal(t, 3.0, extended["A"].Score)
		assert.Equal(t, 3.0, extended["A"].AppSpecificScore)
	})
}

// TestOwnInspectorAfterGossipSubOptions: a node that still passes its own
// pubsub.WithPeerScoreInspect after GossipSubOptions' options finds out at
// start, as GossipSubOptions documents; with WithRouterCheck(0) there is
// no inspector of ours and its own goes in.
func TestOwnInspectorAfterGossipSubOptions(t *testing.T) {
	mn := mocknet.New()
	defer mn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	own := pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(func(map[peer.ID]float64) {}), time.Second)
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	for _, c := range []struct {
		opts []peerscore.Option
		want string // the error NewGossipSub returns; "" for none
	}{
		{nil, "duplicate peer score inspector"},
		{[]peerscore.Option{peerscore.WithRouterCheck(0)}, ""},
	} {
		h, err := mn.GenPeer()
		require.NoError(t, err)
		s := scoretest.New(t, scoretest.Params(nil), append(c.opts, peerscore.WithThresholds(thresholds))...)
		opts, err := s.GossipSubOptions()
		require.NoError(t, err)
		_, err = pubsub.NewGossipSub(ctx, h, append(opts, own)...)
		if c.want == "" {
			assert.NoError(t, err)
		} else {
			assert.ErrorContains(t, err, c.want)
		}
	}
}
