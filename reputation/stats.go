package reputation

// Stats are a Reputation's counts, for metrics and an operator's
// endpoint; they marshal to JSON with the field names below.
type Stats struct {
	// Tracked is how many peers are tracked now, and Frozen how many of
	// them are held by a freeze (WithFreeze).
	Tracked int `json:"tracked"`
	Frozen  int `json:"frozen"`
	// MaxPeers is the bound on Tracked (WithMaxPeers).
	MaxPeers int `json:"max_peers"`
	// Evicted counts the peers forgotten to make room for new ones before
	// their value had decayed to nothing.
	Evicted uint64 `json:"evicted"`
	// Untracked counts the reports about new peers that were not kept
	// because every tracked peer was frozen.
	Untracked uint64 `json:"untracked"`
	// Reports counts the reports taken in since New, by action: all but
	// those with an unknown action, about an empty peer ID, or Useful
	// without WithReward, which Report ignores.
	Reports map[Action]uint64 `json:"reports"`
}

// Stats returns the Reputation's counts now. It takes the Reputation's
// lock once and costs O(tracked peers), to count the frozen ones.
func (r *Reputation) Stats() Stats {
	st := Stats{MaxPeers: r.cfg.maxPeers, Reports: make(map[Action]uint64, Useful)}
	for a := Low; a <= Useful; a++ {
		st.Reports[a] = r.reports[a].Load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	st.Tracked = len(r.peers.All())
	for _, e := range r.peers.All() {
		if now < e.frozen {
			st.Frozen++
		}
	}
	st.Evicted, st.Untracked = r.evicted, r.untracked
	return st
}
