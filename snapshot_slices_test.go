package peerscore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// The defect: Snapshots copied every peer's counters under one hold of the
// scorer's lock, 50 MB at 10,000 peers × 64 topics, and the router's
// events waited tens of milliseconds behind it. Now it copies a slice of
// peers at a time and builds their snapshots between holds, so events
// come in while a scrape runs: here, penalties charged to every peer from
// inside the scrape (the first WithAppReasons call, made while the first
// slice is built) reach the peers of the later slices. Each snapshot
// still adds up to its own score.
func TestSnapshotsReleaseTheLockBetweenSlices(t *testing.T) {
	const nPeers, nTopics = 2000, 16
	topics := map[string]*peerscore.TopicParams{}
	for i := range nTopics {
		topics[fmt.Sprint("t", i)] = scoretest.FullTopic()
	}
	p := scoretest.Params(topics)
	p.BehaviourPenaltyWeight, p.BehaviourPenaltyDecay = -1, 0.5
	peers := make([]peer.ID, nPeers)
	var s *peerscore.Scorer
	var once sync.Once
	s = scoretest.New(t, p, peerscore.WithAppReasons(func(peer.ID) []string {
		once.Do(func() {
			for _, q := range peers {
				s.AddPenalty(q, 1)
			}
		})
		return nil
	}))
	for i := range peers {
		peers[i] = peer.ID(fmt.Sprintf("peer-%04d", i))
		scoretest.Connect(s, peers[i])
		for name := range topics {
			s.Tracer().Graft(peers[i], name)
		}
	}

	snaps := s.Snapshots()
	require.Len(t, snaps, nPeers)
	penalised := 0
	for _, snap := range snaps {
		if snap.BehaviourPenalty > 0 {
			penalised++
		}
		scoretest.Near(t, snap.Score, snap.TopicScore+snap.P5+snap.P6+snap.P7+snap.SlowPeer, "%s's parts", snap.Peer)
	}
	require.Greater(t, penalised, nPeers/2, "the scrape held the lock for every peer at once")
	require.Less(t, penalised, nPeers, "the first slice was copied before the penalties")
}

// Every slice of a scrape, and of what Save copies, holds at most 256
// peers and 4,096 topics' counters, but always one peer, however many
// topics it has.
func TestSnapshotsSliceBounds(t *testing.T) {
	topics := map[string]*peerscore.TopicParams{}
	for i := range 5000 {
		topics[fmt.Sprint("t", i)] = scoretest.FullTopic()
	}
	s := scoretest.New(t, scoretest.Params(topics))
	var names []string
	for name := range topics {
		names = append(names, name)
	}
	for i := range 1000 {
		p := peer.ID(fmt.Sprint("p", i))
		scoretest.Connect(s, p)
		n := 3
		if i%250 == 0 {
			n = len(names) // a peer alone over the topic bound
		}
		for _, name := range names[:n] {
			s.Tracer().Graft(p, name)
		}
	}
	saveSlices, saved := peerscore.SaveSlicesForTest(s)
	require.Equal(t, 1000, saved, "every peer, at a score of zero, would be retained")
	for _, slices := range [][]peerscore.SnapshotSlice{peerscore.SnapshotSlicesForTest(s), saveSlices} {
		total := 0
		for _, sl := range slices {
			total += sl.Peers
			require.LessOrEqual(t, sl.Peers, 256)
			if sl.Peers > 1 {
				require.LessOrEqual(t, sl.Topics, 4096)
			}
		}
		require.Equal(t, 1000, total)
	}
}
