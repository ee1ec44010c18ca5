package peerscore

// IWANT promises, the first of the router's penalties the mirror rebuilds.
//
// Invariant: every promise is held twice, by message and by peer, and the
// two indexes always agree; routerMirror.promised is true whenever there
// is one. Both change only under routerMirror.mu.

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// promiseBook tracks IWANT promises: when we ask a peer for messages it
// advertised with IHAVE, it owes us one of them (picked at random, as the
// router does, so tracking stays cheap) by a deadline. A promise is kept
// when any copy of the message shows up, and voided when the router
// throttles the peer.
type promiseBook struct {
	byMsg  map[string]map[peer.ID]time.Duration // message -> peer -> deadline
	byPeer map[peer.ID]map[string]struct{}
}

func newPromiseBook() promiseBook {
	return promiseBook{
		byMsg:  make(map[string]map[peer.ID]time.Duration),
		byPeer: make(map[peer.ID]map[string]struct{}),
	}
}

// keepPromises settles the promises of message id: any copy of it, valid
// or not, arrived. The message events call it for every copy, so with no
// promise outstanding it costs one atomic load, inlined.
func (r *routerMirror) keepPromises(id string) {
	if r.promised.Load() {
		r.settle(id)
	}
}

func (r *routerMirror) settle(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.promises.keep(id)
	r.promised.Store(r.promises.any())
}

// throttled voids p's promises: the router did not read what p sent, so p
// cannot be blamed for it.
func (r *routerMirror) throttled(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.promises.void(p)
	r.promised.Store(r.promises.any())
}

// promiseCount is how many promises are outstanding, for Stats.
func (r *routerMirror) promiseCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.promises.len()
}

// add records that p owes msg by deadline; an earlier promise of the same
// message by the same peer keeps its deadline.
func (b *promiseBook) add(p peer.ID, msg string, deadline time.Duration) {
	peers, ok := b.byMsg[msg]
	if !ok {
		peers = make(map[peer.ID]time.Duration)
		b.byMsg[msg] = peers
	}
	if _, ok := peers[p]; ok {
		return
	}
	peers[p] = deadline
	msgs, ok := b.byPeer[p]
	if !ok {
		msgs = make(map[string]struct{})
		b.byPeer[p] = msgs
	}
	msgs[msg] = struct{}{}
}

// keep settles every promise of msg: whoever sent it, the message arrived,
// and the others could no longer deliver it as new.
func (b *promiseBook) keep(msg string) {
	peers, ok := b.byMsg[msg]
	if !ok {
		return
	}
	delete(b.byMsg, msg)
	for p := range peers {
		b.dropPeerMsg(p, msg)
	}
}

// void cancels p's promises.
func (b *promiseBook) void(p peer.ID) {
	for msg := range b.byPeer[p] {
		peers := b.byMsg[msg]
		delete(peers, p)
		if len(peers) == 0 {
			delete(b.byMsg, msg)
		}
	}
	delete(b.byPeer, p)
}

// broken removes the promises past their deadline at now and counts them
// per peer.
func (b *promiseBook) broken(now time.Duration) map[peer.ID]int {
	var out map[peer.ID]int
	for msg, peers := range b.byMsg {
		for p, deadline := range peers {
			if deadline >= now {
				continue
			}
			if out == nil {
				out = make(map[peer.ID]int)
			}
			out[p]++
			delete(peers, p)
			b.dropPeerMsg(p, msg)
		}
		if len(peers) == 0 {
			delete(b.byMsg, msg)
		}
	}
	return out
}

func (b *promiseBook) dropPeerMsg(p peer.ID, msg string) {
	msgs := b.byPeer[p]
	delete(msgs, msg)
	if len(msgs) == 0 {
		delete(b.byPeer, p)
	}
}

// any tells whether a promise is outstanding.
func (b *promiseBook) any() bool { return len(b.byMsg) > 0 }

func (b *promiseBook) len() int {
	n := 0
	for _, peers := range b.byMsg {
		n += len(peers)
	}
	return n
}
