// Package peerindex is the table of peers that the scorer and the
// reputation keep: readers find a peer's element without taking a lock and
// without allocating, which is what lets Score run in parallel on the
// router's hot path; writers hold their owner's lock.
//
// The index is an open-addressing hash table of atomic pointers. Writers
// only fill empty slots, turn removed entries into tombstones, or publish a
// whole new index, so a reader sees the old or the new state of a slot,
// never a torn one. A peer.ID is a string and is hashed as one, never boxed
// into an interface as a sync.Map key would be.
//
// Every operation is O(1) amortised: the index is rebuilt, at a quarter
// load, only once as many insertions or tombstones as it holds live entries
// have passed, and shrinks only in Settle, which the owner calls from its
// periodic maintenance rather than at each removal, so that a wave of
// throw-away identities costs no rebuild per identity.
package peerindex

import (
	"hash/maphash"
	"iter"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Entry is what the table keeps of each element. An element type embeds it
// (so that the index reaches the peer's ID and the element without a call)
// and hands it to Add with the element.
type Entry[E any] struct {
	ID   peer.ID
	elem *E
	slot int // position in Table.all
}

// Table holds the elements of type E, one per peer ID.
type Table[E any] struct {
	index   atomic.Pointer[index[E]]
	tomb    *Entry[E] // marks a removed slot: readers probe past it, writers reuse it
	min     int       // the index's smallest size, a power of two
	used    int       // live entries plus tombstones in the current index
	peak    int       // the most live entries since the last Settle
	all     []*E
	entries []*Entry[E] // entries[i] is all[i]'s
}

type index[E any] struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[Entry[E]]
}

// New returns an empty table whose index never shrinks below minSize
// slots (rounded up to a power of two, at least 8).
func New[E any](minSize int) *Table[E] {
	size := 8
	for size < minSize {
		size *= 2
	}
	t := &Table[E]{tomb: new(Entry[E]), min: size}
	t.index.Store(newIndex[E](size))
	return t
}

func newIndex[E any](size int) *index[E] {
	return &index[E]{seed: maphash.MakeSeed(), mask: uint64(size - 1), slots: make([]atomic.Pointer[Entry[E]], size)}
}

// Get returns id's element, or nil. It is safe without the owner's lock.
func (t *Table[E]) Get(id peer.ID) *E {
	x := t.index.Load()
	for i := maphash.String(x.seed, string(id)) & x.mask; ; i = (i + 1) & x.mask {
		en := x.slots[i].Load()
		if en == nil {
			return nil
		}
		if en != t.tomb && en.ID == id {
			return en.elem
		}
	}
}

// Scan yields the elements in the index as it is when Scan starts. It is
// safe without the owner's lock: an element added or removed meanwhile
// may or may not be seen.
func (t *Table[E]) Scan() iter.Seq[*E] {
	x := t.index.Load()
	return func(yield func(*E) bool) {
		for i := range x.slots {
			if en := x.slots[i].Load(); en != nil && en != t.tomb && !yield(en.elem) {
				return
			}
		}
	}
}

// All returns the elements, in no particular order. The slice is the
// table's own: valid until the next Add, Remove or Settle, not to be
// modified.
func (t *Table[E]) All() []*E { return t.all }

// Slots is the size of the current index: what it costs in memory, about
// 8 bytes a slot.
func (t *Table[E]) Slots() int { return len(t.index.Load().slots) }

// Len is the number of elements.
func (t *Table[E]) Len() int { return len(t.all) }

// Add inserts e, whose entry is en (embedded in e) and whose en.ID must not
// be present.
func (t *Table[E]) Add(e *E, en *Entry[E]) {
	x := t.index.Load()
	if (t.used+1)*2 > len(x.slots) { // at most half full: probes stay short
		x = t.rebuild(len(t.all) + 1)
	}
	en.elem = e
	if t.place(x, en) {
		t.used++
	}
	en.slot = len(t.all)
	t.all = append(t.all, e)
	t.entries = append(t.entries, en)
	t.peak = max(t.peak, len(t.all))
}

// place stores en in the first free or tombstone slot of its probe
// sequence and reports whether it took a free one.
func (t *Table[E]) place(x *index[E], en *Entry[E]) bool {
	for i := maphash.String(x.seed, string(en.ID)) & x.mask; ; i = (i + 1) & x.mask {
		switch x.slots[i].Load() {
		case nil:
			x.slots[i].Store(en)
			return true
		case t.tomb:
			x.slots[i].Store(en)
			return false
		}
	}
}

// Remove deletes the element whose entry is en, moving the last element
// into its place in All.
func (t *Table[E]) Remove(en *Entry[E]) {
	x := t.index.Load()
	for i := maphash.String(x.seed, string(en.ID)) & x.mask; ; i = (i + 1) & x.mask {
		cur := x.slots[i].Load()
		if cur == nil {
			break
		}
		if cur == en {
			x.slots[i].Store(t.tomb)
			break
		}
	}
	n := len(t.all) - 1
	last := t.entries[n]
	t.all[en.slot], t.entries[en.slot] = t.all[n], last
	last.slot = en.slot
	t.all[n], t.entries[n] = nil, nil
	t.all, t.entries = t.all[:n], t.entries[:n]
}

// Settle gives back the memory of an index, and of a list, much larger
// than the elements held since the last Settle. The owner calls it from
// its periodic maintenance: shrinking at each removal instead would
// rebuild the index at every wave of churn, each time a swarm of
// throw-away identities is forgotten and the next one arrives.
func (t *Table[E]) Settle() {
	if x := t.index.Load(); len(x.slots) > t.min && t.peak*16 < len(x.slots) {
		t.rebuild(len(t.all))
	}
	t.peak = len(t.all)
}

// rebuild publishes a fresh index without tombstones, sized for live
// entries at a quarter load, so that as many insertions again (or
// tombstones) pass before the next rebuild.
func (t *Table[E]) rebuild(live int) *index[E] {
	size := t.min
	for size < live*4 {
		size *= 2
	}
	x := newIndex[E](size)
	for _, en := range t.entries {
		t.place(x, en)
	}
	t.used = len(t.entries)
	t.index.Store(x)
	if cap(t.all) > 4*len(t.all) && cap(t.all) > t.min { // after a flood
		t.all = append(make([]*E, 0, 2*len(t.all)), t.all...)
		t.entries = append(make([]*Entry[E], 0, 2*len(t.entries)), t.entries...)
	}
	return x
}
