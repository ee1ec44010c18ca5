package peerscore

// The GossipSub router (pubsub v0.15 on) remembers, per peer, that it has
// handled an RPC from it; a later RPC carrying an extensions control message
// is a protocol violation, and the router adds 10 to the peer's behaviour
// penalty. It forgets the peer when the peer's inbound pubsub stream closes,
// if that stream's protocol has the extensions feature (gossipsub v1.3), so
// that the hello on the peer's next stream may carry extensions again.
//
// The tracer sees every RPC but not the inbound streams, so the book below
// asks the host for them: when a peer's first RPC arrives and when an RPC
// carries extensions, never on the common path. Where the streams cannot
// tell whether the router forgot the peer, it does not charge: a false
// charge of 10 graylists an honest peer under most parameters.
//
// Invariant: the record holds an entry for every peer whose RPC reached
// the router since the peer was last seen disconnected at a sweep, and
// the peer's streams as last seen; it changes only under
// routerMirror.mu, and charges only where the streams prove the router
// still remembers the peer.

import (
	"math"
	"slices"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// extensionsPenalty is what the router adds to P7 for each repeated
// extensions control message.
const extensionsPenalty = 10

// maxRecordedStreams bounds the inbound stream IDs remembered per peer.
// pubsub keeps one inbound stream per peer, so more only appear while one
// replaces another; a stream left out looks new later, which can only
// spare a charge.
const maxRecordedStreams = 4

// extensionsBook is the state behind the repeated-extensions penalty,
// guarded by routerMirror.mu.
type extensionsBook struct {
	host  host.Host
	peers map[peer.ID]*extensionsEntry
	peak  int // the most entries since the map was last rebuilt
}

// extensionsEntry is one peer the router has handled an RPC from.
type extensionsEntry struct {
	streams []string      // IDs of its inbound pubsub streams when last looked at
	clears  bool          // closing one of them makes the router forget the peer
	lastRPC time.Duration // when its latest RPC reached the router
}

// inboundStream is one of a peer's inbound pubsub streams, as the host
// reports it.
type inboundStream struct {
	id     string
	opened time.Duration // scorer time; math.MaxInt64 if the host does not say
	clears bool          // its protocol has the extensions feature
}

// newExtensionsBook returns the book, or nil when the penalty cannot be
// rebuilt: with router penalties off, or without a host to report streams
// (guessing would risk charging an honest peer that reconnected).
func newExtensionsBook(h host.Host, routerOff bool) *extensionsBook {
	if routerOff || h == nil {
		return nil
	}
	return &extensionsBook{host: h, peers: make(map[peer.ID]*extensionsEntry)}
}

// recvExtensions follows the router's handling of an RPC from a peer,
// which carries an extensions control message or not, and charges a
// repeated one as the router does. r.ext is not nil.
func (r *routerMirror) recvExtensions(from peer.ID, carries bool, now time.Duration) {
	if !carries && r.touchExtensions(from, now) {
		return
	}
	streams := r.inboundPubsubStreams(from) // asks the host; done before locking
	r.mu.Lock()
	charge := r.ext.judge(from, streams, carries, now)
	r.mu.Unlock()
	if charge {
		r.eng.chargeBehaviour(from, extensionsPenalty, penRepeatedExtensions)
	}
}

// touchExtensions records an RPC without extensions from a known peer: the
// common path, one map lookup. It reports whether the peer was known.
func (r *routerMirror) touchExtensions(p peer.ID, now time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.ext.peers[p]
	if e == nil {
		return false
	}
	e.lastRPC = max(e.lastRPC, now) // direct callers may race; the router's loop does not
	return true
}

// judge records an RPC from p, given p's inbound pubsub streams now, and
// reports whether the router charges it. A peer's first RPC only starts its
// entry. A repeated extensions message is charged when it came on a stream
// already recorded. When a new stream has appeared, the router forgot the
// peer as the old one closed (if its protocol says so), and the new
// stream's first RPC may carry extensions: charged only if an RPC reached
// the router after the new stream opened, so that this one is not its
// first. When every stream is gone already, the RPC may have been a new
// stream's first: not charged, unless the router never forgets the peer.
func (b *extensionsBook) judge(p peer.ID, streams []inboundStream, carries bool, now time.Duration) bool {
	e := b.peers[p]
	if e == nil {
		e = &extensionsEntry{clears: true, lastRPC: now}
		e.record(streams)
		b.peers[p] = e
		b.peak = max(b.peak, len(b.peers))
		return false
	}
	previous := e.lastRPC
	e.lastRPC = max(previous, now)
	if !carries {
		return false
	}
	var charge bool
	if newest, ok := e.newestUnrecorded(streams); ok {
		charge = !e.clears || previous > newest.opened
	} else if len(streams) == 0 {
		charge = !e.clears
	} else {
		charge = true
	}
	e.record(streams)
	return charge
}

// record remembers streams as the peer's current ones. With none (all
// closed before we looked), the earlier verdict on clearing stands.
func (e *extensionsEntry) record(streams []inboundStream) {
	if len(streams) == 0 {
		return
	}
	e.streams = e.streams[:0]
	e.clears = false
	for _, st := range streams[:min(len(streams), maxRecordedStreams)] {
		e.streams = append(e.streams, st.id)
		e.clears = e.clears || st.clears
	}
}

// newestUnrecorded returns the most recently opened of streams that the
// entry has not seen: the one an RPC on a new stream most likely came on,
// and the one that spares a charge if any does.
func (e *extensionsEntry) newestUnrecorded(streams []inboundStream) (inboundStream, bool) {
	var newest inboundStream
	found := false
	for _, st := range streams {
		if slices.Contains(e.streams, st.id) {
			continue
		}
		if !found || st.opened > newest.opened {
			newest, found = st, true
		}
	}
	return newest, found
}

// inboundPubsubStreams lists p's inbound streams that speak one of the
// router's default protocols.
func (r *routerMirror) inboundPubsubStreams(p peer.ID) []inboundStream {
	var out []inboundStream
	for _, c := range r.ext.host.Network().ConnsToPeer(p) {
		for _, st := range c.GetStreams() {
			stat := st.Stat()
			proto := st.Protocol()
			if stat.Direction != network.DirInbound || !slices.Contains(pubsub.GossipSubDefaultProtocols, proto) {
				continue
			}
			opened := time.Duration(math.MaxInt64)
			if !stat.Opened.IsZero() {
				opened = stat.Opened.Sub(r.eng.base)
			}
			out = append(out, inboundStream{
				id:     st.ID(),
				opened: opened,
				clears: pubsub.GossipSubDefaultFeatures(pubsub.GossipSubFeatureExtensions, proto),
			})
		}
	}
	return out
}

// sweepExtensions forgets the peers that are no longer connected, so that
// the record holds at most the peers that had a connection within the last
// sweep interval. The host is asked outside the lock; an entry that took
// an RPC meanwhile is kept.
func (r *routerMirror) sweepExtensions() {
	b := r.ext
	if b == nil {
		return
	}
	started := r.eng.now()
	r.mu.Lock()
	known := make([]peer.ID, 0, len(b.peers))
	for p := range b.peers {
		known = append(known, p)
	}
	r.mu.Unlock()

	var gone []peer.ID
	for _, p := range known {
		if b.host.Network().Connectedness(p) != network.Connected {
			gone = append(gone, p)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range gone {
		if e := b.peers[p]; e != nil && e.lastRPC < started {
			delete(b.peers, p)
		}
	}
	b.shrink()
}

// extensionsEntries is how many peers the record holds, -1 when it is off.
func (r *routerMirror) extensionsEntries() int {
	if r.ext == nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ext.peers)
}

// shrink rebuilds the map once it holds under a quarter of its peak, as a
// Go map keeps the room it grew to after a flood of peers has left.
func (b *extensionsBook) shrink() {
	if len(b.peers)*4 >= b.peak {
		return
	}
	fresh := make(map[peer.ID]*extensionsEntry, len(b.peers))
	for p, e := range b.peers {
		fresh[p] = e
	}
	b.peers, b.peak = fresh, len(fresh)
}
