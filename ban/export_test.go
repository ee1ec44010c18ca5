package ban

// MinSweep is the smallest table size at which a ban sweeps expired bans.
const MinSweep = minSweep

// TableSize is how many entries g's table holds, peers and addresses,
// expired ones included.
func TableSize(g *Gater) int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.sizeLocked()
}

// WithStateLimitsForTest lowers the bounds Save keeps to and Load enforces
// (bytes in a saved table, bans in it), so that tests reach them cheaply.
// A zero keeps the default.
func WithStateLimitsForTest(size, bans int) GaterOption {
	return func(c *gaterConfig) error {
		if size != 0 {
			c.limits.size = size
		}
		if bans != 0 {
			c.limits.bans = bans
		}
		return nil
	}
}

// TrackedIPs is how many addresses m records banned peers for. Call it
// once m is closed: the Monitor's goroutine owns the record.
func TrackedIPs(m *Monitor) int { return len(m.ips.peers) }
