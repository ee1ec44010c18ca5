package ban_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// The defect: 8,192 Sybils, each worse than a peer at about -1000, push
// that peer out of the scorer's retained set (a fixed bound always falls
// to strictly worse peers), and it returns with a score of 0. The gater's
// ban does not depend on the scorer's memory: with WithBanForRetainScore
// the peer, good until it turned bad in the same round as the flood, is
// banned at once (the flood does not spend the ban limit) and stays
// banned for RetainScore, though the scorer forgot it.
func TestBanOutlastsRetainedEviction(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		const retain = time.Hour
		app := newScoreTable()
		params := scoretest.BehaviourParams(app.Get)
		params.BehaviourPenaltyDecay = 0.999 // a slow decay: the scores hold over the test
		params.RetainScore = retain
		thresholds := routerThresholds
		s, err := peerscore.New(params, peerscore.WithThresholds(&thresholds), peerscore.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)

		offender := peer.ID("offender")
		app.Set(offender, 10)
		scoretest.Connect(s, offender)
		h := newFakeHost(offender)
		g := ban.NewGater()
		const interval = 30 * time.Second
		mon, err := ban.NewMonitor(h, s, g, ban.WithCheckInterval(interval), ban.WithBanForRetainScore(retain), quiet)
		require.NoError(t, err)
		mon.Start(context.Background())
		defer mon.Close()
		time.Sleep(interval + interval/2) // the offender is seen good

		// A flood of Sybils, each worse than the offender will be, comes
		// and is listed first in the next round; then the offender turns
		// bad, before that round reaches it.
		sybils := make([]peer.ID, 8192) // peerscore's default bound on retained peers
		for i := range sybils {
			sybils[i] = peer.ID(fmt.Sprintf("sybil-%05d", i))
			scoretest.Connect(s, sybils[i])
			s.AddPenalty(sybils[i], 33) // -1089
		}
		h.net.setPeers(append(sybils, offender))
		time.Sleep(interval)
		s.AddPenalty(offender, 32) // 10 - 32² = -1014
		time.Sleep(interval/2 + time.Millisecond)

		// The Sybils leave, banned or not, and so does the offender.
		for _, p := range sybils {
			s.Tracer().OnClosedOutboundStream(p)
		}
		s.Tracer().OnClosedOutboundStream(offender)
		require.Positive(t, s.Stats().RetainedEvicted)
		scoretest.RequireUnknown(t, s, offender)
		require.Zero(t, s.Score(offender), "the scorer forgot it")

		until, banned := g.Banned(offender)
		require.True(t, banned, "the gater keeps it out regardless")
		require.WithinDuration(t, time.Now().Add(retain), until, time.Second)
		time.Sleep(retain - 2*interval)
		_, banned = g.Banned(offender)
		require.True(t, banned)
	})
}
