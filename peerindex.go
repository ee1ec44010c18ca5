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
	if (t.used+1)*4 > len(tab.slots)*3 {
		tab = t.rebuild(len(t.all) + 1)
	}
	if t.place(tab, ps) {
		t.used++
	}
	ps.slot = len(t.all)
	t.all = append(t.all, ps)
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
	if len(t.all) > minIndexSize && len(t.all)*8 < len(tab.slots) {
		t.rebuild(len(t.all))
	}
}

// rebuild publishes a fresh table without tombstones, sized for live
// entries at under half load.
func (t *peerTable) rebuild(live int) *indexTable {
	size := minIndexSize
	for size < live*2 {
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
