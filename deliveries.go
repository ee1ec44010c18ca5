package peerscore

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// deliveryStatus is what validation decided about a message.
type deliveryStatus uint8

const (
	statusPending   deliveryStatus = iota // still being validated
	statusValid                           // delivered
	statusInvalid                         // rejected by validation
	statusIgnored                         // the validator asked to ignore it
	statusThrottled                       // validation was throttled: unknown
)

// deliveryRecord follows one message from its first copy until SeenMsgTTL
// after that: its status, when it was validated, and who else sent it.
// Peers are kept as pointers to their state, eight bytes each and no map
// lookup when they are credited; the first seven fit in the record itself,
// a whole mesh of the default D=8 without another allocation, and the rare
// rest behind one pointer, which keeps the record in the 112-byte size
// class. What a record costs with its ID, map entry and ring slot, and
// once a sender spills, is measured by BenchmarkDeliveryRecordMemory
// (docs/memory.md).
type deliveryRecord struct {
	id        string
	expire    time.Duration
	validated time.Duration
	status    deliveryStatus
	n         uint8
	inline    [7]*peerState
	more      *[]*peerState
}

// has reports whether id already sent this message.
func (r *deliveryRecord) has(id peer.ID) bool {
	for _, ps := range r.inline[:r.n] {
		if ps.ID == id {
			return true
		}
	}
	if r.more != nil {
		for _, ps := range *r.more {
			if ps.ID == id {
				return true
			}
		}
	}
	return false
}

func (r *deliveryRecord) add(ps *peerState) {
	if int(r.n) < len(r.inline) {
		r.inline[r.n] = ps
		r.n++
		return
	}
	if r.more == nil {
		more := make([]*peerState, 0, len(r.inline))
		r.more = &more
	}
	*r.more = append(*r.more, ps)
}

// senders calls fn for every recorded sender, in arrival order.
func (r *deliveryRecord) senders(fn func(*peerState)) {
	for _, ps := range r.inline[:r.n] {
		fn(ps)
	}
	if r.more != nil {
		for _, ps := range *r.more {
			fn(ps)
		}
	}
}

// forgetSenders releases the senders once validation has decided: after an
// invalid verdict every copy is charged anyway, and after an ignored or
// throttled one no copy counts.
func (r *deliveryRecord) forgetSenders() {
	r.inline = [7]*peerState{}
	r.n = 0
	r.more = nil
}

// deliveryLog holds the delivery records, bounded in age by SeenMsgTTL and in
// number by a cap. Records are created in time order and all live equally
// long, so a FIFO ring is the expiry queue: the oldest record is always at
// its head.
type deliveryLog struct {
	ttl     time.Duration
	max     int
	records map[string]*deliveryRecord
	ring    []*deliveryRecord
	head    int
	count   int
	peak    int // most records held since the map was last rebuilt
}

func newDeliveryLog(ttl time.Duration, max int) *deliveryLog {
	return &deliveryLog{
		ttl:     ttl,
		max:     max,
		records: make(map[string]*deliveryRecord),
		ring:    make([]*deliveryRecord, 64),
	}
}

// get returns the record for id, creating it at now if there is none.
func (d *deliveryLog) get(id string, now time.Duration) *deliveryRecord {
	if r, ok := d.records[id]; ok {
		return r
	}
	if d.count >= d.max {
		d.dropOldest()
	}
	r := &deliveryRecord{id: id, expire: addSat(now, d.ttl)}
	d.records[id] = r
	d.push(r)
	d.peak = max(d.peak, d.count)
	return r
}

func (d *deliveryLog) push(r *deliveryRecord) {
	if d.count == len(d.ring) {
		grown := make([]*deliveryRecord, 2*len(d.ring))
		n := copy(grown, d.ring[d.head:])
		copy(grown[n:], d.ring[:d.head])
		d.ring, d.head = grown, 0
	}
	d.ring[(d.head+d.count)%len(d.ring)] = r
	d.count++
}

func (d *deliveryLog) dropOldest() {
	r := d.ring[d.head]
	d.ring[d.head] = nil
	d.head = (d.head + 1) % len(d.ring)
	d.count--
	delete(d.records, r.id)
}

// expire drops every record whose time is up at now, and shrinks the ring
// after a flood has passed so that its memory is returned.
func (d *deliveryLog) expire(now time.Duration) {
	for d.count > 0 && now > d.ring[d.head].expire {
		d.dropOldest()
	}
	if size := d.shrunkRing(); size < len(d.ring) {
		shrunk := make([]*deliveryRecord, size)
		for i := 0; i < d.count; i++ {
			shrunk[i] = d.ring[(d.head+i)%len(d.ring)]
		}
		d.ring, d.head = shrunk, 0
	}
	if d.peak > 4096 && d.count*8 < d.peak {
		// A Go map never gives back the buckets of its largest size;
		// rebuild it so that a past flood does not pin memory.
		records := make(map[string]*deliveryRecord, d.count)
		for i := 0; i < d.count; i++ {
			r := d.ring[(d.head+i)%len(d.ring)]
			records[r.id] = r
		}
		d.records, d.peak = records, d.count
	}
}

// shrunkRing is the ring's size once a flood has passed: halved while a
// quarter of it or less is in use, down to 64 slots, in one step however
// long the loop waited between expiries.
func (d *deliveryLog) shrunkRing() int {
	size := len(d.ring)
	for size > 64 && d.count*4 < size {
		size /= 2
	}
	return size
}

func (d *deliveryLog) len() int { return d.count }
