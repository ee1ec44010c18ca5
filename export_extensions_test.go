package peerscore

// ExtensionsEntriesForTest reports how many peers the repeated-extensions
// record holds (-1 when it is off).
func ExtensionsEntriesForTest(s *Scorer) int { return s.router.extensionsEntries() }

// SweepExtensionsForTest runs the loop's sweep of disconnected peers'
// records now.
func SweepExtensionsForTest(s *Scorer) { s.router.sweepExtensions() }
