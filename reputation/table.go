package reputation

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
)

// table holds the tracked peers. Score finds a peer in it without a lock
// and without allocating (a peer.ID is a string, hashed as one, never
// boxed into an interface as a sync.Map key would be); writers hold
// Reputation.mu.
//
// The index is an open-addressing hash table of atomic pointers. Writers
// only fill empty slots, turn removed entries into tombstones, or publish
// a whole new index, so a reader sees the old or the new state of a slot,
// never a torn one.
type table struct {
	index atomic.Pointer[index]
	used  int // live entries plus tombstones in the current index
	peak  int // the most live entries since the last settle
	all   []*entry
}

type index struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[entry]
}

// tombstone marks a removed slot: readers probe past it, writers reuse it.
var tombstone = new(entry)

const minIndexSize = 16

func newTable() *table {
	t := &table{}
	t.index.Store(newIndex(minIndexSize))
	return t
}

func newIndex(size int) *index {
	return &index{seed: maphash.MakeSeed(), mask: uint64(size - 1), slots: make([]atomic.Pointer[entry], size)}
}

// get is safe without a lock.
func (x *index) get(p peer.ID) *entry {
	for i := maphash.String(x.seed, string(p)) & x.mask; ; i = (i + 1) & x.mask {
		e := x.slots[i].Load()
		if e == nil {
			return nil
		}
		if e != tombstone && e.id == p {
			return e
		}
	}
}

func (t *table) get(p peer.ID) *entry { return t.index.Load().get(p) }

// add inserts e, whose peer must not be present.
func (t *table) add(e *entry) {
	x := t.index.Load()
	if (t.used+1)*2 > len(x.slots) { // at most half full: probes stay short
		x = t.rebuild(len(t.all) + 1)
	}
	if place(x, e) {
		t.used++
	}
	e.slot = len(t.all)
	t.all = append(t.all, e)
	t.peak = max(t.peak, len(t.all))
}

// place stores e in the first free or tombstone slot of its probe
// sequence and reports whether it took a free one.
func place(x *index, e *entry) bool {
	for i := maphash.String(x.seed, string(e.id)) & x.mask; ; i = (i + 1) & x.mask {
		switch x.slots[i].Load() {
		case nil:
			x.slots[i].Store(e)
			return true
		case tombstone:
			x.slots[i].Store(e)
			return false
		}
	}
}

// remove deletes e from the index and from the list of all entries,
// moving the last entry into its place.
func (t *table) remove(e *entry) {
	x := t.index.Load()
	for i := maphash.String(x.seed, string(e.id)) & x.mask; ; i = (i + 1) & x.mask {
		cur := x.slots[i].Load()
		if cur == nil {
			break
		}
		if cur == e {
			x.slots[i].Store(tombstone)
			break
		}
	}
	last := t.all[len(t.all)-1]
	t.all[e.slot] = last
	last.slot = e.slot
	t.all[len(t.all)-1] = nil
	t.all = t.all[:len(t.all)-1]
}

// settle gives back the memory of an index much larger than the peers it
// held since the last settle; the decay step calls it. Shrinking at each
// removal instead would rebuild the index at every wave of churn.
func (t *table) settle() {
	if x := t.index.Load(); len(x.slots) > minIndexSize && t.peak*16 < len(x.slots) {
		t.rebuild(len(t.all))
	}
	t.peak = len(t.all)
}

// rebuild publishes a fresh index without tombstones, sized for live
// entries at a quarter load, so that as many insertions again (or
// tombstones) pass before the next rebuild: O(1) amortised.
func (t *table) rebuild(live int) *index {
	size := minIndexSize
	for size < live*4 {
		size *= 2
	}
	x := newIndex(size)
	for _, e := range t.all {
		place(x, e)
	}
	t.used = len(t.all)
	t.index.Store(x)
	if cap(t.all) > 4*len(t.all) && cap(t.all) > minIndexSize { // after a flood
		t.all = append(make([]*entry, 0, 2*len(t.all)), t.all...)
	}
	return x
}
