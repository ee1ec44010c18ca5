package ban_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// A peer whose score (from a real Scorer plugged into a real GossipSub
// router) is below the minimum is disconnected within one check interval,
// cannot reconnect in either direction while banned, and can once the ban
// has expired; a peer above the minimum stays throughout.
func TestMonitorBansLowScorePeer(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const us, bad, good = 0, 1, 2
		net := newGatedNet(t, 3)
		hUs, hBad, hGood := net.hosts[us], net.hosts[bad], net.hosts[good]

		app := newScoreTable()
		app.Set(hBad.ID(), -1000)
		app.Set(hGood.ID(), 5)
		scorer := scoredRouter(t, ctx, hUs, app.Get, 10*time.Minute)
		scoretest.PlainRouter(t, ctx, hBad)
		scoretest.PlainRouter(t, ctx, hGood)
		require.NoError(t, net.connect(ctx, us, bad))
		require.NoError(t, net.connect(ctx, us, good))
		time.Sleep(time.Second) // the routers meet
		require.Equal(t, -1000.0, scorer.Score(hBad.ID()))
		require.Equal(t, 5.0, scorer.Score(hGood.ID()))

		const interval, banFor = 10 * time.Second, 5 * time.Minute
		bans := &banLog{}
		mon, err := ban.NewMonitor(hUs, scorer, net.gaters[us],
			ban.WithMinScore(-50),
			ban.WithCheckInterval(interval),
			ban.WithBanDuration(banFor),
			ban.WithOnBan(bans.onBan),
			quiet,
		)
		require.NoError(t, err)
		start := time.Now()
		mon.Start(ctx)
		defer mon.Close()

		time.Sleep(interval + 100*time.Millisecond)
		require.False(t, net.connected(us, bad), "bad peer still connected after one interval")
		require.True(t, net.connected(us, good), "good peer disconnected")

		got := bans.get()
		require.Len(t, got, 1)
		require.Equal(t, hBad.ID(), got[0].peer)
		require.Equal(t, -1000.0, got[0].score)
		// Two peers, one check every interval/2: the bad one was checked at
		// one of these two moments.
		require.Contains(t, []time.Time{start.Add(interval/2 + banFor), start.Add(interval + banFor)}, got[0].until)
		until, ok := net.gaters[us].Banned(hBad.ID())
		require.True(t, ok)
		require.Equal(t, got[0].until, until)

		// While banned, neither side can connect, even with a good score.
		app.Set(hBad.ID(), 0)
		net.requireRefused(t, ctx, us, bad)
		time.Sleep(time.Until(until) - 10*time.Second)
		net.requireRefused(t, ctx, us, bad)

		// Once the ban is over, the peer is welcome back, and stays.
		time.Sleep(time.Until(until) + time.Second)
		_, ok = net.gaters[us].Banned(hBad.ID())
		require.False(t, ok)
		require.NoError(t, net.connect(ctx, bad, us))
		time.Sleep(2 * interval)
		require.True(t, net.connected(us, bad), "unbanned peer with a good score disconnected")
		require.True(t, net.connected(us, good))
		require.Len(t, bans.get(), 1)
	})
}

// Peers below the minimum that are protected (by a static list, or by the
// connection manager) stay connected; so do peers exactly at the minimum
// and above it. Only the unprotected bad peer goes.
func TestMonitorSparesProtectedAndGoodPeers(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const us, bad, static, tagged, atMin, good = 0, 1, 2, 3, 4, 5
		net := newGatedNet(t, 6)
		id := func(i int) peer.ID { return net.hosts[i].ID() }
		scores := newScoreTable()
		scores.Set(id(bad), -1000)
		scores.Set(id(static), -1000)
		scores.Set(id(tagged), -1000)
		scores.Set(id(atMin), -50)
		scores.Set(id(good), 1)
		for i := 1; i < len(net.hosts); i++ {
			require.NoError(t, net.connect(ctx, us, i))
		}
		hUs := net.hosts[us]
		hUs.ConnManager().Protect(id(tagged), "trusted")

		var logs pkgtest.LogBuffer
		logger := logs.Logger()
		bans := &banLog{}
		const interval = 10 * time.Second
		mon, err := ban.NewMonitor(hUs, scores, net.gaters[us],
			ban.WithMinScore(-50),
			ban.WithCheckInterval(interval),
			ban.WithProtected(func(p peer.ID) bool { return p == id(static) }),
			ban.WithProtected(func(p peer.ID) bool { return hUs.ConnManager().IsProtected(p, "") }),
			ban.WithOnBan(bans.onBan),
			ban.WithLogger(logger),
		)
		require.NoError(t, err)
		mon.Start(ctx)
		defer mon.Close()

		time.Sleep(2*interval + 100*time.Millisecond)
		require.False(t, net.connected(us, bad), "unprotected bad peer still connected")
		for _, i := range []int{static, tagged, atMin, good} {
			require.True(t, net.connected(us, i), "peer %d disconnected", i)
			_, banned := net.gaters[us].Banned(id(i))
			require.False(t, banned, "peer %d banned", i)
		}
		got := bans.get()
		require.Len(t, got, 1)
		require.Equal(t, id(bad), got[0].peer)
		require.Equal(t, []peer.ID{id(bad)}, bannedPeers(net.gaters[us].Bans()))

		out := logs.String()
		require.Contains(t, out, "banned peer below minimum score")
		require.Contains(t, out, "protected peer below minimum score not banned")
	})
}

// With WithBanForRetainScore, the ban lasts the scorer's RetainScore rather
// than the ban duration: the peer is kept out for as long as the scorer
// holds its score, and the two end together.
func TestMonitorBanForRetainScore(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const us, bad = 0, 1
		net := newGatedNet(t, 2)
		hUs, hBad := net.hosts[us], net.hosts[bad]
		app := newScoreTable()
		app.Set(hBad.ID(), -1000)
		const retain = 20 * time.Minute
		scorer := scoredRouter(t, ctx, hUs, app.Get, retain)
		scoretest.PlainRouter(t, ctx, hBad)
		require.NoError(t, net.connect(ctx, us, bad))
		time.Sleep(time.Second)
		require.Equal(t, -1000.0, scorer.Score(hBad.ID()))

		const interval = 10 * time.Second
		bans := &banLog{}
		mon, err := ban.NewMonitor(hUs, scorer, net.gaters[us],
			ban.WithMinScore(-50),
			ban.WithCheckInterval(interval),
			ban.WithBanDuration(time.Minute), // overridden
			ban.WithBanForRetainScore(retain),
			ban.WithOnBan(bans.onBan),
			quiet,
		)
		require.NoError(t, err)
		start := time.Now()
		mon.Start(ctx)
		defer mon.Close()

		time.Sleep(interval + 100*time.Millisecond)
		require.False(t, net.connected(us, bad))
		got := bans.get()
		require.Len(t, got, 1)
		require.Equal(t, start.Add(interval+retain), got[0].until)

		// Past the ban duration, still banned; and the scorer still holds
		// the disconnected peer's bad score.
		time.Sleep(2 * time.Minute)
		net.requireRefused(t, ctx, us, bad)
		_, retained := scorer.Snapshot(hBad.ID())
		require.True(t, retained)
		require.Equal(t, -1000.0, scorer.Score(hBad.ID()))

		// Just before the ban ends the scorer still has the peer; just
		// after, it has forgotten it and the gater lets it in.
		app.Set(hBad.ID(), 0)
		time.Sleep(time.Until(got[0].until) - 3*time.Second)
		net.requireRefused(t, ctx, us, bad)
		_, retained = scorer.Snapshot(hBad.ID())
		require.True(t, retained)
		time.Sleep(time.Until(got[0].until) + 2*time.Second)
		_, retained = scorer.Snapshot(hBad.ID())
		require.False(t, retained, "scorer still retains the peer after its ban")
		require.NoError(t, net.connect(ctx, bad, us))
		time.Sleep(time.Second)
		require.True(t, net.connected(us, bad))
	})
}

// With N connected peers and interval I, the checks are evenly spread: one
// every I/N, and each peer checked once per interval.
func TestMonitorSpreadsChecks(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const n = 5
		net := newGatedNet(t, n+1)
		for i := 1; i <= n; i++ {
			require.NoError(t, net.connect(ctx, 0, i))
		}
		scores := newScoreTable()
		const interval = 10 * time.Second
		mon, err := ban.NewMonitor(net.hosts[0], scores, net.gaters[0], ban.WithCheckInterval(interval), quiet)
		require.NoError(t, err)
		start := time.Now()
		mon.Start(ctx)
		defer mon.Close()

		const rounds = 3
		time.Sleep(rounds*interval + time.Millisecond)
		require.NoError(t, mon.Close())
		all := scores.AllCallTimes()
		require.Len(t, all, rounds*n)
		step := interval / n
		for i, at := range all {
			require.Equal(t, start.Add(time.Duration(i+1)*step), at, "check %d", i)
		}
		for i := 1; i <= n; i++ {
			ts := scores.CallTimes(net.hosts[i].ID())
			require.Len(t, ts, rounds, "peer %d", i)
			for k := 1; k < len(ts); k++ {
				gap := ts[k].Sub(ts[k-1])
				// Each round walks a fresh list, whose order may differ.
				require.True(t, gap >= step && gap <= 2*interval-step, "peer %d: gap %v", i, gap)
			}
		}
	})
}

// With more peers than the interval has wake-ups, the Monitor checks an
// even batch per wake-up (every 10ms) and still checks every peer once per
// interval.
func TestMonitorSpreadsChecksManyPeers(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		peers := fakePeers(2000)
		h := newFakeHost(peers...)
		scores := newScoreTable()
		const interval = time.Second
		mon, err := ban.NewMonitor(h, scores, ban.NewGater(), ban.WithCheckInterval(interval), quiet)
		require.NoError(t, err)
		start := time.Now()
		mon.Start(context.Background())
		const rounds = 3
		time.Sleep(rounds*interval + time.Millisecond)
		require.NoError(t, mon.Close())

		for _, p := range peers {
			require.Len(t, scores.CallTimes(p), rounds)
		}
		perTime := map[time.Time]int{}
		for _, at := range scores.AllCallTimes() {
			perTime[at]++
		}
		const wakeups = 100 // interval / 10ms
		require.Len(t, perTime, rounds*wakeups)
		for i := 1; i <= rounds*wakeups; i++ {
			require.Equal(t, len(peers)/wakeups, perTime[start.Add(time.Duration(i)*interval/wakeups)], "wake-up %d", i)
		}
	})
}

// A peer that connects while the Monitor runs is checked within two
// intervals; one that connects when there were no peers at all, too.
func TestMonitorChecksNewPeers(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		peers := fakePeers(3)
		h := newFakeHost()
		scores := newScoreTable()
		for _, p := range peers {
			scores.Set(p, -1000)
		}
		g := ban.NewGater()
		const interval = 10 * time.Second
		// Every peer here is bad: no ban limit, which would hold some back.
		mon, err := ban.NewMonitor(h, scores, g, ban.WithCheckInterval(interval), ban.WithBanLimit(1, interval), quiet)
		require.NoError(t, err)
		mon.Start(context.Background())
		defer mon.Close()

		time.Sleep(3 * time.Second)
		joined := time.Now()
		h.net.setPeers(peers[:1])
		time.Sleep(2 * interval)
		require.Equal(t, peers[:1], h.net.closedPeers())
		require.LessOrEqual(t, scores.CallTimes(peers[0])[0].Sub(joined), 2*interval)

		time.Sleep(interval / 4)
		joined = time.Now()
		h.net.setPeers(peers[1:])
		time.Sleep(2 * interval)
		require.ElementsMatch(t, peers, h.net.closedPeers())
		for _, p := range peers[1:] {
			require.LessOrEqual(t, scores.CallTimes(p)[0].Sub(joined), 2*interval)
			_, banned := g.Banned(p)
			require.True(t, banned)
		}
	})
}

// The decision for one peer, by its score: below the minimum is banned,
// at it or above or NaN is not; and the ban reported is the one in force,
// which an earlier, longer ban is not shortened by.
func TestMonitorDecision(t *testing.T) {
	for _, tc := range []struct {
		name     string
		score    float64
		priorBan time.Duration // from the start, before the check
		wantBan  bool
	}{
		{name: "below", score: -100.5, wantBan: true},
		{name: "at minimum", score: -100},
		{name: "above", score: 3},
		{name: "NaN", score: math.NaN()},
		{name: "-Inf", score: math.Inf(-1), wantBan: true},
		{name: "already banned longer", score: -1000, priorBan: 24 * time.Hour, wantBan: true},
		{name: "already banned shorter", score: -1000, priorBan: time.Minute, wantBan: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				p := fakePeers(1)[0]
				h := newFakeHost(p)
				g := ban.NewGater()
				start := time.Now()
				if tc.priorBan > 0 {
					g.Ban(p, start.Add(tc.priorBan))
				}
				bans := &banLog{}
				mon, err := ban.NewMonitor(h, ban.ScoreFunc(func(peer.ID) float64 { return tc.score }), g, ban.WithOnBan(bans.onBan), quiet)
				require.NoError(t, err)
				mon.Start(context.Background())
				time.Sleep(30*time.Second + time.Millisecond) // one peer: checked at the end of the interval
				require.NoError(t, mon.Close())
				if !tc.wantBan {
					require.Empty(t, bans.get())
					require.Empty(t, h.net.closedPeers())
					return
				}
				want := start.Add(30*time.Second + time.Hour) // the default interval and ban
				if prior := start.Add(tc.priorBan); prior.After(want) {
					want = prior
				}
				got := bans.get()
				require.Len(t, got, 1)
				require.Equal(t, p, got[0].peer)
				require.Equal(t, want, got[0].until)
				until, ok := g.Banned(p)
				require.True(t, ok)
				require.Equal(t, want, until)
				require.Equal(t, []peer.ID{p}, h.net.closedPeers())
			})
		})
	}
}
