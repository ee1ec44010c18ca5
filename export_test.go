package peerscore

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// SetIPsForTest gives p the addresses addrs as if the host had reported
// them, for tests that have no host.
func SetIPsForTest(s *Scorer, p peer.ID, addrs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ps := s.peers.Get(p); ps != nil {
		s.setIPs(ps, addrs)
	}
}

// DeliveryRecordsForTest reports how many message delivery records s holds.
func DeliveryRecordsForTest(s *Scorer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries.len()
}

// RouterAskedForTest reports whether the router wired by GossipSubOptions
// has asked s for a score yet.
func RouterAskedForTest(s *Scorer) bool {
	return !s.router.check.watching.Load()
}

// RouterScoreForTest returns the score function GossipSubOptions gives the
// router.
func RouterScoreForTest(s *Scorer) func(peer.ID) float64 { return s.router.routerScore }

// LogBufferForTest is a log buffer that goroutines may write to at once;
// String reads what they wrote.
type LogBufferForTest = logBuffer

// Defaults and limits the tests measure against.
const (
	DefaultMaxDeliveryRecordsForTest = defaultMaxDeliveryRecords
	DefaultMaxRetainedPeersForTest   = defaultMaxRetainedPeers
	MaxStateSizeForTest              = maxStateSize
)

// MaxSnapshotHold runs Snapshots and returns the longest it held the
// scorer's lock at a time.
func MaxSnapshotHold(s *Scorer) time.Duration {
	var longest time.Duration
	s.snapshots(func(c sliceCopy) { longest = max(longest, c.hold) })
	return longest
}

// SnapshotSlice is what one slice of a Snapshots copy took under the lock.
type SnapshotSlice struct{ Peers, Topics int }

// SnapshotSlicesForTest runs Snapshots and returns its slices.
func SnapshotSlicesForTest(s *Scorer) []SnapshotSlice {
	var out []SnapshotSlice
	s.snapshots(func(c sliceCopy) { out = append(out, SnapshotSlice{c.peers, c.topics}) })
	return out
}

// SaveSlicesForTest runs what Save copies and returns its slices, and how
// many peers it would save.
func SaveSlicesForTest(s *Scorer) ([]SnapshotSlice, int) {
	var out []SnapshotSlice
	_, peers, _ := s.saveState(func(c sliceCopy) { out = append(out, SnapshotSlice{c.peers, c.topics}) })
	return out, len(peers)
}
