package ban_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/testnet"
)

// connAddrs is the two ends of a connection, as the gater is shown them.
type connAddrs struct{ local, remote ma.Multiaddr }

func (c connAddrs) LocalMultiaddr() ma.Multiaddr  { return c.local }
func (c connAddrs) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// allowsAddr asks every interception that sees an address about a
// connection of an unbanned peer with addr.
func allowsAddr(g *ban.Gater, addr string) map[string]bool {
	a := ma.StringCast(addr)
	c := connAddrs{local: ma.StringCast("/ip4/10.0.0.1/udp/9000/quic-v1"), remote: a}
	return map[string]bool{
		"AddrDial":        g.InterceptAddrDial(peerB, a),
		"Accept":          g.InterceptAccept(c),
		"SecuredInbound":  g.InterceptSecured(network.DirInbound, peerB, c),
		"SecuredOutbound": g.InterceptSecured(network.DirOutbound, peerB, c),
	}
}

func refusedEverywhere() map[string]bool {
	return map[string]bool{"AddrDial": false, "Accept": false, "SecuredInbound": false, "SecuredOutbound": false}
}

func allowedEverywhere() map[string]bool {
	return map[string]bool{"AddrDial": true, "Accept": true, "SecuredInbound": true, "SecuredOutbound": true}
}

// Which addresses a ban of an address or a subnet keeps out, in every
// interception that sees the address, whatever form the address or the
// ban comes in.
func TestGaterIPBans(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ban     func(g *ban.Gater, until time.Time) error
		refused []string
		allowed []string
		listed  string // the prefix Bans lists
	}{
		{
			name: "IPv4 address",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanIP(netip.MustParseAddr("192.0.2.7"), until)
			},
			refused: []string{"/ip4/192.0.2.7/udp/4001/quic-v1", "/ip4/192.0.2.7/tcp/1", "/ip6/::ffff:192.0.2.7/tcp/1"},
			allowed: []string{"/ip4/192.0.2.8/tcp/1", "/ip6/2001:db8::7/tcp/1", "/dns4/example.com/tcp/1"},
			listed:  "192.0.2.7/32",
		},
		{
			name: "IPv4 address in IPv6 form",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanIP(netip.MustParseAddr("::ffff:192.0.2.7"), until)
			},
			refused: []string{"/ip4/192.0.2.7/tcp/1"},
			allowed: []string{"/ip4/192.0.2.6/tcp/1"},
			listed:  "192.0.2.7/32",
		},
		{
			name: "IPv4 subnet with host bits",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanSubnet(netip.MustParsePrefix("198.51.100.77/24"), until)
			},
			refused: []string{"/ip4/198.51.100.0/tcp/1", "/ip4/198.51.100.255/udp/1/quic-v1"},
			allowed: []string{"/ip4/198.51.101.0/tcp/1", "/ip4/198.51.99.255/tcp/1"},
			listed:  "198.51.100.0/24",
		},
		{
			name: "IPv4 subnet in IPv6 form",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanSubnet(netip.MustParsePrefix("::ffff:198.51.100.0/120"), until)
			},
			refused: []string{"/ip4/198.51.100.9/tcp/1"},
			allowed: []string{"/ip4/198.51.101.9/tcp/1"},
			listed:  "198.51.100.0/24",
		},
		{
			name: "IPv6 /64",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanSubnet(netip.MustParsePrefix("2001:db8:1:2::/64"), until)
			},
			refused: []string{"/ip6/2001:db8:1:2::1/udp/1/quic-v1", "/ip6/2001:db8:1:2:ffff:ffff:ffff:ffff/tcp/1", "/ip6zone/eth0/ip6/2001:db8:1:2::5/tcp/1"},
			allowed: []string{"/ip6/2001:db8:1:3::1/tcp/1", "/ip4/192.0.2.7/tcp/1"},
			listed:  "2001:db8:1:2::/64",
		},
		{
			name: "IPv6 address",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanIP(netip.MustParseAddr("2001:db8::1%eth0"), until)
			},
			refused: []string{"/ip6/2001:db8::1/tcp/1"},
			allowed: []string{"/ip6/2001:db8::2/tcp/1"},
			listed:  "2001:db8::1/128",
		},
		{
			name: "relayed connection: the relay's address",
			ban: func(g *ban.Gater, until time.Time) error {
				return g.BanIP(netip.MustParseAddr("203.0.113.1"), until)
			},
			refused: []string{"/ip4/203.0.113.1/tcp/1/p2p/12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN/p2p-circuit"},
			allowed: []string{"/ip4/203.0.113.2/tcp/1/p2p/12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN/p2p-circuit"},
			listed:  "203.0.113.1/32",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				g := ban.NewGater()
				until := time.Now().Add(time.Hour)
				require.NoError(t, tc.ban(g, until))
				for _, a := range tc.refused {
					require.Equal(t, refusedEverywhere(), allowsAddr(g, a), a)
				}
				for _, a := range tc.allowed {
					require.Equal(t, allowedEverywhere(), allowsAddr(g, a), a)
				}
				// Peer interceptions without an address are not affected.
				require.True(t, g.InterceptPeerDial(peerB))
				require.True(t, g.InterceptSecured(network.DirInbound, peerB, nil))
				require.True(t, g.InterceptAccept(nil))
				require.Equal(t, []ban.Entry{{Prefix: netip.MustParsePrefix(tc.listed), Until: until}}, g.Bans())

				// The ban ends by itself.
				time.Sleep(time.Hour)
				for _, a := range tc.refused {
					require.Equal(t, allowedEverywhere(), allowsAddr(g, a), a)
				}
				require.Empty(t, g.Bans())
			})
		})
	}
}

// Address bans grow only, as peer bans do; unbanning lifts exactly the ban
// named; BannedIP reports the latest end among the bans that hold an
// address; invalid input is refused and changes nothing.
func TestGaterIPBanRules(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		g := ban.NewGater()
		start := time.Now()
		ip := netip.MustParseAddr("192.0.2.7")
		subnet := netip.MustParsePrefix("192.0.2.0/24")
		banned := func(a netip.Addr) (time.Duration, bool) {
			until, ok := g.BannedIP(a)
			return until.Sub(start), ok
		}

		require.NoError(t, g.BanIP(ip, start.Add(time.Hour)))
		require.NoError(t, g.BanIP(ip, start.Add(time.Minute))) // shorter: ignored
		d, ok := banned(ip)
		require.True(t, ok)
		require.Equal(t, time.Hour, d)
		require.NoError(t, g.BanIP(ip, start.Add(-time.Minute))) // past: ignored

		require.NoError(t, g.BanSubnet(subnet, start.Add(2*time.Hour)))
		d, ok = banned(ip)
		require.True(t, ok)
		require.Equal(t, 2*time.Hour, d, "the longer of the address's and its subnet's bans")
		d, ok = banned(netip.MustParseAddr("192.0.2.200"))
		require.True(t, ok)
		require.Equal(t, 2*time.Hour, d)

		g.UnbanIP(ip) // the subnet's ban stays
		d, ok = banned(ip)
		require.True(t, ok)
		require.Equal(t, 2*time.Hour, d)
		g.UnbanSubnet(netip.MustParsePrefix("192.0.2.99/24")) // host bits ignored
		_, ok = banned(ip)
		require.False(t, ok)
		require.Empty(t, g.Bans())

		// A peer ban and an address ban are separate.
		g.Ban(peerA, start.Add(time.Hour))
		require.NoError(t, g.BanIP(ip, start.Add(time.Hour)))
		g.Unban(peerA)
		_, ok = banned(ip)
		require.True(t, ok)
		g.UnbanIP(ip)
		require.Empty(t, g.Bans())

		require.ErrorContains(t, g.BanIP(netip.Addr{}, start.Add(time.Hour)), "peerscore/ban: BanIP: invalid address")
		require.ErrorContains(t, g.BanSubnet(netip.Prefix{}, start.Add(time.Hour)), "peerscore/ban: BanSubnet: invalid prefix")
		g.UnbanIP(netip.Addr{})
		g.UnbanSubnet(netip.Prefix{})
		_, ok = g.BannedIP(netip.Addr{})
		require.False(t, ok)
		require.Empty(t, g.Bans())
		require.Zero(t, ban.TableSize(g))
	})
}

// Bans lists peers and addresses together, soonest to end first, peers
// before subnets at the same time; the JSON names each by its text form,
// and reads back.
func TestGaterBansJSONWithAddresses(t *testing.T) {
	ps := keyedPeers(t, 1)
	g := ban.NewGater()
	early := time.Date(2098, 6, 7, 8, 9, 10, 0, time.UTC)
	late := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, g.BanSubnet(netip.MustParsePrefix("2001:db8::/64"), late))
	require.NoError(t, g.BanIP(netip.MustParseAddr("192.0.2.7"), late))
	g.Ban(ps[0], late)
	require.NoError(t, g.BanIP(netip.MustParseAddr("192.0.2.9"), early))

	want := []ban.Entry{
		{Prefix: netip.MustParsePrefix("192.0.2.9/32"), Until: early},
		{Peer: ps[0], Until: late},
		{Prefix: netip.MustParsePrefix("192.0.2.7/32"), Until: late},
		{Prefix: netip.MustParsePrefix("2001:db8::/64"), Until: late},
	}
	requireBansJSON(t, g.Bans(), want, fmt.Sprintf(`[
		{"prefix": "192.0.2.9/32", "until": "2098-06-07T08:09:10Z"},
		{"peer": %q, "until": "2099-01-02T03:04:05Z"},
		{"prefix": "192.0.2.7/32", "until": "2099-01-02T03:04:05Z"},
		{"prefix": "2001:db8::/64", "until": "2099-01-02T03:04:05Z"}]`, ps[0]))
}

// Expired address bans are swept like peer bans: the table stays in
// proportion to the bans in force.
func TestGaterPrunesExpiredIPBans(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		g := ban.NewGater()
		for i := range 10_000 {
			ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			require.NoError(t, g.BanIP(ip, time.Now().Add(time.Second)))
			if i%10 == 9 {
				time.Sleep(time.Second)
			}
			require.LessOrEqual(t, ban.TableSize(g), ban.MinSweep)
		}
		require.Empty(t, g.Bans())
		_, ok := g.BannedIP(netip.MustParseAddr("10.0.0.1"))
		require.False(t, ok)
	})
}

// With real hosts: a host whose gater bans another's address, or a subnet
// holding it, refuses connections with it in both directions, whatever
// its peer ID, and lets it in again once unbanned.
func TestGaterIPBansRealHosts(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := newGatedNet(t, 3)
		g := net.gaters[0]
		ip := netip.MustParseAddr(testnet.PublicIP(1))

		require.NoError(t, g.BanIP(ip, time.Now().Add(time.Hour)))
		_, peerBanned := g.Banned(net.hosts[1].ID())
		require.False(t, peerBanned, "the peer itself is not banned")
		net.requireRefused(t, ctx, 0, 1)
		require.NoError(t, net.connect(ctx, 0, 2), "another address is welcome")

		g.UnbanIP(ip)
		require.NoError(t, g.BanSubnet(netip.PrefixFrom(ip, 24), time.Now().Add(time.Hour)))
		net.requireRefused(t, ctx, 0, 1)
		g.UnbanSubnet(netip.PrefixFrom(ip, 24))
		require.NoError(t, net.connect(ctx, 1, 0))
		time.Sleep(time.Second)
		require.True(t, net.connected(0, 1))
	})
}
