package ban_test

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/testnet"
)

// The defect: a saved ban of 0.0.0.0/0 or ::/0 until 9999, well framed,
// loaded with a log line at debug level, and the node could then neither
// dial nor accept anything. By hand or from a saved table, a subnet wider
// than WithMinPrefixLen allows (IPv4 /16, IPv6 /32 by default) is refused:
// BanSubnet returns an error, Load restores the rest of the table and
// warns about what it left out.
func TestGaterRefusesWideSubnets(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		until := time.Now().Add(time.Hour)
		g := ban.NewGater()
		for _, wide := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/8", "10.0.0.0/15", "2001:db8::/31", "::ffff:10.0.0.0/104"} {
			err := g.BanSubnet(netip.MustParsePrefix(wide), until)
			require.ErrorContains(t, err, "WithMinPrefixLen", wide)
		}
		require.Empty(t, g.Bans())
		require.NoError(t, g.BanSubnet(netip.MustParsePrefix("10.1.0.0/16"), until))
		require.NoError(t, g.BanSubnet(netip.MustParsePrefix("2001:db8::/32"), until))
		require.Len(t, g.Bans(), 2)

		open := ban.NewGater(ban.WithMinPrefixLen(0, 0))
		require.NoError(t, open.BanSubnet(netip.MustParsePrefix("0.0.0.0/0"), until))
		_, banned := open.BannedIP(netip.MustParseAddr("198.51.100.1"))
		require.True(t, banned)

		id := peerA.String()
		data := sealBans(`{"saved_at":"2025-01-01T00:00:00Z","bans":[` +
			`{"prefix":"0.0.0.0/0","until":"9999-12-31T23:59:59Z"},` +
			`{"prefix":"::/0","until":"9999-12-31T23:59:59Z"},` +
			`{"prefix":"192.0.2.0/24","until":"9999-12-31T23:59:59Z"},` +
			`{"peer":"` + id + `","until":"9999-12-31T23:59:59Z"}]}`)
		var logs bytes.Buffer
		loaded := ban.NewGater(ban.WithGaterLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		require.NoError(t, loaded.Load(bytes.NewReader(data)))
		require.Len(t, loaded.Bans(), 2, "the /24 and the peer")
		_, banned = loaded.BannedIP(netip.MustParseAddr("198.51.100.1"))
		require.False(t, banned, "the node can still reach the rest of the network")
		_, banned = loaded.BannedIP(netip.MustParseAddr("192.0.2.1"))
		require.True(t, banned)
		require.Contains(t, logs.String(), "level=WARN")
		require.Contains(t, logs.String(), "left_out=2")
		require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"))

		// Lengths beyond an address's are held to it: 40 for IPv4 allows
		// single addresses only, -5 for IPv6 any width.
		held := ban.NewGater(ban.WithMinPrefixLen(40, -5))
		require.NoError(t, held.BanIP(netip.MustParseAddr("192.0.2.9"), until))
		require.ErrorContains(t, held.BanSubnet(netip.MustParsePrefix("192.0.2.8/31"), until), "WithMinPrefixLen")
		require.NoError(t, held.BanSubnet(netip.MustParsePrefix("::/0"), until))
	})
}

// Decisions about addresses in more than one form. The gater reads every
// IPv4-mapped address (::ffff:a.b.c.d) as the IPv4 address it is, so IPv4
// bans cover it and IPv6 bans, even ::/0, do not. An IPv4 ban also covers
// the address's NAT64 (64:ff9b::/96, RFC 6052) and 6to4 (2002::/16, RFC
// 3056) forms, which reach the same host.
func TestGaterAddressForms(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		until := time.Now().Add(time.Hour)
		g := ban.NewGater()
		require.NoError(t, g.BanIP(netip.MustParseAddr("192.0.2.1"), until))
		require.NoError(t, g.BanSubnet(netip.MustParsePrefix("198.51.100.0/24"), until))
		for _, a := range []string{
			"/ip6/::ffff:192.0.2.1/tcp/1",
			"/ip6/64:ff9b::c000:201/tcp/1",        // NAT64 of 192.0.2.1
			"/ip6/64:ff9b::198.51.100.77/tcp/1",   // NAT64, in the subnet
			"/ip6/2002:c000:201::1/udp/1/quic-v1", // 6to4 of 192.0.2.1
			"/ip6/2002:c633:6405:7::9/tcp/1",      // 6to4 of 198.51.100.5
		} {
			require.Equal(t, refusedEverywhere(), allowsAddr(g, a), a)
		}
		for _, a := range []string{
			"/ip6/64:ff9b::c000:202/tcp/1",
			"/ip6/64:ff9b:1::c000:201/tcp/1", // not the well-known prefix
			"/ip6/2002:c000:202::1/tcp/1",
			"/ip6/2001:db8::c000:201/tcp/1",
		} {
			require.Equal(t, allowedEverywhere(), allowsAddr(g, a), a)
		}

		v6 := ban.NewGater(ban.WithMinPrefixLen(16, 0))
		require.NoError(t, v6.BanSubnet(netip.MustParsePrefix("::/0"), until))
		require.Equal(t, refusedEverywhere(), allowsAddr(v6, "/ip6/2001:db8::1/tcp/1"))
		require.Equal(t, allowedEverywhere(), allowsAddr(v6, "/ip6/::ffff:192.0.2.1/tcp/1"), "a mapped address is IPv4")
		require.Equal(t, allowedEverywhere(), allowsAddr(v6, "/ip4/192.0.2.1/tcp/1"))
	})
}
