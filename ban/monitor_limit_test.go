package ban_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// startLogged starts a Monitor of h's peers by scores, checking each every
// interval and banning in a Gater of its own, and returns it with its bans
// and its logs (debug level and up) recorded.
func startLogged(t *testing.T, h host.Host, scores ban.Scorer, interval time.Duration) (*ban.Monitor, *banLog, *pkgtest.LogBuffer) {
	t.Helper()
	logs, bans := &pkgtest.LogBuffer{}, &banLog{}
	mon, err := ban.NewMonitor(h, scores, ban.NewGater(),
		ban.WithCheckInterval(interval), ban.WithOnBan(bans.onBan), ban.WithLogger(logs.Logger()))
	require.NoError(t, err)
	mon.Start(context.Background())
	return mon, bans, logs
}

// A node whose own fault makes every one of its 100 peers, good until
// then, score below the minimum: with the default limit (10% per 10
// minutes) the Monitor bans 10 of them in the first round and holds the
// rest back, logging the trip at error level and counting it; as bans
// leave the window, it bans held-back peers, never more than a tenth of
// the peers it had within any 10 minutes.
func TestMonitorBanLimit(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		peers := fakePeers(100)
		h := newFakeHost(peers...)
		scores := newScoreTable()
		for _, p := range peers {
			scores.Set(p, 1)
		}
		const interval = 30 * time.Second
		mon, bans, logs := startLogged(t, h, scores, interval)
		// A round in which every peer is seen good. Its last check and the
		// next round's start are at one instant, interval from now: the
		// scores turn half a check later, so that no check races them.
		time.Sleep(interval + interval/200)
		for _, p := range peers {
			scores.Set(p, -1000)
		}
		start := time.Now().Add(-interval / 200) // the second round's start

		// The next round: 10 bans, at the first 10 checks, then 90 held.
		time.Sleep(time.Until(start.Add(interval + time.Millisecond)))
		first := bans.get()
		require.Len(t, first, 10)
		for i, b := range first {
			require.Equal(t, start.Add(time.Duration(i+1)*interval/100+time.Hour), b.until, "ban %d", i)
		}
		st := mon.Stats()
		require.Equal(t, ban.MonitorStats{Bans: 10, HeldBack: 90, LimitReached: 1}, st)
		require.Equal(t, 1, strings.Count(logs.String(), `level=ERROR msg="ban limit reached`))
		require.Len(t, h.net.Peers(), 90, "held-back peers stay connected")

		time.Sleep(25 * time.Minute)
		require.NoError(t, mon.Close())
		all := bans.get()
		// The window never holds more than 10 bans.
		for _, b := range all {
			at := b.until.Add(-time.Hour) // when the ban was made
			inWindow := 0
			for _, c := range all {
				if c.until.Add(-time.Hour).After(at.Add(-10*time.Minute)) && !c.until.Add(-time.Hour).After(at) {
					inWindow++
				}
			}
			require.LessOrEqual(t, inWindow, 10, "bans in the 10 minutes up to %v", at.Sub(start))
		}
		// Held-back peers were banned as the window made room, soon after
		// it did: 10 more at about 10 minutes, when the first bans left the
		// window; then 9, a tenth of the 90 peers the node had before the
		// second window's bans, at about 20.
		require.Len(t, all, 29)
		for i, b := range all[10:] {
			made := b.until.Add(-time.Hour).Sub(start)
			window := time.Duration(1+i/10) * 10 * time.Minute
			require.True(t, made > window && made < window+interval+5*time.Second, "ban %d made at %v", 10+i, made)
		}
		require.Len(t, h.net.closedPeers(), 29)
		st = mon.Stats()
		require.Equal(t, uint64(29), st.Bans)
		require.Equal(t, uint64(3), st.LimitReached, "it trips once a window, after the window's ten bans")
		require.Equal(t, 3, strings.Count(logs.String(), `level=ERROR msg="ban limit reached`))
		require.Equal(t, 2, strings.Count(logs.String(), `level=WARN msg="ban limit no longer reached`))
		require.Greater(t, st.HeldBack, uint64(90*40), "held-back peers are checked every round")
	})
}

// With real hosts, a real scorer and a real router: every peer of the node,
// good until then, scores below the minimum at once (the node's own
// fault), and the Monitor
// bans only its share (20% of 10 peers), disconnects those two, keeps the
// eight others connected round after round, and logs the trip at error
// level once.
func TestMonitorBanLimitRealHosts(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const n = 10
		net := newGatedNet(t, n+1)
		app := newScoreTable()
		for i := 1; i <= n; i++ {
			app.Set(net.hosts[i].ID(), 1)
		}
		scorer := scoredRouter(t, ctx, net.hosts[0], app.Get, time.Hour)
		for i := 1; i <= n; i++ {
			scoretest.PlainRouter(t, ctx, net.hosts[i])
			require.NoError(t, net.connect(ctx, 0, i))
		}
		time.Sleep(time.Second)

		var logs pkgtest.LogBuffer
		const interval = 10 * time.Second
		mon, err := ban.NewMonitor(net.hosts[0], scorer, net.gaters[0],
			ban.WithCheckInterval(interval), ban.WithBanLimit(0.2, 10*time.Minute), ban.WithLogger(logs.Logger()))
		require.NoError(t, err)
		mon.Start(ctx)
		defer mon.Close()
		time.Sleep(interval) // every peer seen good once
		for i := 1; i <= n; i++ {
			app.Set(net.hosts[i].ID(), -1000)
		}

		time.Sleep(5*interval + time.Second)
		var banned, connected []peer.ID
		for i := 1; i <= n; i++ {
			id := net.hosts[i].ID()
			if _, ok := net.gaters[0].Banned(id); ok {
				banned = append(banned, id)
				require.False(t, net.connected(0, i), "banned peer %d still connected", i)
			} else if net.connected(0, i) {
				connected = append(connected, id)
			}
		}
		require.Len(t, banned, 2)
		require.Len(t, connected, n-2)
		st := mon.Stats()
		require.Equal(t, uint64(2), st.Bans)
		require.Equal(t, uint64(1), st.LimitReached)
		require.GreaterOrEqual(t, st.HeldBack, uint64(5*(n-2)-2))
		require.Equal(t, 1, strings.Count(logs.String(), `level=ERROR msg="ban limit reached`))
	})
}

// The defect: the ban limit's budget was a share of all peers, and any bad
// peer spent it, so with 90 throw-away Sybils among 30 honest peers the
// real attacker stayed connected for windows on end, and each trip blamed
// the node itself. The limit guards against previously good peers all
// turning bad at once (prysm#17166): it counts only peers the Monitor has
// seen score above zero. Peers that never did are banned as soon as they
// fall below the minimum, and a burst of them is logged as what it is.
// When the established peers then all turn bad, the limit holds, and says
// which case it saw.
func TestMonitorBanLimitIgnoresSybils(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		honest, sybils := fakePeers(31)[:30], fakePeers(121)[31:]
		attacker := fakePeers(121)[30]
		h := newFakeHost(append(append([]peer.ID{attacker}, honest...), sybils...)...)
		scores := newScoreTable()
		for _, p := range honest {
			scores.Set(p, 10)
		}
		scores.Set(attacker, 10)
		for _, p := range sybils {
			scores.Set(p, -1000)
		}
		const interval = 30 * time.Second
		mon, bans, logs := startLogged(t, h, scores, interval)
		defer mon.Close()

		// One round: every Sybil is banned, the good peers are seen good.
		time.Sleep(interval + time.Millisecond)
		require.Len(t, bans.get(), len(sybils))
		require.Equal(t, ban.MonitorStats{Bans: 90, FreshBans: 90}, mon.Stats())
		require.Contains(t, logs.String(), `level=WARN msg="banned many peers that never scored above zero`)
		require.NotContains(t, logs.String(), "level=ERROR")

		// The attacker, good until now, turns bad: banned within a round.
		scores.Set(attacker, -1000)
		time.Sleep(interval)
		require.Len(t, bans.get(), len(sybils)+1)
		require.Equal(t, attacker, bans.get()[len(sybils)].peer)

		// The node's own fault: every honest peer turns bad at once. A
		// tenth of the 31 established peers may go in the window, the
		// attacker among them; the rest are held back, and the error says
		// previously good peers turned bad.
		for _, p := range honest {
			scores.Set(p, -1000)
		}
		time.Sleep(2 * interval)
		require.Len(t, bans.get(), len(sybils)+3)
		st := mon.Stats()
		require.Equal(t, uint64(1), st.LimitReached)
		require.Equal(t, uint64(90), st.FreshBans)
		require.Equal(t, 1, strings.Count(logs.String(), `level=ERROR msg="ban limit reached: peers that scored above zero turned bad at once`))
		require.Len(t, h.net.Peers(), 28, "the held-back honest peers stay connected")
	})
}
