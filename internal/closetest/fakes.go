package closetest

// Stand-ins for what the components work with: just enough of a host, a
// connection manager and a datastore for one peer, each counting the
// calls of the step the work makes there, which a test can hold.

import (
	"context"
	"sync"

	"github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// thePeer is the one peer the stand-in network is connected to.
const thePeer = peer.ID("closetest-peer")

// step counts the calls of one step of the work, and holds them while a
// hold is in force.
type step struct {
	mu   sync.Mutex
	n    int
	hold chan struct{} // while not nil, calls wait for it to close
}

// enter counts a call, then waits while a hold is in force.
func (s *step) enter() {
	s.mu.Lock()
	s.n++
	h := s.hold
	s.mu.Unlock()
	if h != nil {
		<-h
	}
}

func (s *step) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// holdNext holds the calls from now on until release.
func (s *step) holdNext() (release func()) {
	h := make(chan struct{})
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(h)
		})
	}
}

// fakeHost is a host connected to thePeer for good (ClosePeer does not
// disconnect it), with a connection manager. Only the methods the
// components call work; the one a test measures is counted in its step.
type fakeHost struct {
	host.Host
	net *fakeNet
	cm  *fakeConnMgr
}

func newFakeHost() *fakeHost {
	return &fakeHost{net: &fakeNet{}, cm: &fakeConnMgr{tags: map[peer.ID]int{}, protected: map[peer.ID]bool{}}}
}

func (h *fakeHost) ID() peer.ID                      { return "closetest-self" }
func (h *fakeHost) Network() network.Network         { return h.net }
func (h *fakeHost) ConnManager() connmgr.ConnManager { return h.cm }

type fakeNet struct {
	network.Network
	conns, closes step // ConnsToPeer (the Scorer's), ClosePeer (the Monitor's)
}

func (n *fakeNet) Peers() []peer.ID                   { return []peer.ID{thePeer} }
func (n *fakeNet) Notify(network.Notifiee)            {}
func (n *fakeNet) StopNotify(network.Notifiee)        {}
func (n *fakeNet) ConnsToPeer(peer.ID) []network.Conn { n.conns.enter(); return nil }
func (n *fakeNet) ClosePeer(peer.ID) error            { n.closes.enter(); return nil }

// fakeConnMgr keeps the tags and protections set under any name, and
// counts TagPeer calls (the Tagger's step).
type fakeConnMgr struct {
	connmgr.NullConnMgr
	tagging   step
	mu        sync.Mutex
	tags      map[peer.ID]int
	protected map[peer.ID]bool
}

func (c *fakeConnMgr) TagPeer(p peer.ID, _ string, v int) {
	c.tagging.enter()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tags[p] = v
}

func (c *fakeConnMgr) UntagPeer(p peer.ID, _ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tags, p)
}

func (c *fakeConnMgr) Protect(p peer.ID, _ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.protected[p] = true
}

func (c *fakeConnMgr) Unprotect(p peer.ID, _ string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.protected, p)
	return false
}

// left returns how many tags and protections are in force.
func (c *fakeConnMgr) left() (tags, protections int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tags), len(c.protected)
}

// fakeStore is a datastore in memory that counts Put calls (the Store's
// step).
type fakeStore struct {
	datastore.Datastore
	puts step
}

func (d *fakeStore) Put(ctx context.Context, k datastore.Key, v []byte) error {
	d.puts.enter()
	return d.Datastore.Put(ctx, k, v)
}
