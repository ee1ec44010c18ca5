package replay

import (
	"slices"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/peerscore/peerscore/internal/peerips"
)

// pollAddrs reads again the addresses of the peers with an open stream
// and records those that changed, as the Scorer's once-a-minute refresh
// sees them. A peer no longer connected leaves the set: its stream's
// closing comes next, or was dropped from a full buffer, and either way
// the set stays within the peers actually connected.
func (w *writer) pollAddrs() {
	h := w.r.cfg.host
	for p, last := range w.open {
		ips := peerips.Of(h, p)
		if !slices.Equal(ips, last) {
			w.r.enqueue(item{kind: itemAddrs, flags: flagPoll, peer: p, more: &itemMore{ips: ips}, size: int32(itemBase + 64*len(ips))})
		}
		if h.Network().Connectedness(p) != network.Connected {
			delete(w.open, p)
		}
	}
}
