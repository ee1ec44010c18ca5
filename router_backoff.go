package peerscore

// PRUNE backoffs and the GRAFTs that break them: the second of the
// router's penalties the mirror rebuilds, charged as the router's
// handleGraft charges them.
//
// Invariant: the book holds the router's backoffs, ending when the
// router's do: one for every PRUNE we send, and for every PRUNE we receive
// in a topic the router has joined (it ignores the others); a charged
// GRAFT restarts one. A backoff leaves the book only once ended, at a
// heartbeat. Book and joined topics change only under routerMirror.mu.

import (
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// backoffBook mirrors the router's PRUNE backoffs: after a PRUNE either way,
// the pruned peer must not GRAFT again in that topic until the backoff ends.
type backoffBook struct {
	expiry map[string]map[peer.ID]time.Duration // topic -> peer -> end of backoff
}

func newBackoffBook() backoffBook {
	return backoffBook{expiry: make(map[string]map[peer.ID]time.Duration)}
}

// join records that the router has a mesh for topic: GRAFTs in other
// topics are ignored by the router and cost nothing.
func (r *routerMirror) join(topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.joined[topic] = true
}

// leave forgets that the router has a mesh for topic.
func (r *routerMirror) leave(topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.joined, topic)
}

// graft judges a GRAFT from p in topic against the backoffs, and charges
// what the router would.
func (r *routerMirror) graft(p peer.ID, topic string, now time.Duration) {
	r.mu.Lock()
	penalty := r.judgeGraft(p, topic, now)
	r.mu.Unlock()
	if penalty > 0 {
		r.eng.chargeBehaviour(p, penalty, penGraftBackoff)
	}
}

// judgeGraft returns the penalty for a GRAFT: 1 during a backoff, and 1
// more if it came within the graft flood threshold of the PRUNE; like the
// router, it then restarts the backoff. The caller holds r.mu.
func (r *routerMirror) judgeGraft(p peer.ID, topic string, now time.Duration) float64 {
	if !r.joined[topic] || r.direct.has(p) {
		return 0 // the router ignores it, or prunes a direct peer without a charge
	}
	end, ok := r.backoffs.until(topic, p, now)
	if !ok {
		return 0
	}
	t := r.timings
	penalty := 1.0
	// Within the flood threshold of the PRUNE that set this backoff:
	// now < end - PruneBackoff + GraftFloodThreshold, without overflowing.
	if end-now > t.pruneBackoff-t.graftFlood {
		penalty++
	}
	r.backoffs.extend(topic, p, addSat(now, t.pruneBackoff))
	return penalty
}

// pruned starts the backoff a PRUNE between us and p asks for. The caller
// holds r.mu.
func (r *routerMirror) pruned(p peer.ID, pr *pb.ControlPrune, now time.Duration) {
	r.backoffs.extend(pr.GetTopicID(), p, addSat(now, r.backoffOf(pr)))
}

// backoffOf is the backoff a PRUNE carries, or the router's default for
// peers too old to carry one.
//
// The conversion is the router's own, wrap-around included for absurd
// values (over 292 years), so that the rebuilt penalty follows the router's
// decision exactly.
func (r *routerMirror) backoffOf(pr *pb.ControlPrune) time.Duration {
	if secs := pr.GetBackoff(); secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return r.timings.pruneBackoff
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
