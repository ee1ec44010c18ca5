package peerscore

// The RPC hooks: what the mirror learns from the RPCs the router traces.
//
// Invariant: an RPC costs the mirror's lock only when it carries what a
// book records (GRAFT, PRUNE, IWANT, or an RPC the extensions record must
// see); the common RPC, a message and nothing else, takes no lock but the
// extensions record's one lookup, and never the engine's.

import (
	"math"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

// recv follows an RPC a peer sent us: the router check counts it while it
// waits, and the penalties' books follow its extensions, GRAFTs and
// PRUNEs, in the router's order.
func (r *routerMirror) recv(rpc *pubsub.RPC) {
	if rpc == nil {
		return
	}
	if r.check.watching.Load() { // false once the router has asked
		r.noteRecv(rpc)
	}
	if r.off {
		return // no book to keep (the extensions record is nil too)
	}
	ctl := rpc.GetControl()
	control := len(ctl.GetGraft()) > 0 || len(ctl.GetPrune()) > 0
	if !control && r.ext == nil {
		return
	}
	from := rpc.From()
	// The router decides once per RPC, before handling any of it, so a
	// charge for one part does not spare the rest.
	if r.unread(from) {
		return
	}
	now := r.eng.now()
	if r.ext != nil {
		r.recvExtensions(from, ctl.GetExtensions() != nil, now)
	}
	if control {
		r.recvControl(from, ctl, now)
	}
}

// unread tells whether the router drops an RPC from p unread: p is below
// the graylist threshold and not a direct peer.
func (r *routerMirror) unread(p peer.ID) bool {
	return !math.IsInf(r.graylist, -1) && !r.direct.has(p) && r.eng.Score(p) < r.graylist
}

// recvControl judges the GRAFTs in an incoming RPC against the backoffs and
// learns the backoffs its PRUNEs ask for, as the router's handleGraft and
// handlePrune do.
func (r *routerMirror) recvControl(from peer.ID, ctl *pb.ControlMessage, now time.Duration) {
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
	r.droppedMessages(rpc, p)
}
