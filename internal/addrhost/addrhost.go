// Package addrhost is a stand-in libp2p host for what reads peers'
// addresses from a host (the Scorer's IP colocation factor, the replay
// Recorder): its network reports, for each peer, the connections it was
// given, each with a remote address and whether it is limited (relayed),
// and nothing else. A replay hands it to the Scorer it drives; tests use
// it instead of real connections.
package addrhost

import (
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Host is a host whose network reports the connections Set gave each
// peer. Only Network is implemented: a call to any other method of
// host.Host panics. It is safe for concurrent use.
type Host struct {
	host.Host
	net *addrNet
}

// New returns a Host with no connections.
func New() *Host { return &Host{net: &addrNet{conns: map[peer.ID][]network.Conn{}}} }

// Network returns the host's stand-in network.
func (h *Host) Network() network.Network { return h.net }

// Conn is one connection of a peer: where it comes from, and whether it
// is limited (relayed).
type Conn struct {
	Addr    ma.Multiaddr
	Limited bool
}

// Set replaces p's connections with conns; none disconnects p. A reader
// sees the change when it next asks the host.
func (h *Host) Set(p peer.ID, conns ...Conn) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	if len(conns) == 0 {
		delete(h.net.conns, p)
		return
	}
	cs := make([]network.Conn, len(conns))
	for i, c := range conns {
		cs[i] = addrConn{c: c}
	}
	h.net.conns[p] = cs
}

// SetIPs replaces p's connections with one over TCP from each of ips; none
// disconnects p.
func (h *Host) SetIPs(p peer.ID, ips ...net.IP) {
	conns := make([]Conn, len(ips))
	for i, ip := range ips {
		conns[i] = Conn{Addr: TCPAddr(ip)}
	}
	h.Set(p, conns...)
}

// TCPAddr is the address of a TCP connection from ip:
// /ip4/<ip>/tcp/4001, or /ip6/... for an IPv6 address.
func TCPAddr(ip net.IP) ma.Multiaddr {
	proto := "ip6"
	if ip.To4() != nil {
		proto = "ip4"
	}
	return ma.StringCast("/" + proto + "/" + ip.String() + "/tcp/4001")
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

// addrConn implements only what readers of addresses call; any other
// method of network.Conn panics.
type addrConn struct {
	network.Conn
	c Conn
}

func (c addrConn) RemoteMultiaddr() ma.Multiaddr { return c.c.Addr }
func (c addrConn) Stat() network.ConnStats {
	return network.ConnStats{Stats: network.Stats{Limited: c.c.Limited}}
}
func (c addrConn) GetStreams() []network.Stream { return nil }
