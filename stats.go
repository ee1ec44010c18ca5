package peerscore

import (
	"maps"
	"math"
	"sync/atomic"
)

// Stats are the Scorer's running totals, for metrics and diagnostics.
type Stats struct {
	Peers           int `json:"peers"`            // peers known, retained ones included
	Retained        int `json:"retained"`         // disconnected peers kept for their non-positive score
	DeliveryRecords int `json:"delivery_records"` // message delivery records held
	Promises        int `json:"promises"`         // IWANT promises outstanding

	// MaxDeliveryRecords and MaxRetainedPeers are the bounds in force
	// (WithMaxDeliveryRecords, WithMaxRetainedPeers), so that a dashboard
	// or an alert can tell how close DeliveryRecords and Retained are to
	// them.
	MaxDeliveryRecords int `json:"max_delivery_records"`
	MaxRetainedPeers   int `json:"max_retained_peers"`

	// RetainedEvicted counts the retained peers forgotten before their
	// RetainScore passed, the least negative first, to stay within
	// WithMaxRetainedPeers.
	RetainedEvicted uint64 `json:"retained_evicted"`

	// Penalties counts the charges made since New, by reason, every
	// reason listed: for invalid messages, broken promises, GRAFTs,
	// repeated extensions, slow peers and AddPenalty the amount added to
	// the counter; for mesh delivery deficits and IP colocation the number
	// of times a peer was charged.
	Penalties map[PenaltyReason]uint64 `json:"penalties"`

	// LateDuplicates counts, per scored topic, copies of valid messages
	// from mesh peers that came after the MeshMessageDeliveriesWindow and
	// so earned no mesh delivery credit: a sign of slow links or of a
	// window that is too short.
	LateDuplicates map[string]uint64 `json:"late_duplicates"`

	// RouterMismatches counts the router checks that found the router
	// wired by GossipSubOptions scoring with something besides peerscore's
	// score, one per check period and detector (see WithRouterCheck): any
	// value above zero is a misconfiguration, explained in the Error log.
	RouterMismatches uint64 `json:"router_mismatches"`
}

// counters are the totals behind Stats that events keep up to date.
type counters struct {
	penalties      [numPenalties]atomic.Uint64
	lateDuplicates map[string]uint64 // guarded by Scorer.mu
}

// charge adds n to reason r's total, saturating: a Prometheus counter must
// never go down.
func (c *counters) charge(r penalty, n float64) {
	if !(n > 0) {
		return
	}
	add := uint64(math.MaxUint64)
	if n < float64(math.MaxUint64) {
		add = uint64(n)
	}
	for {
		old := c.penalties[r].Load()
		sum := old + add
		if sum < old {
			sum = math.MaxUint64
		}
		if c.penalties[r].CompareAndSwap(old, sum) {
			return
		}
	}
}

// Stats returns the Scorer's running totals.
func (s *Scorer) Stats() Stats {
	st := Stats{
		Penalties:        make(map[PenaltyReason]uint64, numPenalties),
		RouterMismatches: s.router.check.mismatches.Load(),
		Promises:         s.router.promiseCount(), // before our lock: the two never nest
	}
	for r := range s.counters.penalties {
		st.Penalties[penaltyReasons[r]] = s.counters.penalties[r].Load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Peers = len(s.peers.All())
	for _, ps := range s.peers.All() {
		if !ps.connected {
			st.Retained++
		}
	}
	st.DeliveryRecords = s.deliveries.len()
	st.MaxDeliveryRecords = s.deliveries.max
	st.MaxRetainedPeers = s.retained.max
	st.RetainedEvicted = s.retained.evicted
	st.LateDuplicates = maps.Clone(s.counters.lateDuplicates)
	if st.LateDuplicates == nil {
		st.LateDuplicates = map[string]uint64{}
	}
	return st
}
