package reputation

import "github.com/libp2p/go-libp2p/core/peer"

// Negligible is the value below which a peer is forgotten.
const Negligible = negligible

// DecayStep runs one step of the decay loop.
func DecayStep(r *Reputation) { r.decay() }

// IndexSize is the number of slots in r's lock-free index.
func IndexSize(r *Reputation) int { return r.peers.Slots() }

// SelectFirst exposes the selection makeRoom uses.
func SelectFirst[T any](s []T, k int, before func(a, b T) bool) { selectFirst(s, k, before) }

// Severity is what makeRoom ranks p by: the value its last report left it
// at, and the order it was tracked in; and whether p is frozen now.
func Severity(r *Reputation, p peer.ID) (value float64, seq uint64, frozen, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.peers.Get(p)
	if e == nil {
		return 0, 0, false, false
	}
	return e.value, e.seq, r.now() < e.frozen, true
}

// WithStateLimitsForTest lowers the bounds Save keeps to and Load enforces
// (bytes, peers), so that tests reach them cheaply. A zero keeps the
// default.
func WithStateLimitsForTest(size, peers int) Option {
	return func(c *config) error {
		if size != 0 {
			c.limits.size = size
		}
		if peers != 0 {
			c.limits.peers = peers
		}
		return nil
	}
}
