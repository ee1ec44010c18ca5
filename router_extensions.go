package peerscore

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

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

// extensionsPenalty is what the router adds to P7 for each repeated
// extensions control message.
const extensionsPenalty = 10

// maxRecordedStreams bounds the inbound stream IDs remembered per peer.
// pubsub keeps one inbound stream per peer, so more only appear while one
// replaces another; a stream left out looks new later, which can only
// spare a charge.
const maxRecordedStreams = 4

// extensionsBook is the state behind the repeated-extensions penalty. It
// has its own lock so that RecvRPC never waits for the scorer's.
type extensionsBook struct {
	host     host.Host
	graylist atomic.Uint64 // float64 bits; RPCs from peers below it never reach the router

	mu    sync.Mutex
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
	b := &extensionsBook{host: h, peers: make(map[peer.ID]*extensionsEntry)}
	b.setGraylist(math.Inf(-1))
	return b
}

func (b *extensionsBook) setGraylist(t float64) {
	if b != nil {
		b.graylist.Store(math.Float64bits(t))
	}
}

// extensionsRecv follows the router's handling of rpc's extensions and
// charges a repeated extensions control message as the router does.
func (s *Scorer) extensionsRecv(rpc *pubsub.RPC) {
	b := s.ext
	if b == nil || rpc == nil {
		return
	}
	from := rpc.From()
	if graylist := math.Float64frombits(b.graylist.Load()); !math.IsInf(graylist, -1) && !s.direct.has(from) && s.Score(from) < graylist {
		return // the router drops the RPC unread
	}
	carries := rpc.GetControl().GetExtensions() != nil
	now := s.now()
	if !carries && b.touch(from, now) {
		return
	}
	streams := s.inboundPubsubStreams(from) // asks the host; done before locking
	b.mu.Lock()
	charge := b.judge(from, streams, carries, now)
	b.mu.Unlock()
	if charge {
		s.mu.Lock()
		s.addBehaviourPenalty(from, extensionsPenalty, penRepeatedExtensions)
		s.mu.Unlock()
	}
}

// touch records an RPC without extensions from a known peer: the common
// path, one map lookup. It reports whether the peer was known.
func (b *extensionsBook) touch(p peer.ID, now time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.peers[p]
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
func (s *Scorer) inboundPubsubStreams(p peer.ID) []inboundStream {
	var out []inboundStream
	for _, c := range s.ext.host.Network().ConnsToPeer(p) {
		for _, st := range c.GetStreams() {
			stat := st.Stat()
			proto := st.Protocol()
			if stat.Direction != network.DirInbound || !slices.Contains(pubsub.GossipSubDefaultProtocols, proto) {
				continue
			}
			opened := time.Duration(math.MaxInt64)
			if !stat.Opened.IsZero() {
				opened = stat.Opened.Sub(s.base)
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
// the book holds at most the peers that had a connection within the last
// sweep interval. The host is asked outside the book's lock; an entry that
// took an RPC meanwhile is kept.
func (s *Scorer) sweepExtensions() {
	b := s.ext
	if b == nil {
		return
	}
	started := s.now()
	b.mu.Lock()
	known := make([]peer.ID, 0, len(b.peers))
	for p := range b.peers {
		known = append(known, p)
	}
	b.mu.Unlock()

	var gone []peer.ID
	for _, p := range known {
		if b.host.Network().Connectedness(p) != network.Connected {
			gone = append(gone, p)
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range gone {
		if e := b.peers[p]; e != nil && e.lastRPC < started {
			delete(b.peers, p)
		}
	}
	b.shrink()
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
