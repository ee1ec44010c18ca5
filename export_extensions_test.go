package peerscore

// ExtensionsEntriesForTest reports how many peers the repeated-extensions
// record holds (-1 when it is off).
func ExtensionsEntriesForTest(s *Scorer) int {
	if s.ext == nil {
		return -1
	}
	s.ext.mu.Lock()
	defer s.ext.mu.Unlock()
	return len(s.ext.peers)
}

// SweepExtensionsForTest runs the loop's sweep of disconnected peers'
// records now.
func SweepExtensionsForTest(s *Scorer) { s.sweepExtensions() }
