package peerips_test

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/addrhost"
	"github.com/peerscore/peerscore/internal/peerips"
)

func TestOf(t *testing.T) {
	require.Nil(t, peerips.Of(nil, "a"))
	h := addrhost.New()
	require.Nil(t, peerips.Of(h, "a"))
	conn := func(addr string, limited bool) addrhost.Conn {
		return addrhost.Conn{Addr: ma.StringCast(addr), Limited: limited}
	}
	h.Set("a",
		conn("/ip4/1.2.3.4/tcp/1", false),
		conn("/ip6/2001:db8::7/udp/1/quic-v1", false),
		conn("/ip4/127.0.0.1/tcp/2", false),    // loopback
		conn("/ip6/::1/tcp/2", false),          // loopback
		conn("/ip4/9.9.9.9/tcp/3", true),       // limited
		conn("/dns4/example.com/tcp/4", false), // no IP
		conn("/ip4/1.2.3.4/tcp/5", false),      // a second connection, counted again
	)
	require.Equal(t, []string{"1.2.3.4", "2001:db8::7", "2001:db8::", "1.2.3.4"}, peerips.Of(h, "a"))
}
