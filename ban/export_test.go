package ban

// MinSweep is the smallest table size at which Ban sweeps expired bans.
const MinSweep = minSweep

// TableSize is how many entries g's table holds, expired ones included.
func TableSize(g *Gater) int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.bans)
}
