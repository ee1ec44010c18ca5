package rank_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/rank"
)

// With the Tagger running on a real host whose connection manager trims,
// the peers with the lowest scores (from a real Scorer plugged into a real
// GossipSub router: application scores and a penalty) are the ones
// disconnected. The best peer and a marked (static) peer survive, even
// when other tags outweigh the best one and the static one has the worst
// score of all; without those protections, both would go.
func TestTaggerTrimsLowestScorers(t *testing.T) {
	const us, best, a, b, c, d, e, static = 0, 1, 2, 3, 4, 5, 6, 7
	for _, tc := range []struct {
		name      string
		protect   bool
		survivors []int
	}{
		// Unprotected: a, b, c, d, e (5 connections) down to the low
		// watermark of 2: the three lowest sums go, e (-50), d (-9), c (-5).
		{name: "protected", protect: true, survivors: []int{best, a, b, static}},
		// All 7 are candidates: the five lowest sums go, static (-200) and
		// best (40, below a and b's 100 from another subsystem) among them.
		{name: "unprotected", survivors: []int{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				net := newTrimNet(t, 8, 2, 50)
				app := newScoreTable()
				for i, v := range map[int]float64{best: 40, a: 10, b: 5, c: -5, e: -50, static: -200} {
					app.Set(net.id(i), v)
				}
				scorer := scoredRouter(t, ctx, net.hosts[us], app.Score)
				for i := 1; i < len(net.hosts); i++ {
					scoretest.PlainRouter(t, ctx, net.hosts[i])
				}
				net.connectAll(t, ctx)
				time.Sleep(time.Second) // the routers meet
				scorer.AddPenalty(net.id(d), 3)
				require.InDelta(t, -9, scorer.Score(net.id(d)), 0.1)
				require.Equal(t, -200.0, scorer.Score(net.id(static)))

				// Another part of the node values a and b.
				net.cm.TagPeer(net.id(a), "app", 100)
				net.cm.TagPeer(net.id(b), "app", 100)

				opts := []rank.Option{rank.WithInterval(5 * time.Second)}
				if tc.protect {
					opts = append(opts, rank.WithProtectBest(1),
						rank.WithProtected(func(p peer.ID) bool { return p == net.id(static) }))
				}
				tagger, err := rank.NewTagger(net.hosts[us], scorer, opts...)
				require.NoError(t, err)
				tagger.Start(ctx)
				defer tagger.Close()
				time.Sleep(time.Second)

				for i := 1; i < len(net.hosts); i++ {
					v, ok := net.tag(i, "peerscore")
					require.True(t, ok, "peer %d untagged", i)
					require.Equal(t, int(math.Round(scorer.Score(net.id(i)))), v, "peer %d", i)
					protected := tc.protect && (i == best || i == static)
					require.Equal(t, protected, net.cm.IsProtected(net.id(i), "peerscore"), "peer %d", i)
				}

				net.cm.TrimOpenConns(ctx)
				time.Sleep(time.Second)
				var got []int
				for i := 1; i < len(net.hosts); i++ {
					if net.connected(i) {
						got = append(got, i)
					}
				}
				require.Equal(t, tc.survivors, got)
			})
		})
	}
}

// The Tagger follows the scores: a change reaches the tag at the next
// round, protection moves to the new best, a peer that reconnects (and so
// lost its tags) is tagged again, a peer that leaves loses its protection.
// Rounds in which nothing changed make no connection-manager call at all.
// Close takes every tag and protection off, and a Refresh after it does
// nothing.
func TestTaggerFollowsScores(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const us, x, y, z = 0, 1, 2, 3
		net := newTrimNet(t, 4, 10, 50)
		net.connectAll(t, ctx)
		scores := newScoreTable()
		scores.Set(net.id(x), 30)
		scores.Set(net.id(y), 20)
		scores.Set(net.id(z), -10.4)

		const interval = 10 * time.Second
		tagger, err := rank.NewTagger(net.hosts[us], scores, rank.WithInterval(interval), rank.WithProtectBest(1))
		require.NoError(t, err)
		tagger.Start(ctx)
		defer tagger.Close()
		time.Sleep(time.Second)
		requireTags := func(want map[int]int) {
			t.Helper()
			for i, v := range want {
				got, ok := net.tag(i, "peerscore")
				require.True(t, ok, "peer %d untagged", i)
				require.Equal(t, v, got, "peer %d", i)
			}
		}
		requireTags(map[int]int{x: 30, y: 20, z: -10})
		require.True(t, net.cm.IsProtected(net.id(x), "peerscore"))
		require.False(t, net.cm.IsProtected(net.id(y), "peerscore"))
		require.Equal(t, map[string]int{"TagPeer": 3, "Protect": 1}, net.cm.counts())

		// Steady state: three rounds, no call.
		time.Sleep(3 * interval)
		require.Equal(t, map[string]int{"TagPeer": 3, "Protect": 1}, net.cm.counts())
		// A score change within the same rounded value: no call either.
		scores.Set(net.id(z), -9.6)
		time.Sleep(interval)
		require.Equal(t, map[string]int{"TagPeer": 3, "Protect": 1}, net.cm.counts())

		// y becomes the best: one tag, one protection moved.
		scores.Set(net.id(y), 50)
		time.Sleep(interval)
		requireTags(map[int]int{x: 30, y: 50, z: -10})
		require.True(t, net.cm.IsProtected(net.id(y), "peerscore"))
		require.False(t, net.cm.IsProtected(net.id(x), "peerscore"))
		require.Equal(t, map[string]int{"TagPeer": 4, "Protect": 2, "Unprotect": 1}, net.cm.counts())

		// z leaves: the connection manager forgets its tags. It comes
		// back untagged, and the next round tags it again.
		require.NoError(t, net.hosts[us].Network().ClosePeer(net.id(z)))
		time.Sleep(time.Second)
		require.Nil(t, net.cm.GetTagInfo(net.id(z)))
		require.NoError(t, testnet.Connect(ctx, net.hosts[us], net.hosts[z]))
		time.Sleep(time.Second)
		_, tagged := net.tag(z, "peerscore")
		require.False(t, tagged, "a new connection carries no tag")
		time.Sleep(interval)
		requireTags(map[int]int{z: -10})
		require.Equal(t, map[string]int{"TagPeer": 5, "Protect": 2, "Unprotect": 1}, net.cm.counts())

		// The protected best leaves: its protection goes, x is the best
		// again.
		require.NoError(t, net.hosts[us].Network().ClosePeer(net.id(y)))
		time.Sleep(interval)
		require.False(t, net.cm.IsProtected(net.id(y), "peerscore"))
		require.True(t, net.cm.IsProtected(net.id(x), "peerscore"))
		require.Equal(t, map[string]int{"TagPeer": 5, "Protect": 3, "Unprotect": 2}, net.cm.counts())

		// Close: no tag, no protection left; Refresh does nothing more.
		require.NoError(t, tagger.Close())
		for _, i := range []int{x, z} {
			_, tagged := net.tag(i, "peerscore")
			require.False(t, tagged, "peer %d still tagged", i)
			require.False(t, net.cm.IsProtected(net.id(i), "peerscore"), "peer %d still protected", i)
		}
		after := net.cm.counts()
		tagger.Refresh()
		time.Sleep(3 * interval)
		require.Equal(t, after, net.cm.counts())
		_, tagged = net.tag(x, "peerscore")
		require.False(t, tagged)
	})
}

// Refresh does a round on the caller's goroutine, without Start: the tags
// are in place when it returns, ready for a trim started at once.
func TestTaggerRefreshWithoutStart(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := newTrimNet(t, 4, 1, 50)
		net.connectAll(t, ctx)
		scores := newScoreTable()
		for i, v := range []float64{0, 3, -2, 1} {
			scores.Set(net.id(i), v)
		}
		tagger, err := rank.NewTagger(net.hosts[0], scores)
		require.NoError(t, err)
		defer tagger.Close()

		tagger.Refresh()
		for i, want := range []int{0, 3, -2, 1} {
			if i == 0 {
				continue
			}
			v, ok := net.tag(i, "peerscore")
			require.True(t, ok)
			require.Equal(t, want, v)
		}
		net.cm.TrimOpenConns(ctx)
		time.Sleep(time.Second)
		require.True(t, net.connected(1), "the best peer was trimmed")
		require.False(t, net.connected(2))
		require.False(t, net.connected(3))
	})
}

// WithTag and WithTagScale change the tag's name and values; tags under
// other names (another subsystem's) are left alone, by rounds and by
// Close.
func TestTaggerTagNameAndScale(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := newTrimNet(t, 3, 10, 50)
		net.connectAll(t, ctx)
		scores := newScoreTable()
		scores.Set(net.id(1), 0.26)
		scores.Set(net.id(2), -7)
		net.cm.TagPeer(net.id(1), "score", 5) // not ours
		tagger, err := rank.NewTagger(net.hosts[0], scores, rank.WithTag("score/gossip"), rank.WithTagScale(10, 50))
		require.NoError(t, err)
		tagger.Refresh()
		v, _ := net.tag(1, "score/gossip")
		require.Equal(t, 3, v)
		v, _ = net.tag(2, "score/gossip")
		require.Equal(t, -50, v, "clamped")
		_, ok := net.tag(1, "peerscore")
		require.False(t, ok)
		require.NoError(t, tagger.Close())
		_, ok = net.tag(1, "score/gossip")
		require.False(t, ok)
		v, ok = net.tag(1, "score")
		require.True(t, ok)
		require.Equal(t, 5, v)
	})
}

// WithLogger receives a summary of each round at debug level.
func TestTaggerWithLogger(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := newTrimNet(t, 3, 10, 50)
		net.connectAll(t, ctx)
		var logs bytes.Buffer // written by Refresh on this goroutine
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		tagger, err := rank.NewTagger(net.hosts[0], rank.ScoreFunc(func(peer.ID) float64 { return 1 }),
			rank.WithLogger(logger), rank.WithProtectBest(1))
		require.NoError(t, err)
		defer tagger.Close()
		tagger.Refresh()
		require.Contains(t, logs.String(), `level=DEBUG msg="tagged peers by score" tag=peerscore peers=2 retagged=2 protected=1 unprotected=0`)
	})
}
