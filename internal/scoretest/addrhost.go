package scoretest

// A stand-in host for the IP colocation factor: the scorers under test ask
// a host for a peer's connections and read each one's remote address and
// whether it is limited, and nothing else.

import (
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// AddrHost is a host whose network reports, for each peer, one connection
// per address the test gave it. Only Network is implemented: a call to any
// other method of host.Host panics. It is safe for concurrent use.
type AddrHost struct {
	host.Host
	net *addrNet
}

// NewAddrHost returns an AddrHost with no connections.
func NewAddrHost() *AddrHost { return &AddrHost{net: &addrNet{conns: map[peer.ID][]network.Conn{}}} }

// Network returns the host's stand-in network.
func (h *AddrHost) Network() network.Network { return h.net }

// SetIPs replaces p's connections with one from each of ips (IPv4 or IPv6
// addresses as text; anything else is skipped). A scorer sees the change
// when it next reads p's addresses from the host.
func (h *AddrHost) SetIPs(p peer.ID, ips []string) {
	var conns []network.Conn
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		proto := "ip6"
		if ip.To4() != nil {
			proto = "ip4"
		}
		conns = append(conns, addrConn{addr: ma.StringCast("/" + proto + "/" + ip.String() + "/tcp/4001")})
	}
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.net.conns[p] = conns
}

type addrNet struct {
	network.Network
	mu    sync.Mutex
	conns map[peer.ID][]network.Conn
}

func (n *addrNet) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]network.Conn(nil), n.conns[p]...)
}

func (n *addrNet) Connectedness(p peer.ID) network.Connectedness {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.conns[p]) > 0 {
		return network.Connected
	}
	return network.NotConnected
}

type addrConn struct {
	network.Conn
	addr ma.Multiaddr
}

func (c addrConn) RemoteMultiaddr() ma.Multiaddr { return c.addr }
func (c addrConn) Stat() network.ConnStats       { return network.ConnStats{} }
func (c addrConn) GetStreams() []network.Stream  { return nil }
