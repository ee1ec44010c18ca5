package peerscore

// Test-only hooks for the fuzz and hardening tests (fuzz_*, hardening_*).
// They only read the Scorer's internals, under its lock.

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
	defer s.mu.Unlock()
	now := s.now()
	z := InternalSizes{
		Peers:         len(s.peers.All()),
		IPAddrs:       len(s.ips.counts),
		Records:       s.deliveries.count,
		RecordsMap:    len(s.deliveries.records),
		RingLen:       len(s.deliveries.ring),
		PromiseMsgs:   len(s.router.promises.byMsg),
		PromisePeers:  len(s.router.promises.byPeer),
		JoinedTopics:  len(s.router.joined),
		LateDupTopics: len(s.counters.lateDuplicates),
	}
	for range s.peers.Scan() {
		z.IndexedPeers++
	}
	for _, peers := range s.router.backoffs.expiry {
		for _, end := range peers {
			z.Backoffs++
			if end <= now {
				z.StaleBackoffs++
			}
		}
	}
	return z
}
