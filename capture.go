package peerscore

import (
	"runtime"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// What Snapshots and Save read of every peer is copied a slice of peers at
// a time, each slice under one short hold of the scorer's lock, and used
// between holds: the router's events never wait behind a copy of the
// whole table, whatever its size.

// Bounds of one slice of a copy: what the lock is held for at a time. A
// topic's counters are about 90 bytes; BenchmarkScrapeRouterLatency
// measures how long a hold of 4,096 of them, or 256 peers, lasts
// (docs/performance.md).
const (
	sliceTopics = 4096
	slicePeers  = 256
)

// sliceCopy is what one slice of a copy did under the lock.
type sliceCopy struct {
	hold          time.Duration
	peers, topics int
}

// captureSlice copies, under one hold of the lock, the state of the first
// of peers that fit in a slice (at least one, whatever its topics), into
// buf, which it empties first, skipping peers forgotten since they were
// listed. It returns the copies, appended to srcs, and how many of peers
// it went through.
func (s *Scorer) captureSlice(peers []*peerState, buf *captureBuf, srcs []snapshotSource, onSlice func(sliceCopy)) ([]snapshotSource, int) {
	buf.topics, buf.rules = buf.topics[:0], buf.rules[:0]
	// Start a fresh time slice: the scheduler preempts a goroutine that
	// has run for 10 ms, and this one, building snapshots between its
	// holds, would otherwise sooner or later lose its processor while
	// holding the lock, for as long as others run.
	runtime.Gosched()
	s.mu.Lock()
	var start time.Time
	if onSlice != nil {
		start = time.Now()
	}
	n := 0
	for ; n < len(peers) && len(srcs) < slicePeers; n++ {
		ps := peers[n]
		if ps.forgotten {
			continue
		}
		if len(srcs) > 0 && len(buf.topics)+len(ps.topics) > sliceTopics {
			break
		}
		srcs = append(srcs, s.capture(ps, buf))
	}
	if onSlice != nil {
		onSlice(sliceCopy{hold: time.Since(start), peers: len(srcs), topics: len(buf.topics)})
	}
	s.mu.Unlock()
	return srcs, n
}

// peerList lists the known peers as the index holds them now, without
// the lock.
func (s *Scorer) peerList() []*peerState {
	var peers []*peerState
	for ps := range s.peers.Scan() {
		peers = append(peers, ps)
	}
	return peers
}

// copySlices copies the state of peers a slice at a time and hands each
// copy to use, outside the lock, before the next slice overwrites it.
// Peers forgotten since they were listed are skipped. onSlice, if not
// nil, is told what each slice did under the lock.
func (s *Scorer) copySlices(peers []*peerState, onSlice func(sliceCopy), use func(*snapshotSource)) {
	buf := &captureBuf{topics: make([]topicStats, 0, sliceTopics), rules: make([]*topicRules, 0, sliceTopics)}
	srcs := make([]snapshotSource, 0, slicePeers)
	for len(peers) > 0 {
		var n int
		srcs, n = s.captureSlice(peers, buf, srcs[:0], onSlice)
		peers = peers[n:]
		for i := range srcs {
			use(&srcs[i])
		}
		clear(srcs) // the next slice overwrites buf: drop what pointed into it
	}
}

// snapshotSource is a copy of one peer's state, taken under the lock:
// what a Snapshot is built from, and what Save writes. Rules and address lists are shared, as they
// are replaced, never changed, once published.
type snapshotSource struct {
	id         peer.ID
	connected  bool
	expire     time.Duration
	topics     []topicStats
	rules      []*topicRules // rules[i] scores topics[i]
	ips        []peerIP
	factor     float64 // raw P6
	topicsTerm float64 // capped topic sum, as cached
	behaviourT float64 // weighted P7 plus the slow-peer penalty, as cached
	colocation float64 // weighted P6, as cached
	behaviour  float64 // P7 counter
	slow       float64 // slow-peer counter
	p7, slowW  float64 // weighted
}

// captureBuf holds the counters and rules of many captures in two
// allocations.
type captureBuf struct {
	topics []topicStats
	rules  []*topicRules
}

// capture copies ps's state into buf; the caller holds the lock. The score
// parts are read from the cache, which every change republishes.
func (s *Scorer) capture(ps *peerState, buf *captureBuf) snapshotSource {
	src := snapshotSource{
		id:        ps.ID,
		connected: ps.connected,
		expire:    ps.expire,
		ips:       ps.addrs(),
		behaviour: ps.behaviour,
		slow:      ps.slow,
	}
	if len(src.ips) > 0 {
		src.factor = colocationFactor(src.ips, s.rules.colocationThreshold)
	}
	src.topicsTerm, src.behaviourT = ps.cache.load()
	src.colocation = s.colocationTerm(ps)
	src.p7, src.slowW = s.behaviourParts(ps)
	start := len(buf.topics)
	buf.topics = append(buf.topics, ps.topics...)
	for i := range ps.topics {
		buf.rules = append(buf.rules, s.byIdx[ps.topics[i].topic])
	}
	end := len(buf.topics)
	src.topics, src.rules = buf.topics[start:end:end], buf.rules[start:end:end]
	return src
}
