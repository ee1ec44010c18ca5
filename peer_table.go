package peerscore

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
)

// peerTable holds every peer the scorer knows. Readers find a peer without
// taking any lock, which is what lets Score run in parallel on the router's
// hot path; writers hold Scorer.mu.
//
// The index is an open-addressing hash table of atomic pointers. Writers only
// fill empty slots, turn removed entries into tombstones, or publish a whole
// new table, so a reader sees either the old or the new state of a slot,
// never a torn one.
type peerTable struct {
	table atomic.Pointer[indexTable]
	used  int // live entries plus tombstones in the current table
	peak  int // the most live entries since the last settle
	all   []*peerState
}

type indexTable struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[peerState]
}

// tombstone marks a removed slot: readers probe past it, writers reuse it.
var tombstone = new(peerState)

const minIndexSize = 64

func newPeerTable() *peerTable {
	t := &peerTable{}
	t.table.Store(newIndexTable(minIndexSize))
	return t
}

func newIndexTable(size int) *indexTable {
	return &indexTable{
		seed:  maphash.MakeSeed(),
		mask:  uint64(size - 1),
		slots: make([]atomic.Pointer[peerState], size),
	}
}

// get is safe without a lock.
func (t *peerTable) get(id peer.ID) *peerState {
	tab := t.table.Load()
	for i := maphash.String(tab.seed, string(id)) & tab.mask; ; i = (i + 1) & tab.mask {
		ps := tab.slots[i].Load()
		if ps == nil {
			return nil
		}
		if ps != tombstone && ps.id == id {
			return ps
		}
	}
}

// add inserts ps, whose ID must not be present.
func (t *peerTable) add(ps *peerState) {
	tab := t.table.Load()
	if (t.used+1)*2 > len(tab.slots) { // at most half full: probes stay short
		tab = t.rebuild(len(t.all) + 1)
	}
	if t.place(tab, ps) {
		t.used++
	}
	ps.slot = len(t.all)
	t.all = append(t.all, ps)
	t.peak = max(t.peak, len(t.all))
}

// place stores ps in the first free or tombstone slot of its probe sequence
// and reports whether it used a free one.
func (t *peerTable) place(tab *indexTable, ps *peerState) bool {
	for i := maphash.String(tab.seed, string(ps.id)) & tab.mask; ; i = (i + 1) & tab.mask {
		switch tab.slots[i].Load() {
		case nil:
			tab.slots[i].Store(ps)
			return true
		case tombstone:
			tab.slots[i].Store(ps)
			return false
		}
	}
}

// remove deletes ps from the index and from the list of all peers.
func (t *peerTable) remove(ps *peerState) {
	tab := t.table.Load()
	for i := maphash.String(tab.seed, string(ps.id)) & tab.mask; ; i = (i + 1) & tab.mask {
		cur := tab.slots[i].Load()
		if cur == nil {
			break
		}
		if cur == ps {
			tab.slots[i].Store(tombstone)
			break
		}
	}
	last := t.all[len(t.all)-1]
	t.all[ps.slot] = last
	last.slot = ps.slot
	t.all[len(t.all)-1] = nil
	t.all = t.all[:len(t.all)-1]
}

// settle gives back the memory of a table much larger than the peers it
// has held since the last settle; Refresh calls it. Shrinking on removal
// instead would rebuild the table at every wave of churn, each time a
// swarm of throw-away identities is forgotten and the next one connects.
func (t *peerTable) settle() {
	if tab := t.table.Load(); len(tab.slots) > minIndexSize && t.peak*16 < len(tab.slots) {
		t.rebuild(len(t.all))
	}
	t.peak = len(t.all)
}

// rebuild publishes a fresh table without tombstones, sized for live
// entries at a quarter load, so that it takes as many insertions again
// (or tombstones) before the next rebuild.
func (t *peerTable) rebuild(live int) *indexTable {
	size := minIndexSize
	for size < live*4 {
		size *= 2
	}
	tab := newIndexTable(size)
	for _, ps := range t.all {
		t.place(tab, ps)
	}
	t.used = len(t.all)
	t.table.Store(tab)
	return tab
}
