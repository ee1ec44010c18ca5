package peerscore

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// backoffBook mirrors the router's PRUNE backoffs: after a PRUNE either way,
// the pruned peer must not GRAFT again in that topic until the backoff ends.
type backoffBook struct {
	expiry map[string]map[peer.ID]time.Duration // topic -> peer -> end of backoff
}

func newBackoffBook() *backoffBook {
	return &backoffBook{expiry: make(map[string]map[peer.ID]time.Duration)}
}

// extend makes p's backoff in topic last at least until end; like the
// router, it never shortens one.
func (b *backoffBook) extend(topic string, p peer.ID, end time.Duration) {
	peers, ok := b.expiry[topic]
	if !ok {
		peers = make(map[peer.ID]time.Duration)
		b.expiry[topic] = peers
	}
	if cur, ok := peers[p]; !ok || cur < end {
		peers[p] = end
	}
}

// until returns when p's backoff in topic ends, if it has one running at now.
func (b *backoffBook) until(topic string, p peer.ID, now time.Duration) (time.Duration, bool) {
	end, ok := b.expiry[topic][p]
	return end, ok && now < end
}

// sweep forgets backoffs that have ended.
func (b *backoffBook) sweep(now time.Duration) {
	for topic, peers := range b.expiry {
		for p, end := range peers {
			if end <= now {
				delete(peers, p)
			}
		}
		if len(peers) == 0 {
			delete(b.expiry, topic)
		}
	}
}
