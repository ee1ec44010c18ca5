package replay

import (
	"net"
	"slices"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"
)

// hostIPs returns the addresses p is connected from as peerscore's Scorer
// counts them for P6 (its own hostIPs, in ipcolocation.go, which a
// replay's scorer is given back through KindAddrs): one entry per
// connection that is not limited (relayed), loopback left out, an IPv4
// address as it is and an IPv6 address followed by its /64.
func hostIPs(h host.Host, p peer.ID) []string {
	var out []string
	for _, c := range h.Network().ConnsToPeer(p) {
		if c.Stat().Limited {
			continue
		}
		ip, err := manet.ToIP(c.RemoteMultiaddr())
		if err != nil || ip.IsLoopback() {
			continue
		}
		if ip.To4() != nil {
			out = append(out, ip.String())
			continue
		}
		out = append(out, ip.String(), ip.Mask(net.CIDRMask(64, 128)).String())
	}
	return out
}

// pollAddrs reads again the addresses of the peers with an open stream
// and records those that changed, as the Scorer's once-a-minute refresh
// sees them. A peer no longer connected leaves the set: its stream's
// closing comes next, or was dropped from a full buffer, and either way
// the set stays within the peers actually connected.
func (w *writer) pollAddrs() {
	h := w.r.cfg.host
	for p, last := range w.open {
		ips := hostIPs(h, p)
		if !slices.Equal(ips, last) {
			w.r.enqueue(item{kind: itemAddrs, flags: flagPoll, peer: p, more: &itemMore{ips: ips}, size: int32(itemBase + 64*len(ips))})
		}
		if h.Network().Connectedness(p) != network.Connected {
			delete(w.open, p)
		}
	}
}
