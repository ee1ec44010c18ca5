package peerscore

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestPeerTableSettle: the index keeps its size through waves of churn
// (a swarm connects, is forgotten, the next connects) and gives its memory
// back only once a Refresh interval has passed with far fewer peers.
func TestPeerTableSettle(t *testing.T) {
	tab := newPeerTable()
	wave := func(n int, prefix string) {
		peers := make([]*peerState, n)
		for i := range peers {
			peers[i] = &peerState{id: peer.ID(fmt.Sprintf("%s-%05d", prefix, i))}
			tab.add(peers[i])
		}
		for _, ps := range peers {
			if tab.get(ps.id) != ps {
				t.Fatalf("%s not found", ps.id)
			}
		}
		for _, ps := range peers {
			tab.remove(ps)
		}
	}
	wave(10000, "a")
	big := tab.table.Load()
	tab.settle() // the wave peaked at 10,000 since the last settle: keep
	wave(10000, "b")
	if tab.table.Load() != big {
		t.Fatal("the index was rebuilt for a wave of churn it had room for")
	}
	tab.settle()
	tab.settle() // an interval with no peers at all
	if n := len(tab.table.Load().slots); n != minIndexSize {
		t.Fatalf("index of %d slots after the churn stopped, want %d", n, minIndexSize)
	}
	if tab.get("b-00001") != nil || len(tab.all) != 0 {
		t.Fatal("a forgotten peer is still indexed")
	}
}
