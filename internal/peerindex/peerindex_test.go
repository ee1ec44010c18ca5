package peerindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

type elem struct {
	Entry[elem]
	n int
}

func newElem(id peer.ID, n int) *elem {
	e := &elem{n: n}
	e.ID = id
	return e
}

// The index keeps its size through waves of churn (a swarm arrives, is
// removed, the next arrives) and gives its memory back only once a Settle
// interval has passed with far fewer elements.
func TestSettle(t *testing.T) {
	tab := New[elem](64)
	wave := func(n int, prefix string) {
		elems := make([]*elem, n)
		for i := range elems {
			elems[i] = newElem(peer.ID(fmt.Sprintf("%s-%05d", prefix, i)), i)
			tab.Add(elems[i], &elems[i].Entry)
		}
		for _, e := range elems {
			if tab.Get(e.ID) != e {
				t.Fatalf("%s not found", e.ID)
			}
		}
		for _, e := range elems {
			tab.Remove(&e.Entry)
		}
	}
	wave(10000, "a")
	big := tab.index.Load()
	tab.Settle() // the wave peaked at 10,000 since the last Settle: keep
	wave(10000, "b")
	if tab.index.Load() != big {
		t.Fatal("the index was rebuilt for a wave of churn it had room for")
	}
	tab.Settle()
	tab.Settle() // an interval with nothing at all
	if n := tab.Slots(); n != 64 {
		t.Fatalf("index of %d slots after the churn stopped, want 64", n)
	}
	if tab.Get("b-00001") != nil || tab.Len() != 0 || cap(tab.All()) > 64 {
		t.Fatalf("after the churn: found %v, %d elements, list capacity %d", tab.Get("b-00001"), tab.Len(), cap(tab.All()))
	}
}

// Random adds, removes and settles against a map: Get, All, Len and Scan
// always agree with it, every element's slot is its place in All, and the
// index is never more than half full.
func TestAgainstMap(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 1))
		tab := New[elem](8)
		want := map[peer.ID]*elem{}
		for step := range 20000 {
			id := peer.ID(fmt.Sprintf("p%d", rng.IntN(300)))
			switch op := rng.IntN(10); {
			case op < 5:
				if want[id] == nil {
					want[id] = newElem(id, step)
					tab.Add(want[id], &want[id].Entry)
				}
			case op < 9:
				if e := want[id]; e != nil {
					tab.Remove(&e.Entry)
					delete(want, id)
				}
			default:
				tab.Settle()
			}
			if got := tab.Get(id); got != want[id] {
				t.Fatalf("seed %d step %d: Get(%s) = %p, want %p", seed, step, id, got, want[id])
			}
		}
		if tab.Len() != len(want) {
			t.Fatalf("seed %d: Len %d, want %d", seed, tab.Len(), len(want))
		}
		for i, e := range tab.All() {
			if want[e.ID] != e || e.slot != i || tab.entries[i] != &e.Entry {
				t.Fatalf("seed %d: All()[%d] = %s (slot %d) is not as tracked", seed, i, e.ID, e.slot)
			}
		}
		var scanned []*elem
		for e := range tab.Scan() {
			scanned = append(scanned, e)
		}
		all := slices.Clone(tab.All())
		cmp := func(a, b *elem) int { return a.n - b.n }
		slices.SortFunc(scanned, cmp)
		slices.SortFunc(all, cmp)
		if !slices.Equal(scanned, all) {
			t.Fatalf("seed %d: Scan yields %d elements, All holds %d", seed, len(scanned), len(all))
		}
		if tab.used*2 > tab.Slots() {
			t.Fatalf("seed %d: %d of %d slots used", seed, tab.used, tab.Slots())
		}
	}
}

// Readers without a lock while a writer adds and removes (run with -race):
// a reader finds every element that stays in the table throughout, and
// never one that was never added.
func TestConcurrentReaders(t *testing.T) {
	tab := New[elem](8)
	var mu sync.Mutex // the owner's lock, for writers only
	stay := make([]*elem, 50)
	for i := range stay {
		stay[i] = newElem(peer.ID(fmt.Sprintf("stay-%d", i)), i)
		tab.Add(stay[i], &stay[i].Entry)
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, e := range stay {
					if tab.Get(e.ID) != e {
						t.Errorf("%s lost while others churned", e.ID)
						return
					}
				}
				if tab.Get("never") != nil {
					t.Error("found an element never added")
					return
				}
			}
		})
	}
	for round := range 200 {
		mu.Lock()
		churn := make([]*elem, 100)
		for i := range churn {
			churn[i] = newElem(peer.ID(fmt.Sprintf("churn-%d-%d", round, i)), i)
			tab.Add(churn[i], &churn[i].Entry)
		}
		for _, e := range churn {
			tab.Remove(&e.Entry)
		}
		tab.Settle()
		mu.Unlock()
	}
	close(done)
	readers.Wait()
}
