package peerscore

import "fmt"

// Test-only hooks for the persistence and retention tests.

// WithStateLimitsForTest lowers the bounds Save keeps to and Load enforces
// (bytes in a state, peers, topics and addresses per peer) from their
// defaults, so that tests reach them without writing 64 MiB. A zero keeps
// the default.
func WithStateLimitsForTest(size, peers, peerTopics, peerIPs int) Option {
	return func(c *config) error {
		for _, v := range []struct {
			dst *int
			v   int
		}{{&c.limits.size, size}, {&c.limits.peers, peers}, {&c.limits.peerTopics, peerTopics}, {&c.limits.peerIPs, peerIPs}} {
			if v.v != 0 {
				*v.dst = v.v
			}
		}
		return nil
	}
}

// CheckRetainedForTest checks the retained set of s against its peers: it
// holds exactly the disconnected peers, each at the position it records,
// in heap order, within its bound, and each keyed on its current score
// without P5 plus the P5 it was retained with. It returns how many peers
// are retained.
func CheckRetainedForTest(s *Scorer) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.retained
	if len(r.heap) > r.max {
		return 0, fmt.Errorf("%d retained, more than %d", len(r.heap), r.max)
	}
	for i, ps := range r.heap {
		if ps.retainPos != i+1 {
			return 0, fmt.Errorf("%s at %d records position %d", ps.ID, i+1, ps.retainPos)
		}
		if ps.connected || ps.forgotten || s.peers.Get(ps.ID) != ps {
			return 0, fmt.Errorf("%s in the retained set: connected %v, forgotten %v", ps.ID, ps.connected, ps.forgotten)
		}
		if i > 0 && r.above(i, (i-1)/2) {
			return 0, fmt.Errorf("%s at %d is above its parent", ps.ID, i+1)
		}
		topics, behaviour := ps.cache.load()
		if key := retainedKey(ps, topics, behaviour); key != ps.retainKey {
			return 0, fmt.Errorf("%s keyed on %v, its score is %v", ps.ID, ps.retainKey, key)
		}
	}
	disconnected := 0
	for _, ps := range s.peers.All() {
		if !ps.connected {
			disconnected++
			if ps.retainPos == 0 {
				return 0, fmt.Errorf("%s is disconnected but not in the retained set", ps.ID)
			}
		}
	}
	if disconnected != len(r.heap) {
		return 0, fmt.Errorf("%d disconnected peers, %d in the retained set", disconnected, len(r.heap))
	}
	return len(r.heap), nil
}
