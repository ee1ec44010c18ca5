package ban_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// With WithIPBanAbove(5), the Monitor bans an address once more than five
// of the peers it banned came from it, until the sixth-latest of their
// bans ends; never a relay's address, a loopback one, or one with five
// banned peers or fewer.
func TestMonitorIPBans(t *testing.T) {
	const relay = "/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN/p2p-circuit"
	crowded, few, second := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("198.51.100.1")
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("on=%v", on), func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				peers := fakePeers(20)
				h := newFakeHost(peers...)
				for i, p := range peers {
					switch {
					case i < 6: // six on one address, the first on a second one too
						h.net.setRemote(p, fmt.Sprintf("/ip4/%s/tcp/%d", crowded, 4000+i))
						if i == 0 {
							h.net.setRemote(p, fmt.Sprintf("/ip4/%s/udp/1/quic-v1", second))
						}
					case i < 8: // two on another
						h.net.setRemote(p, fmt.Sprintf("/ip4/%s/tcp/%d", few, 4000+i))
					case i < 14: // six through one relay
						h.net.setRemote(p, relay)
					default: // six on loopback
						h.net.setRemote(p, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", 4000+i))
					}
				}
				scores := ban.ScoreFunc(func(peer.ID) float64 { return -1000 })
				g := ban.NewGater()
				bans := &banLog{}
				const interval = 20 * time.Second
				opts := []ban.MonitorOption{quiet, ban.WithCheckInterval(interval), ban.WithBanLimit(1, time.Minute), ban.WithOnBan(bans.onBan)}
				if on {
					opts = append(opts, ban.WithIPBanAbove(5))
				}
				mon, err := ban.NewMonitor(h, scores, g, opts...)
				require.NoError(t, err)
				start := time.Now()
				mon.Start(context.Background())
				defer mon.Close()

				time.Sleep(interval + time.Millisecond)
				require.Len(t, bans.get(), 20)
				until, banned := g.BannedIP(crowded)
				require.Equal(t, on, banned)
				for _, ip := range []string{"192.0.2.2", "198.51.100.1", "203.0.113.9", "127.0.0.1"} {
					_, b := g.BannedIP(netip.MustParseAddr(ip))
					require.False(t, b, ip)
				}
				if !on {
					require.Zero(t, mon.Stats().IPBans)
					require.NoError(t, mon.Close())
					return
				}
				// The six were banned at the first six checks, each for an
				// hour; the address until the earliest of them ends.
				require.Equal(t, start.Add(interval/20+time.Hour), until)
				require.Equal(t, uint64(1), mon.Stats().IPBans)
				require.Equal(t, []ban.Entry{{Peer: peers[0], Until: until}, {Prefix: netip.PrefixFrom(crowded, 32), Until: until}},
					g.Bans()[:2], "the address ban ends with the first peer's, first")

				// It ends with the first peer's; the records go once every
				// ban has ended.
				time.Sleep(time.Until(until))
				_, banned = g.BannedIP(crowded)
				require.False(t, banned)
				time.Sleep(time.Hour)
				require.NoError(t, mon.Close())
				require.Zero(t, ban.TrackedIPs(mon))
			})
		})
	}
}

// With real hosts: three peers on one address (each its own host and
// port) score badly and are banned; with WithIPBanAbove(2) the third ban
// bans the address, and a fourth host there, with a good score and never
// banned, cannot connect; a host elsewhere can.
func TestMonitorIPBansRealHosts(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		nw := testnet.New(time.Millisecond)
		t.Cleanup(nw.Close)
		g := ban.NewGater()
		us, err := nw.AddHost(testnet.PublicIP(0), 8000, libp2p.ConnectionGater(g))
		require.NoError(t, err)
		shared := testnet.PublicIP(7)
		var bad []host.Host
		for i := range 3 {
			h, err := nw.AddHost(shared, 8001+i)
			require.NoError(t, err)
			bad = append(bad, h)
		}
		newcomer, err := nw.AddHost(shared, 8010)
		require.NoError(t, err)
		elsewhere, err := nw.AddHost(testnet.PublicIP(8), 8000)
		require.NoError(t, err)
		nw.Start()

		app := newScoreTable()
		for _, h := range bad {
			app.Set(h.ID(), -1000)
		}
		scorer := scoredRouter(t, ctx, us, app.Get, time.Hour)
		for _, h := range bad {
			scoretest.PlainRouter(t, ctx, h)
			require.NoError(t, testnet.Connect(ctx, h, us))
		}
		time.Sleep(time.Second)

		mon, err := ban.NewMonitor(us, scorer, g, ban.WithCheckInterval(10*time.Second), ban.WithIPBanAbove(2),
			ban.WithBanLimit(1, time.Minute), quiet)
		require.NoError(t, err)
		mon.Start(ctx)
		defer mon.Close()
		time.Sleep(11 * time.Second)
		for _, h := range bad {
			_, banned := g.Banned(h.ID())
			require.True(t, banned)
		}
		_, banned := g.BannedIP(netip.MustParseAddr(shared))
		require.True(t, banned)
		_, banned = g.Banned(newcomer.ID())
		require.False(t, banned)

		require.ErrorContains(t, testnet.Connect(ctx, us, newcomer), "gater disallows")
		_ = testnet.Connect(ctx, newcomer, us)
		time.Sleep(time.Second)
		require.Empty(t, us.Network().ConnsToPeer(newcomer.ID()), "a connection from the banned address")
		require.NoError(t, testnet.Connect(ctx, elsewhere, us))
	})
}
