package peerscore

// The slow-peer penalty, which pubsub lacks: messages the router had to drop
// on their way to a peer, and writes to its stream that took too long.
//
// Invariant: the penalty keeps no book of its own. It charges the engine's
// slow-peer counter, through Scorer.chargeBehaviour, only for a connected
// peer, and only when its weight is not 0; with the weight at 0 it costs
// the router's hot path one comparison.

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// droppedMessages charges p for the messages of an RPC the router dropped
// on its way to p.
func (r *routerMirror) droppedMessages(rpc *pubsub.RPC, p peer.ID) {
	if !r.slowDrops || rpc == nil {
		return
	}
	if n := len(rpc.GetPublish()); n > 0 {
		r.eng.chargeBehaviour(p, float64(n), penSlowPeer)
	}
}

// wrote is a write to p's stream that took took: a slow one counts
// towards p's slow-peer penalty. Small enough to inline: every write
// reports, and nearly all are fast.
func (r *routerMirror) wrote(p peer.ID, took time.Duration) {
	if limit := r.slowWrite; limit != 0 && took > limit {
		r.eng.chargeBehaviour(p, 1, penSlowPeer)
	}
}
