// Package peerips reads the addresses a peer is connected from as
// go-libp2p-pubsub counts them for the IP colocation factor (P6). The
// replay Recorder records them with this, so that a replay's Scorer is
// given back (replay.KindAddrs) the addresses the live Scorer counted; the
// Scorer reads them with it too (ipcolocation.go, tracer.go).
package peerips

import (
	"net"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"
)

// Of returns the addresses p is connected to h from: one entry per
// connection, an IPv4 address as it is and an IPv6 address followed by
// its /64 (so that a Sybil cannot spread over a subnet it controls),
// loopback and limited (relayed) connections left out. A nil h has none.
func Of(h host.Host, p peer.ID) []string {
	if h == nil {
		return nil
	}
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
		out = append(out, ip.String(), Subnet64(ip))
	}
	return out
}

// Subnet64 is the /64 an IPv6 address is counted under as well, as text.
func Subnet64(ip net.IP) string { return ip.Mask(net.CIDRMask(64, 128)).String() }
