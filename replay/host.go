package replay

import (
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// replayHost stands in for the node's host: it reports, for each peer,
// the addresses the recording last gave for it, as connections the
// Scorer reads P6 from. Only that part of host.Host is implemented.
type replayHost struct {
	host.Host
	net *replayNet
}

func newReplayHost() *replayHost {
	return &replayHost{net: &replayNet{conns: map[peer.ID][]network.Conn{}}}
}

func (h *replayHost) Network() network.Network { return h.net }

// set records p's addresses. The recording writes them as the Scorer
// counts them: an IPv6 address followed by its /64, which is dropped
// here, as the Scorer adds it again.
func (h *replayHost) set(p peer.ID, ips []string) {
	var conns []network.Conn
	for i := 0; i < len(ips); i++ {
		ip := net.ParseIP(ips[i])
		if ip == nil {
			continue
		}
		proto := "ip4"
		if ip.To4() == nil {
			proto = "ip6"
			if i+1 < len(ips) && ips[i+1] == ip.Mask(net.CIDRMask(64, 128)).String() {
				i++ // its /64
			}
		}
		conns = append(conns, replayConn{addr: ma.StringCast("/" + proto + "/" + ip.String() + "/tcp/1")})
	}
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	if len(conns) == 0 {
		delete(h.net.conns, p)
		return
	}
	h.net.conns[p] = conns
}

type replayNet struct {
	network.Network
	mu    sync.Mutex
	conns map[peer.ID][]network.Conn
}

func (n *replayNet) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]network.Conn(nil), n.conns[p]...)
}

func (n *replayNet) Connectedness(p peer.ID) network.Connectedness {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.conns[p]) > 0 {
		return network.Connected
	}
	return network.NotConnected
}

type replayConn struct {
	network.Conn
	addr ma.Multiaddr
}

func (c replayConn) RemoteMultiaddr() ma.Multiaddr { return c.addr }
func (c replayConn) Stat() network.ConnStats       { return network.ConnStats{} }
func (c replayConn) GetStreams() []network.Stream  { return nil }
