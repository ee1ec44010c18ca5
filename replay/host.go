package replay

import (
	"net"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/addrhost"
	"github.com/peerscore/peerscore/internal/peerips"
)

// replayHost stands in for the node's host: it reports, for each peer,
// the addresses the recording last gave for it, as connections the
// Scorer reads P6 from. Only that part of host.Host is implemented.
type replayHost struct {
	*addrhost.Host
}

func newReplayHost() *replayHost { return &replayHost{addrhost.New()} }

// set records p's addresses. The recording writes them as the Scorer
// counts them: an IPv6 address followed by its /64, which is dropped
// here, as the Scorer adds it again.
func (h *replayHost) set(p peer.ID, ips []string) {
	var parsed []net.IP
	for i := 0; i < len(ips); i++ {
		ip := net.ParseIP(ips[i])
		if ip == nil {
			continue
		}
		if ip.To4() == nil && i+1 < len(ips) && ips[i+1] == peerips.Subnet64(ip) {
			i++ // its /64
		}
		parsed = append(parsed, ip)
	}
	h.SetIPs(p, parsed...)
}
