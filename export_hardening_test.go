package peerscore

// Test-only hooks for the fuzz and hardening tests (fuzz_*, hardening_*).
// They only read the Scorer's internals, under its lock, and the router
// mirror's, under the mirror's.

// InternalSizes are the sizes of the Scorer's internal books, which no
// public method reports in full: the end state of a fuzz case checks that
// every one of them drains once the peers are gone and time has passed.
type InternalSizes struct {
	Peers         int // peers in the table (Stats().Peers)
	IndexedPeers  int // live entries in the lock-free index
	IPAddrs       int // addresses with at least one peer, for P6
	Records       int // delivery records in the ring
	RecordsMap    int // delivery records in the map (must equal Records)
	RingLen       int // capacity of the delivery record ring
	PromiseMsgs   int // messages with IWANT promises
	PromisePeers  int // peers with IWANT promises
	Backoffs      int // PRUNE backoffs held
	StaleBackoffs int // backoffs that have ended but are still held
	JoinedTopics  int // topics the router joined
	LateDupTopics int // topics with late duplicate counts
}

// InternalSizesForTest reports s's InternalSizes.
func InternalSizesForTest(s *Scorer) InternalSizes {
	s.mu.Lock()
	now := s.now()
	z := InternalSizes{
		Peers:         len(s.peers.All()),
		IPAddrs:       len(s.ips.counts),
		Records:       s.deliveries.count,
		RecordsMap:    len(s.deliveries.records),
		RingLen:       len(s.deliveries.ring),
		LateDupTopics: len(s.counters.lateDuplicates),
	}
	for range s.peers.Scan() {
		z.IndexedPeers++
	}
	s.mu.Unlock() // the two locks never nest, here as in the Scorer

	r := &s.router
	r.mu.Lock()
	defer r.mu.Unlock()
	z.PromiseMsgs = len(r.promises.byMsg)
	z.PromisePeers = len(r.promises.byPeer)
	z.JoinedTopics = len(r.joined)
	for _, peers := range r.backoffs.expiry {
		for _, end := range peers {
			z.Backoffs++
			if end <= now {
				z.StaleBackoffs++
			}
		}
	}
	return z
}
