package peerscore

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestColocationChurnTouchesOnlyThePeer pins the cost of IP colocation: a
// peer joining, leaving or being forgotten from a crowded address changes
// the address count and its own state, and republishes no other peer's
// score, however many share the address. (Republishing every co-located
// peer made a swarm of Sybil IDs behind one address quadratic under the
// lock.) The other peers' P6 still moves, read live.
func TestColocationChurnTouchesOnlyThePeer(t *testing.T) {
	const crowd = 20000
	s, err := New(&Params{
		SkipAtomicValidation:        true,
		IPColocationFactorWeight:    -1,
		IPColocationFactorThreshold: 1,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := []string{"203.0.113.7"}
	join := func(id peer.ID) *peerState {
		s.mu.Lock()
		defer s.mu.Unlock()
		ps := newPeerState(id)
		ps.connected = true
		s.peers.Add(ps, &ps.Entry)
		s.setIPs(ps, addr)
		return ps
	}
	first := join("first")
	for i := 1; i < crowd; i++ {
		join(peer.ID(fmt.Sprintf("sybil-%05d", i)))
	}
	surplus := float64(crowd - 1)
	if got := s.Score("first"); got != -surplus*surplus {
		t.Fatalf("P6 of a peer among %d: %v, want %v", crowd, got, -surplus*surplus)
	}

	seq := first.cache.seq.Load()
	late := join("late")
	s.mu.Lock()
	s.forget(late)
	s.mu.Unlock()
	s.Tracer().OnClosedOutboundStream("sybil-00001") // retained: its score is negative
	s.mu.Lock()
	s.forget(s.peers.Get("sybil-00002"))
	s.mu.Unlock()
	if got := first.cache.seq.Load(); got != seq {
		t.Fatalf("another peer's churn republished this peer's score (sequence %d -> %d)", seq, got)
	}
	surplus = float64(crowd - 2)
	if got := s.Score("first"); got != -surplus*surplus {
		t.Fatalf("P6 after one peer was forgotten: %v, want %v", got, -surplus*surplus)
	}
}
