package addrhost_test

import (
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/addrhost"
)

func TestHost(t *testing.T) {
	h := addrhost.New()
	n := h.Network()
	require.Empty(t, n.ConnsToPeer("a"))
	require.Equal(t, network.NotConnected, n.Connectedness("a"))

	h.SetIPs("a", net.ParseIP("1.2.3.4"), net.ParseIP("2001:db8::7"))
	conns := n.ConnsToPeer("a")
	require.Len(t, conns, 2)
	require.Equal(t, "/ip4/1.2.3.4/tcp/4001", conns[0].RemoteMultiaddr().String())
	require.Equal(t, "/ip6/2001:db8::7/tcp/4001", conns[1].RemoteMultiaddr().String())
	require.False(t, conns[0].Stat().Limited)
	require.Nil(t, conns[0].GetStreams())
	require.Equal(t, network.Connected, n.Connectedness("a"))

	h.Set("a", addrhost.Conn{Addr: ma.StringCast("/ip4/9.9.9.9/udp/1/quic-v1"), Limited: true})
	conns = n.ConnsToPeer("a")
	require.Len(t, conns, 1)
	require.True(t, conns[0].Stat().Limited)

	conns[0] = nil // a copy: the host's own list is untouched
	require.NotNil(t, n.ConnsToPeer("a")[0])

	h.Set("a")
	require.Empty(t, n.ConnsToPeer("a"))
	require.Equal(t, network.NotConnected, n.Connectedness("a"))
}
