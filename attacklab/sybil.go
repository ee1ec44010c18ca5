package attacklab

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/rawpeer"
)

// The Sybil is the evaluation's "bad boy" (hardening: test/badboy.go), a
// router-less peer that does on the wire what it did:
//
//   - it speaks /meshsub/1.0.0 (badboy.go:39), so honest routers treat it
//     as a gossipsub v1.0 peer;
//   - it never opens a pubsub stream first: when a peer opens one, it opens
//     its own back before reading anything (badboy.go:120-130); to every
//     SUBSCRIBE it answers SUBSCRIBE and GRAFT in one RPC and puts the
//     peer in its mesh (badboy.go:179-201); a GRAFT puts the sender in its
//     mesh (badboy.go:213-215); it never prunes;
//   - after a PRUNE it drops the peer and GRAFTs again 60 s + U[0, 15 s)
//     later (sybil_regraft_backoff 1m, sybil_regraft_delay 15s;
//     badboy.go:205-233);
//   - it ignores IHAVE and IWANT and sends neither, never publishes;
//   - it keeps a 2-minute seen cache of messages (badboy.go:106-118; see
//     seenCache) and, until it attacks, forwards each new one to every mesh
//     peer but the sender and the originator, with no degree limit
//     (badboy.go:332-349); attacking, it drops the censored publisher's
//     messages, then any message with probability Drop, and forwards the
//     rest (badboy.go:159-167);
//   - what it sends a peer waits in a queue of 32 RPCs, written in order
//     (badboy.go:255-296): a forwarded message that finds the queue full
//     is dropped (badboy.go:340-345; sybilStats.QueueDrops), a GRAFT waits
//     for room (badboy.go:320-330); when a write fails, the peer leaves the
//     mesh and the stream is forgotten (badboy.go:258-266), so nothing more
//     goes to that peer until it opens a new stream.
const (
	sybilProtocol      = "/meshsub/1.0.0"
	sybilRegraftAfter  = time.Minute
	sybilRegraftJitter = 15 * time.Second
	sybilSeenTTL       = 2 * time.Minute
	// sybilQueue is how many RPCs wait for one peer's stream: the suite's
	// channel of 32 (badboy.go:289). One more is being written.
	sybilQueue = 32
)

// The GRAFTs the Sybil sends, marshalled once: the answer to a SUBSCRIBE
// and the re-GRAFT after a PRUNE.
var (
	subscribeGraftFrame = mustFrame(withSubscribe(rawpeer.Graft(Topic)))
	graftFrame          = mustFrame(rawpeer.Graft(Topic))
)

func withSubscribe(rpc *pb.RPC) *pb.RPC {
	rpc.Subscriptions = rawpeer.Subscribe(Topic).Subscriptions
	return rpc
}

func mustFrame(rpc *pb.RPC) []byte {
	f, err := rawpeer.Frame(rpc)
	if err != nil {
		panic(err)
	}
	return f
}

var errSybilStopped = errors.New("lab: the Sybil has stopped")

type sybil struct {
	h   host.Host
	raw *rawpeer.Peer

	drop      float64
	censored  peer.ID // "" for none
	attacking atomic.Bool
	stopped   atomic.Bool
	stats     *sybilStats

	mu     sync.Mutex
	room   sync.Cond // on mu: a queue that was full has room, or a stream went
	mesh   map[peer.ID]bool
	out    map[peer.ID]*outbound
	seen   seenCache
	rng    *rand.Rand
	timers map[*time.Timer]struct{} // pending, to stop when the Sybil stops
}

// sybilStats are what all Sybils of a run did, for the report.
type sybilStats struct {
	Grafts    atomic.Int64 // GRAFTs written to a stream
	Prunes    atomic.Int64 // PRUNEs received
	Received  atomic.Int64 // new messages received
	Dropped   atomic.Int64 // of them, dropped by the attack
	Forwarded atomic.Int64 // copies written to a stream
	// QueueDrops are copies not forwarded because 32 RPCs already waited
	// for that peer's stream: the suite's "Dropping RPC ... queue full"
	// (badboy.go:344). Only a peer that reads slower than the Sybil
	// forwards loses them, once its stream is full too (128 unread writes
	// on the lab's streams, delayQueue). Honest routers read at once: the
	// lab's runs had none (covert-flash, eclipse-network and degradation at
	// the default scale; degradation at -rate 120, 1.5 million copies).
	QueueDrops atomic.Int64
}

// outbound is the Sybil's stream to one peer and the RPCs waiting for it:
// the suite's channel and the goroutine that drained it (badboy.go:255-296),
// except that the writer goroutine runs only while something waits. An
// idle link costs this struct and no goroutine, and the queue's backing
// array is let go when it empties.
type outbound struct {
	s       network.Stream
	queue   []frame // oldest first; at most sybilQueue; nil when empty
	writing bool    // a writer goroutine is draining queue
}

// frame is one marshalled RPC in a queue; the copies of a forwarded
// message share their bytes.
type frame struct {
	data []byte
	ctl  bool // a GRAFT rather than a forwarded message
}

func newSybil(h host.Host, drop float64, censored peer.ID, seed uint64, stats *sybilStats) *sybil {
	s := &sybil{h: h, drop: drop, censored: censored, stats: stats,
		mesh: make(map[peer.ID]bool), out: make(map[peer.ID]*outbound),
		seen:   seenCache{ids: make(map[string]struct{})},
		rng:    rand.New(rand.NewPCG(seed, 0x5b1)), // #nosec: a simulation's dice
		timers: make(map[*time.Timer]struct{}),
	}
	s.room.L = &s.mu
	s.raw = rawpeer.New(h, s.recv, rawpeer.WithProtocol(sybilProtocol), rawpeer.WithOnStream(s.accept))
	return s
}

// attackFrom makes the Sybil attack after delay (at once if zero).
func (s *sybil) attackFrom(delay time.Duration) {
	if delay <= 0 {
		s.attacking.Store(true)
		return
	}
	s.after(delay, func() { s.attacking.Store(true) })
}

// after runs fn after d unless the Sybil has stopped by then.
func (s *sybil) after(d time.Duration, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped.Load() {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		s.mu.Lock()
		delete(s.timers, t) // a fired timer is not kept for the run's length
		s.mu.Unlock()
		if !s.stopped.Load() {
			fn()
		}
	})
	s.timers[t] = struct{}{}
}

// stop stops the timers and resets the Sybil's streams, as the suite's
// writers did when the run ended (badboy.go:258, 277); GRAFTs waiting for
// room give up.
func (s *sybil) stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	for t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	out := s.out
	s.out = make(map[peer.ID]*outbound)
	for _, o := range out {
		o.queue = nil
	}
	s.room.Broadcast()
	s.mu.Unlock()
	for _, o := range out {
		_ = o.s.Reset()
	}
}

// accept opens the Sybil's stream to a peer that has just opened one to
// it, before anything is read (badboy.go:120-130). A stream it had to the
// peer already is reset and its queue dropped: a peer opens a new stream
// when it has given up the old one (pubsub resets an older inbound stream
// of the same peer). The suite instead left the old writer running.
func (s *sybil) accept(in network.Stream) error {
	if s.stopped.Load() {
		return errSybilStopped
	}
	p := in.Conn().RemotePeer()
	st, err := s.h.NewStream(context.Background(), p, sybilProtocol)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.stopped.Load() {
		s.mu.Unlock()
		_ = st.Reset()
		return errSybilStopped
	}
	old := s.out[p]
	s.out[p] = &outbound{s: st}
	if old != nil {
		old.queue = nil
		s.room.Broadcast()
	}
	s.mu.Unlock()
	if old != nil {
		_ = old.s.Reset()
	}
	return nil
}

// recv handles an RPC from peer from in the suite's order: subscriptions,
// PRUNEs, GRAFTs, then messages (badboy.go:144-175, 179-216).
func (s *sybil) recv(from peer.ID, rpc *pb.RPC) {
	if s.stopped.Load() {
		return
	}
	for _, sub := range rpc.GetSubscriptions() {
		if sub.GetSubscribe() && sub.GetTopicid() == Topic {
			s.graft(from, subscribeGraftFrame)
		}
	}
	if ctl := rpc.GetControl(); ctl != nil {
		for _, p := range ctl.GetPrune() {
			if p.GetTopicID() == Topic {
				s.pruned(from)
			}
		}
		for _, g := range ctl.GetGraft() {
			if g.GetTopicID() == Topic {
				s.mu.Lock()
				s.mesh[from] = true
				s.mu.Unlock()
			}
		}
	}
	for _, m := range rpc.GetPublish() {
		s.message(from, m)
	}
}

// graft queues the GRAFT rpc (with a SUBSCRIBE in it when it answers one)
// for p, waiting while p's queue is full, and puts p in the mesh once it is
// queued. Without a stream to p it does neither (badboy.go:193-200,
// 224-230, 320-330). Answering a SUBSCRIBE, the wait holds up reading
// from p, as it did in the suite.
func (s *sybil) graft(p peer.ID, rpc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		o := s.out[p]
		if o == nil || s.stopped.Load() {
			return
		}
		if len(o.queue) < sybilQueue {
			s.push(p, o, frame{data: rpc, ctl: true})
			s.mesh[p] = true
			return
		}
		s.room.Wait()
	}
}

// pruned takes p out of the mesh and GRAFTs it again 60-75 s later.
func (s *sybil) pruned(p peer.ID) {
	s.stats.Prunes.Add(1)
	s.mu.Lock()
	delete(s.mesh, p)
	wait := sybilRegraftAfter + time.Duration(s.rng.Int64N(int64(sybilRegraftJitter)))
	s.mu.Unlock()
	s.after(wait, func() { s.graft(p, graftFrame) })
}

// message handles a message from peer from: the seen cache, the attack,
// then a copy offered to every mesh peer with a stream, but from and the
// message's originator.
func (s *sybil) message(from peer.ID, m *pb.Message) {
	id := string(m.GetFrom()) + string(m.GetSeqno())
	origin := peer.ID(m.GetFrom())

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seen.add(id, time.Now()) {
		return
	}
	s.stats.Received.Add(1)
	if s.attacking.Load() && (origin == s.censored && s.censored != "" || s.rng.Float64() < s.drop) {
		s.stats.Dropped.Add(1)
		return
	}
	if m.GetTopic() != Topic { // the suite forwards to the mesh of the message's topic
		return
	}
	var data []byte
	for p := range s.mesh {
		o := s.out[p]
		if p == from || p == origin || o == nil {
			continue
		}
		if data == nil {
			var err error
			if data, err = rawpeer.Frame(&pb.RPC{Publish: []*pb.Message{m}}); err != nil {
				return
			}
		}
		if len(o.queue) >= sybilQueue {
			s.stats.QueueDrops.Add(1)
			continue
		}
		s.push(p, o, frame{data: data})
	}
}

// push queues f for p's stream o and starts o's writer unless it runs.
// Call with mu held and room in the queue.
func (s *sybil) push(p peer.ID, o *outbound, f frame) {
	o.queue = append(o.queue, f)
	if !o.writing {
		o.writing = true
		go s.write(p, o)
	}
}

// write writes o's queue to p in order until it is empty. A failed write
// takes p out of the mesh (badboy.go:255-281).
func (s *sybil) write(p peer.ID, o *outbound) {
	for {
		f, ok := s.next(o)
		if !ok {
			return
		}
		if _, err := o.s.Write(f.data); err != nil {
			s.failed(p, o)
			return
		}
		if f.ctl {
			s.stats.Grafts.Add(1)
		} else {
			s.stats.Forwarded.Add(1)
		}
	}
}

// next takes the oldest frame off o's queue, or, if there is none, ends
// the writer.
func (s *sybil) next(o *outbound) (frame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(o.queue) == 0 {
		o.queue, o.writing = nil, false
		return frame{}, false
	}
	if len(o.queue) == sybilQueue {
		s.room.Broadcast()
	}
	f := o.queue[0]
	o.queue[0] = frame{}
	o.queue = o.queue[1:]
	return f, true
}

// failed resets p's stream o after a write failed, drops what waited for
// it, and, unless p has opened a new stream since, forgets o and takes p
// out of the mesh (badboy.go:258-266). A GRAFT from p puts it back in the
// mesh, but nothing goes to p until it opens a new stream.
func (s *sybil) failed(p peer.ID, o *outbound) {
	_ = o.s.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	o.queue, o.writing = nil, false
	if s.out[p] == o {
		delete(s.out, p)
		delete(s.mesh, p)
	}
	s.room.Broadcast()
}

// seenCache is the suite's seen cache, whyrusleeping/timecache at
// cfcb2f1 (pinned by test/go.mod): an ID is forgotten only when a new ID
// is added more than the TTL after it (timecache.go:23-55). Nothing else
// sweeps it, so a message that comes again after two minutes is new only
// if some new message came in between, after the two minutes.
type seenCache struct {
	ids   map[string]struct{}
	order []seenEntry // oldest first
}

type seenEntry struct {
	id string
	at int64 // Unix nanoseconds
}

// add records id at now and reports whether it was new.
func (c *seenCache) add(id string, now time.Time) bool {
	if _, dup := c.ids[id]; dup {
		return false
	}
	at := now.UnixNano()
	for len(c.order) > 0 && at-c.order[0].at > int64(sybilSeenTTL) {
		delete(c.ids, c.order[0].id)
		c.order[0] = seenEntry{}
		c.order = c.order[1:]
	}
	c.ids[id] = struct{}{}
	c.order = append(c.order, seenEntry{id: id, at: at})
	return true
}
