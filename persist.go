package peerscore

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Save writes to w every peer the scorer would retain if it disconnected
// now, so that a new Scorer can Load them after a restart and a bad peer
// cannot wash its score by waiting for one (or causing one). It saves:
//
//   - retained (disconnected) peers, as they are, with the end of their
//     retention;
//   - connected peers whose score, P5 included, is zero or less, as
//     OnClosedOutboundStream would leave them if they disconnected now:
//     first-delivery credit dropped, out of every mesh with the P3 deficit
//     they owe charged to P3b, retained until now plus RetainScore.
//
// Connected peers with a positive score are not saved: they would be
// forgotten on disconnect too. Save changes nothing in the scorer, holds
// its lock only to copy the peers' counters, a slice of peers at a time,
// and never while writing, and may be called at any time, concurrently
// with events. A peer that first connects while Save runs may be left
// out.
//
// Save writes the whole state with a single call to w.Write. The format,
// version 1, is UTF-8 text in three lines:
//
//	peerscore-state v1
//	{"saved_at":"2025-01-02T03:04:05.123456789Z","peers":[...]}
//	sha256 <64 lowercase hex digits>
//
// The first line names the format and its version. The second is a JSON
// object: saved_at, when the state was written (for people; Load ignores
// it), and peers, sorted by ID, one object per saved peer:
//
//	{
//	  "id": "12D3KooW...",              // peer ID, base58, as peer.ID.String prints it
//	  "expires": "2025-...Z",           // end of its retention: wall clock, RFC 3339, UTC
//	  "topics": [{                      // its counters per scored topic, in the scorer's order
//	    "topic": "blocks",
//	    "first_message_deliveries": 0,  // P2 counter (0 once disconnected)
//	    "mesh_message_deliveries": 3.5, // P3 counter
//	    "mesh_failure_penalty": 12.25,  // P3b counter
//	    "invalid_message_deliveries": 4, // P4 counter
//	    "mesh_deliveries_active": true  // P3 still active (omitted when not)
//	  }],
//	  "behaviour_penalty": 2,           // P7 counter (omitted when 0)
//	  "slow_peer": 1,                   // slow-peer counter (omitted when 0)
//	  "ips": ["192.0.2.1"]              // addresses counted for P6 (omitted when none)
//	}
//
// The third line is the SHA-256 of every byte before it, so that a
// truncated, half-written or damaged file is detected before anything in it
// is used. Every line ends with a newline, the last one included. Numbers
// are written in the shortest form that reads back as the same float64 and
// times to the nanosecond, so a round trip is exact. A topic whose name is
// not valid UTF-8 cannot be written as JSON text, and is left out.
//
// Whatever Save writes, Load accepts: Save never writes more than
// 64 MiB, more than 2^20 peers, more than 2^14 topics or 2^10
// addresses for one peer (the most negative topics and the first addresses
// are kept), or a peer ID longer than Load reads. When the peers do not
// all fit, the most negative are saved and the least negative left out,
// and Save logs how many at warn level. A saved peer's size grows with
// its ID, each topic it has counters in (and the topic's name) and each
// address; BenchmarkSavedPeerSize measures it, and docs/memory.md in the
// module's source gives the figures and how many peers the 64 MiB hold.
func (s *Scorer) Save(w io.Writer) error {
	data, err := s.encodeSaved()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("peerscore: save: %w", err)
	}
	return nil
}

// encodeSaved encodes the peers to save, within the state limits.
func (s *Scorer) encodeSaved() ([]byte, error) {
	savedAt, peers, unwritable := s.saveState(nil)
	data, saved, err := encodeState(savedAt, peers, s.stateLimits)
	if err != nil {
		return nil, err
	}
	if left := len(peers) - saved + unwritable; left > 0 {
		s.logger.Warn("saved state at its limit: left out the least negative peers",
			"saved", saved, "left_out", left, "limit_bytes", s.stateLimits.size, "limit_peers", s.stateLimits.peers)
	}
	return data, nil
}

// saveState copies the peers to save, each with the score it would have
// if retained now, and counts the peers whose ID is too long to save. The
// peers are copied a slice at a time (copySlices), so that a large table
// does not hold up the router's events; onSlice, if not nil, is told what
// each slice did under the lock.
func (s *Scorer) saveState(onSlice func(sliceCopy)) (savedAt time.Time, peers []savedPeer, unwritable int) {
	list := s.peerList()
	// P5 is the application's code, which never runs under our lock:
	// ask for every listed peer's first, as OnClosedOutboundStream does.
	app := make(map[peer.ID]float64, len(list))
	for _, ps := range list {
		app[ps.ID] = s.appTerm(ps.ID)
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	peers = make([]savedPeer, 0, len(list))
	s.copySlices(list, onSlice, func(src *snapshotSource) {
		a := app[src.id]
		expire := src.expire
		if src.connected {
			if addParts(src.topicsTerm, a, src.colocation, src.behaviourT) > 0 {
				return
			}
			expire = addSat(now, s.rules.retainScore)
		}
		id := src.id.String()
		if len(id) > maxStateIDChars {
			unwritable++
			return
		}
		sp := statePeer{
			ID:        id,
			Expires:   wallTime(s.at(expire)),
			Behaviour: stateCounter(src.behaviour),
			Slow:      stateCounter(src.slow),
		}
		topics := src.topicsTerm
		var topicSum float64
		sp.Topics, topicSum = s.saveTopics(src)
		if src.connected {
			topics = s.capTopicSum(topicSum)
		}
		for _, ip := range src.ips[:min(len(src.ips), s.stateLimits.peerIPs)] {
			sp.IPs = append(sp.IPs, ip.addr)
		}
		// Ranked by conduct, as the retained set is (retained.go): P6
		// measures the crowd on an address, and a Sybil swarm must not
		// push real offences out of the file.
		peers = append(peers, savedPeer{peer: sp, score: topics + a + src.behaviourT})
	})
	return wallTime(s.at(now)), peers, unwritable
}

// saveTopics returns a copied peer's topic counters to save, as
// OnClosedOutboundStream would leave them if it is connected, and the sum
// of the topics' scores with those counters. Topics whose name JSON
// cannot carry are left out, and beyond the limit per peer the least
// negative topics.
func (s *Scorer) saveTopics(src *snapshotSource) ([]stateTopic, float64) {
	if len(src.topics) == 0 {
		return nil, 0
	}
	type topic struct {
		st    stateTopic
		score float64
	}
	all := make([]topic, 0, len(src.topics))
	var sum float64
	for i := range src.topics {
		ts := &src.topics[i] // the copy's: the live counters stay as they are
		r := src.rules[i]
		if src.connected {
			r.retainTopic(ts, s.specP3) // as if it disconnected now
		}
		sum += ts.score
		if !utf8.ValidString(r.name) {
			continue
		}
		all = append(all, topic{stateTopic{
			Topic:   r.name,
			First:   stateCounter(ts.first),
			Mesh:    stateCounter(ts.mesh),
			Failure: stateCounter(ts.failure),
			Invalid: stateCounter(ts.invalid),
			Active:  ts.meshActive,
		}, ts.score})
	}
	if len(all) > s.stateLimits.peerTopics {
		// Keep the most negative, in the scorer's order.
		order := make([]int, len(all))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(all[a].score, all[b].score) })
		order = order[:s.stateLimits.peerTopics]
		slices.Sort(order)
		for i, j := range order {
			all[i] = all[j]
		}
		all = all[:len(order)]
	}
	out := make([]stateTopic, len(all))
	for i := range all {
		out[i] = all[i].st
	}
	return out, sum
}

// restoredPeer is a saved peer, checked and ready to add.
type restoredPeer struct {
	id        peer.ID
	expires   time.Time
	topics    []stateTopic
	behaviour float64
	slow      float64
	ips       []string
	app       float64 // weighted P5 when loaded
}

// Load reads a state written by Save and adds its peers to the scorer as
// retained (disconnected) peers, each until the end of its retention, so
// that a bad peer stays bad across a restart. A restored peer that
// reconnects resumes its counters, as a retained peer does.
//
// Load reads r to its end and checks all of it before changing anything:
// if the input is larger than 64 MiB (refused after reading one byte
// more, before decoding any of it), empty, truncated, corrupt, of another
// version or holds values out of range (a negative, NaN or infinite
// counter, a malformed peer ID or address, a peer listed twice), Load
// returns an error wrapping ErrInvalidState and the scorer is exactly as it
// was. Otherwise, under the scorer's lock, each saved peer is added except:
//
//   - a peer whose retention has already ended (the node was down longer
//     than that), which is simply not restored;
//   - a peer the scorer already knows: its live state wins over the saved
//     one.
//
// The saved counters meet the scorer's current parameters: topics it no
// longer scores are dropped, first and mesh delivery counters are brought
// down to the topics' caps, scores are computed with the current weights,
// and no retention is left longer than the current RetainScore from now
// (which also guards against a wall clock that jumped backwards). Expiry
// times are wall-clock times, so the time the node was down counts.
//
// Restored peers count towards WithMaxRetainedPeers like any retained peer:
// beyond it, the least negative are forgotten.
//
// Load is meant for a new Scorer, before Start and before the router
// sends events, but is safe at any time and concurrently with anything.
func (s *Scorer) Load(r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(s.stateLimits.size)+1))
	if err != nil {
		return fmt.Errorf("peerscore: load: %w", err)
	}
	return s.loadState(data)
}

// loadState checks a whole state and restores its peers.
func (s *Scorer) loadState(data []byte) error {
	peers, err := decodeState(data, s.stateLimits)
	if err != nil {
		return err
	}
	for i := range peers {
		peers[i].app = s.appTerm(peers[i].id) // outside our lock, as always
	}
	s.restore(peers)
	return nil
}

// restore adds checked peers; it cannot fail.
func (s *Scorer) restore(peers []restoredPeer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	longest := addSat(now, s.rules.retainScore)
	var restored, expired, known int
	evictedBefore := s.retained.evicted
	for i := range peers {
		rp := &peers[i]
		if s.peers.Get(rp.id) != nil {
			known++
			continue
		}
		expire := rp.expires.Sub(s.base) // wall clock: rp.expires has no monotonic reading
		if now > expire {
			expired++
			continue
		}
		expire = min(expire, longest)
		ps := newPeerState(rp.id)
		ps.expire, ps.behaviour, ps.slow = expire, rp.behaviour, rp.slow
		ps.restored = true
		for _, t := range rp.topics {
			r, ok := s.topics[t.Topic]
			if !ok || ps.findTopic(r.index) != nil {
				continue
			}
			ts := topicStats{
				topic:   r.index,
				first:   math.Min(t.First, r.firstCap),
				mesh:    math.Min(t.Mesh, r.meshCap),
				failure: t.Failure,
				invalid: t.Invalid,
				// Out of the mesh, as every retained peer is; with
				// pubsub's reading of P3 its activation still counts.
				meshActive: t.Active && !s.specP3,
			}
			ts.score = r.breakdown(&ts).total
			ps.topics = append(ps.topics, ts)
		}
		// Not setIPs: these addresses were counted before the restart, and
		// restoring them is no new colocation charge in Stats. The score is
		// published before the peer is added, so that Score, which takes
		// no lock, never sees it half restored.
		s.ips.set(ps, rp.ips, s.rules.colocationThreshold)
		s.publish(ps)
		s.peers.Add(ps, &ps.Entry)
		s.retain(ps, rp.app)
		restored++
	}
	s.logger.Debug("loaded saved scores", "restored", restored, "expired", expired, "already_known", known,
		"evicted", s.retained.evicted-evictedBefore)
}
