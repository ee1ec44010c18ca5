package scoretest

// A stand-in host for the IP colocation factor, over internal/addrhost:
// the scorers under test ask a host for a peer's connections and read each
// one's remote address and whether it is limited, and nothing else.

import (
	"net"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/peerscore/peerscore/internal/addrhost"
)

// AddrHost is a host whose network reports, for each peer, one connection
// per address the test gave it. Only Network is implemented: a call to any
// other method of host.Host panics. It is safe for concurrent use.
type AddrHost struct{ *addrhost.Host }

// NewAddrHost returns an AddrHost with no connections.
func NewAddrHost() *AddrHost { return &AddrHost{addrhost.New()} }

// SetIPs replaces p's connections with one from each of ips (IPv4 or IPv6
// addresses as text; anything else is skipped). A scorer sees the change
// when it next reads p's addresses from the host.
func (h *AddrHost) SetIPs(p peer.ID, ips []string) {
	var parsed []net.IP
	for _, s := range ips {
		if ip := net.ParseIP(s); ip != nil {
			parsed = append(parsed, ip)
		}
	}
	h.Host.SetIPs(p, parsed...)
}
