package peerscore

// retainedSet bounds the retained (disconnected) peers. A peer is retained
// for its score of zero or less, and each disconnect of a throw-away
// identity would otherwise add one for RetainScore; at the bound, the least
// negative retained peer is forgotten first, so the worst offenders are the
// ones kept.
//
// It is a max-heap keyed on each retained peer's own conduct: its score
// without P6, that is the cached parts (topics, P7 and slow peer), kept
// current by publish, plus P5 as the application gave it when the peer was
// retained (P5 is the application's code, which never runs under the
// Scorer's lock). P6 is left out because it measures the crowd on an
// address, not the peer: it moves when other peers come and go, which would
// leave keys stale, and a swarm of Sybil IDs behind one address, each
// deeply negative through P6 alone, would otherwise push the records of
// real offences out of the set. Retained peers do not decay, so the key
// changes only when an event reaches a retained peer (AddPenalty, a late
// invalid copy, new topic parameters), and publish then moves it. Among
// equal keys the peer whose retention ends first goes first.
type retainedSet struct {
	max     int
	heap    []*peerState // heap[i].retainPos == i+1
	evicted uint64       // peers forgotten early to respect max
}

// retainedKey is what the heap orders retained peers by: their score
// without P6.
func retainedKey(ps *peerState, topics, behaviour float64) float64 {
	return topics + ps.retainApp + behaviour
}

// above reports whether heap slot i is to be evicted before slot j.
func (r *retainedSet) above(i, j int) bool {
	a, b := r.heap[i], r.heap[j]
	if a.retainKey != b.retainKey {
		return a.retainKey > b.retainKey
	}
	return a.expire < b.expire
}

func (r *retainedSet) swap(i, j int) {
	r.heap[i], r.heap[j] = r.heap[j], r.heap[i]
	r.heap[i].retainPos = i + 1
	r.heap[j].retainPos = j + 1
}

func (r *retainedSet) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !r.above(i, parent) {
			return
		}
		r.swap(i, parent)
		i = parent
	}
}

func (r *retainedSet) down(i int) {
	for {
		top, left := i, 2*i+1
		if left < len(r.heap) && r.above(left, top) {
			top = left
		}
		if right := left + 1; right < len(r.heap) && r.above(right, top) {
			top = right
		}
		if top == i {
			return
		}
		r.swap(i, top)
		i = top
	}
}

// push adds ps, which must not be in the set, with key.
func (r *retainedSet) push(ps *peerState, key float64) {
	ps.retainKey = key
	r.heap = append(r.heap, ps)
	ps.retainPos = len(r.heap)
	r.up(len(r.heap) - 1)
}

// remove takes ps out of the set if it is in it.
func (r *retainedSet) remove(ps *peerState) {
	if ps.retainPos == 0 {
		return
	}
	i, last := ps.retainPos-1, len(r.heap)-1
	if i != last {
		r.swap(i, last)
	}
	r.heap[last] = nil
	r.heap = r.heap[:last]
	ps.retainPos = 0
	if i != last {
		r.down(i)
		r.up(i)
	}
	if cap(r.heap) > 64 && len(r.heap)*4 < cap(r.heap) {
		// Give back the memory of a past flood of retained peers.
		r.heap = append(make([]*peerState, 0, 2*len(r.heap)), r.heap...)
	}
}

// rekey moves ps, which is in the set, to its new key. Its expiry may
// have changed too, so it is moved even when the key has not.
func (r *retainedSet) rekey(ps *peerState, key float64) {
	ps.retainKey = key
	i := ps.retainPos - 1
	r.down(i)
	r.up(i)
}

// retain adds ps, just disconnected or restored with its score published,
// to the retained set; app is its weighted P5 at this moment. If that takes
// the set over its bound, the least negative retained peer, possibly ps
// itself, is forgotten. It reports whether ps is still known.
func (s *Scorer) retain(ps *peerState, app float64) bool {
	ps.retainApp = app
	topics, behaviour := ps.cache.load()
	key := retainedKey(ps, topics, behaviour)
	if ps.retainPos != 0 { // closed twice: already retained
		s.retained.rekey(ps, key)
		return true
	}
	s.retained.push(ps, key)
	for len(s.retained.heap) > s.retained.max {
		s.forget(s.retained.heap[0]) // forget takes it out of the heap
		s.retained.evicted++
	}
	return !ps.forgotten
}

// retainTopic does to a peer's counters in one topic what disconnecting
// does: its first-delivery credit is dropped (as in pubsub), it leaves the
// mesh, paying P3b if it was in it and owed mesh deliveries, and the
// topic's score is recomputed. It reports whether P3b was charged. A peer
// already out of the mesh pays nothing more here; with pubsub's reading of
// P3 (spec false) it keeps the activation it had, and with it its P3.
// OnClosedOutboundStream applies it to the live counters of a peer it
// retains; Save applies it to a copy, for a connected peer it saves as if
// it disconnected now.
func (r *topicRules) retainTopic(ts *topicStats, spec bool) (meshCharged bool) {
	ts.first = 0
	if ts.inMesh {
		meshCharged = r.leaveMesh(ts, spec)
	}
	ts.score = r.breakdown(ts).total
	return meshCharged
}
