package lab

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/rawpeer"
)

// The Sybil is the evaluation's "bad boy" (hardening: test/badboy.go), a
// router-less peer that does on the wire what it did:
//
//   - it speaks /meshsub/1.0.0 (badboy.go:39), so honest routers treat it
//     as a gossipsub v1.0 peer;
//   - it never opens a pubsub stream first; to every SUBSCRIBE it answers
//     SUBSCRIBE and GRAFT in one RPC and puts the peer in its mesh
//     (badboy.go:179-201); a GRAFT puts the sender in its mesh
//     (badboy.go:213-215); it never prunes;
//   - after a PRUNE it drops the peer and GRAFTs again 60 s + U[0, 15 s)
//     later (sybil_regraft_backoff 1m, sybil_regraft_delay 15s;
//     badboy.go:205-233);
//   - it ignores IHAVE and IWANT and sends neither, never publishes;
//   - it keeps a 2-minute seen cache of messages (badboy.go:106-118) and,
//     until it attacks, forwards each new one to every mesh peer but the
//     sender and the originator, with no degree limit (badboy.go:332-349);
//     attacking, it drops the censored publisher's messages, then any
//     message with probability Drop, and forwards the rest
//     (badboy.go:159-167).
const (
	sybilProtocol      = "/meshsub/1.0.0"
	sybilRegraftAfter  = time.Minute
	sybilRegraftJitter = 15 * time.Second
	sybilSeenTTL       = 2 * time.Minute
)

type sybil struct {
	h   host.Host
	raw *rawpeer.Peer

	drop      float64
	censored  peer.ID // "" for none
	attacking atomic.Bool
	stopped   atomic.Bool
	stats     *sybilStats

	mu       sync.Mutex
	mesh     map[peer.ID]bool
	seen     map[string]time.Time
	lastScan time.Time
	rng      *rand.Rand
	timers   []*time.Timer
}

// sybilStats are what all Sybils of a run did, for the report.
type sybilStats struct {
	Grafts    atomic.Int64 // GRAFTs sent
	Prunes    atomic.Int64 // PRUNEs received
	Received  atomic.Int64 // new messages received
	Dropped   atomic.Int64 // of them, dropped
	Forwarded atomic.Int64 // copies sent on
}

func newSybil(h host.Host, drop float64, censored peer.ID, seed uint64, stats *sybilStats) *sybil {
	s := &sybil{h: h, drop: drop, censored: censored, stats: stats,
		mesh: make(map[peer.ID]bool), seen: make(map[string]time.Time),
		rng: rand.New(rand.NewPCG(seed, 0x5b1)), // #nosec: a simulation's dice
	}
	s.raw = rawpeer.New(h, s.recv, rawpeer.WithProtocol(sybilProtocol))
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
	s.timers = append(s.timers, time.AfterFunc(d, func() {
		if !s.stopped.Load() {
			fn()
		}
	}))
}

func (s *sybil) stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	for _, t := range s.timers {
		t.Stop()
	}
	s.timers = nil
	s.mu.Unlock()
	s.raw.Close()
}

func (s *sybil) recv(from peer.ID, rpc *pb.RPC) {
	if s.stopped.Load() {
		return
	}
	for _, sub := range rpc.GetSubscriptions() {
		if sub.GetSubscribe() && sub.GetTopicid() == Topic {
			s.graft(from, true)
		}
	}
	if ctl := rpc.GetControl(); ctl != nil {
		for _, g := range ctl.GetGraft() {
			if g.GetTopicID() == Topic {
				s.setMesh(from, true)
			}
		}
		for _, p := range ctl.GetPrune() {
			if p.GetTopicID() == Topic {
				s.pruned(from)
			}
		}
	}
	for _, m := range rpc.GetPublish() {
		s.message(from, m)
	}
}

// graft GRAFTs p (with a SUBSCRIBE in the same RPC when answering one) and
// puts it in the mesh.
func (s *sybil) graft(p peer.ID, subscribe bool) {
	rpc := rawpeer.Graft(Topic)
	if subscribe {
		rpc.Subscriptions = rawpeer.Subscribe(Topic).Subscriptions
	}
	s.setMesh(p, true)
	if s.raw.Send(p, rpc) == nil {
		s.stats.Grafts.Add(1)
	}
}

func (s *sybil) setMesh(p peer.ID, in bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in {
		s.mesh[p] = true
	} else {
		delete(s.mesh, p)
	}
}

func (s *sybil) pruned(p peer.ID) {
	s.stats.Prunes.Add(1)
	s.setMesh(p, false)
	s.mu.Lock()
	wait := sybilRegraftAfter + time.Duration(s.rng.Int64N(int64(sybilRegraftJitter)))
	s.mu.Unlock()
	s.after(wait, func() { s.graft(p, false) })
}

// message handles a message from peer from.
func (s *sybil) message(from peer.ID, m *pb.Message) {
	id := string(m.GetFrom()) + string(m.GetSeqno())
	origin := peer.ID(m.GetFrom())
	now := time.Now()

	s.mu.Lock()
	if _, dup := s.seen[id]; dup {
		s.mu.Unlock()
		return
	}
	s.seen[id] = now
	s.forgetOld(now)
	drop := s.attacking.Load() && (origin == s.censored && s.censored != "" || s.rng.Float64() < s.drop)
	var to []peer.ID
	if !drop {
		for p := range s.mesh {
			if p != from && p != origin {
				to = append(to, p)
			}
		}
	}
	s.mu.Unlock()

	s.stats.Received.Add(1)
	if drop {
		s.stats.Dropped.Add(1)
		return
	}
	fwd := &pb.RPC{Publish: []*pb.Message{m}}
	for _, p := range to {
		if s.raw.Send(p, fwd) == nil {
			s.stats.Forwarded.Add(1)
		}
	}
}

// forgetOld drops seen entries past their TTL, at most every TTL/4.
func (s *sybil) forgetOld(now time.Time) {
	if now.Sub(s.lastScan) < sybilSeenTTL/4 {
		return
	}
	s.lastScan = now
	for id, at := range s.seen {
		if now.Sub(at) > sybilSeenTTL {
			delete(s.seen, id)
		}
	}
}
