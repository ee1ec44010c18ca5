package peerscore

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

func newPromiseBook() *promiseBook {
	return &promiseBook{
		byMsg:  make(map[string]map[peer.ID]time.Duration),
		byPeer: make(map[peer.ID]map[string]struct{}),
	}
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
	if len(b.byMsg) == 0 {
		return
	}
	peers, ok := b.byMsg[msg]
	if !ok {
		return
	}
	delete(b.byMsg, msg)
	for p := range peers {
		b.dropPeerMsg(p, msg)
	}
}

// void cancels p's promises: a throttled peer's messages were not read, so
// it cannot be blamed for them.
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

func (b *promiseBook) len() int {
	n := 0
	for _, peers := range b.byMsg {
		n += len(peers)
	}
	return n
}
