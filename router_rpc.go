package peerscore

// The RPC hooks: what the mirror learns from the RPCs the router traces,
// and the slow-peer penalty.
//
// Invariant: an RPC costs the mirror's lock only when it carries what a
// book records (GRAFT, PRUNE, IWANT, or an RPC the extensions record must
// see); the common RPC, a message and nothing else, takes no lock but the
// extensions record's one lookup, and never the engine's.

import (
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// recv follows an RPC a peer sent us: the router check counts it while it
// waits, and the penalties' books follow its GRAFTs, PRUNEs and extensions.
func (r *routerMirror) recv(rpc *pubsub.RPC) {
	if r.check.watching.Load() { // false once the router has asked
		r.noteRecv(rpc)
	}
	r.recvControl(rpc)
	r.recvExtensions(rpc)
}

// recvControl judges the GRAFTs in an incoming RPC against the backoffs and
// learns the backoffs its PRUNEs ask for, as the router's handleGraft and
// handlePrune do.
func (r *routerMirror) recvControl(rpc *pubsub.RPC) {
	if r.off || rpc == nil {
		return
	}
	ctl := rpc.GetControl()
	if len(ctl.GetGraft()) == 0 && len(ctl.GetPrune()) == 0 {
		return
	}
	from := rpc.From()
	if r.eng.Score(from) < r.graylist && !r.direct.has(from) {
		return // the router drops a graylisted peer's RPC unread
	}
	now := r.eng.now()
	for _, g := range ctl.GetGraft() {
		r.graft(from, g.GetTopicID(), now)
	}
	if len(ctl.GetPrune()) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pr := range ctl.GetPrune() {
		if r.joined[pr.GetTopicID()] {
			r.pruned(from, pr, now)
		}
	}
}

// send learns from an RPC we sent (or tried to send) to p: IWANTs become
// promises, unless the RPC was dropped; PRUNEs start backoffs.
func (r *routerMirror) send(rpc *pubsub.RPC, p peer.ID, dropped bool) {
	if r.off || rpc == nil {
		return
	}
	ctl := rpc.GetControl()
	if len(ctl.GetIwant()) == 0 && len(ctl.GetPrune()) == 0 {
		return
	}
	now := r.eng.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !dropped {
		for _, iw := range ctl.GetIwant() {
			if ids := iw.GetMessageIDs(); len(ids) > 0 {
				r.promises.add(p, ids[r.pick(len(ids))], addSat(now, r.timings.followUp))
				r.promised.Store(true)
			}
		}
	}
	for _, pr := range ctl.GetPrune() {
		r.pruned(p, pr, now)
	}
}

// drop is an RPC to p the router could not queue: a PRUNE in it still
// starts a backoff (the router set it before sending), and its messages
// count towards p's slow-peer penalty.
func (r *routerMirror) drop(rpc *pubsub.RPC, p peer.ID) {
	r.send(rpc, p, true)
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
