package attacklab

import (
	"io"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// A pipe is one simulated stream between two lab hosts: two flows of
// bytes, one each way, with the sender's latency built in. A write lands in
// the other end's flow stamped with its arrival time, and a read takes only
// what has arrived. Nothing moves the bytes, so a pipe keeps no goroutine:
// a reader waiting for bytes still in flight sleeps on a timer set for the
// first of them. At full scale a run holds over a million stream ends, most
// of which never write; each costs only its struct.
//
// mocknet's streams, which the lab used before, keep a goroutine per end
// and a synchronous pipe; at 400,000 Sybil links those were most of the
// memory of a run.
type pipe struct {
	mu    sync.Mutex
	cond  sync.Cond // signalled whenever a flow changes
	flows [2]flow   // flows[i] carries what end i writes
	reset bool
}

// A flow is what one end has written and the other has not read yet.
type flow struct {
	delay   time.Duration // the sender's egress latency
	queue   []delayed     // in arrival order; queue[0] is read up to off
	off     int
	eof     bool // the writer closed its side
	refused bool // the reader closed its side: further writes fail
	last    time.Time
	rng     *mrand.Rand
	wake    *time.Timer // wakes the reader when queue[0] arrives
	wakeAt  time.Time
}

type delayed struct {
	data []byte
	at   time.Time
}

// delayQueue bounds the writes in flight or unread on one flow; a writer
// beyond it waits, as it would on a full flow-control window (yamux's
// 256 KiB holds 128 of the evaluation's 2 KiB messages).
const delayQueue = 128

// newPipe returns the two ends of a stream whose end 0 sends with delay0
// and end 1 with delay1.
func newPipe(delay0, delay1 time.Duration) (*pipeEnd, *pipeEnd) {
	p := &pipe{}
	p.cond.L = &p.mu
	p.flows[0].delay = delay0
	p.flows[1].delay = delay1
	opened := time.Now()
	return &pipeEnd{p: p, side: 0, dir: network.DirOutbound, opened: opened, id: streamIDs.Add(1)},
		&pipeEnd{p: p, side: 1, dir: network.DirInbound, opened: opened, id: streamIDs.Add(1)}
}

var streamIDs atomic.Uint64

// arrival is when a write made now lands: the link's delay plus netem's
// jitter drawn per write, as the evaluation's netem drew it per packet,
// but never before the previous write (a stream does not reorder).
// Per-write jitter matters: without it, which neighbour delivers a
// source's messages first never changes, and in a small network honest
// mesh peers that are never first fall below the P3 threshold.
func (f *flow) arrival() time.Time {
	if f.rng == nil {
		f.rng = mrand.New(mrand.NewPCG(mrand.Uint64(), 0x71)) // #nosec: netem's dice
	}
	at := time.Now().Add(f.delay + time.Duration(f.rng.Int64N(int64(jitterMax))))
	if at.Before(f.last) {
		at = f.last
	}
	f.last = at
	return at
}

// drop forgets what the flow holds and stops its timer.
func (f *flow) drop() {
	f.queue, f.off = nil, 0
	if f.wake != nil {
		f.wake.Stop()
	}
}

func (p *pipe) write(side int, b []byte) (int, error) {
	data := make([]byte, len(b))
	copy(data, b)
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.flows[side]
	for len(f.queue) >= delayQueue && !p.reset && !f.eof && !f.refused {
		p.cond.Wait()
	}
	if p.reset || f.eof || f.refused {
		return 0, network.ErrReset
	}
	f.queue = append(f.queue, delayed{data: data, at: f.arrival()})
	if len(f.queue) == 1 {
		p.cond.Broadcast()
	}
	return len(b), nil
}

func (p *pipe) read(side int, b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.flows[1-side]
	for {
		switch {
		case p.reset:
			return 0, network.ErrReset
		case f.refused:
			return 0, network.ErrReset // this end closed its read side
		case len(f.queue) > 0:
			if wait := time.Until(f.queue[0].at); wait > 0 {
				p.wakeAt(f, wait)
				break
			}
			return p.take(f, b), nil
		case f.eof:
			return 0, io.EOF
		}
		p.cond.Wait()
	}
}

// take copies what has arrived at the head of f into b. Call with mu held
// and the head due.
func (p *pipe) take(f *flow, b []byte) int {
	head := f.queue[0].data
	n := copy(b, head[f.off:])
	f.off += n
	if f.off == len(head) {
		f.queue[0] = delayed{}
		f.queue, f.off = f.queue[1:], 0
		if len(f.queue) == 0 {
			f.queue = nil // let the backing array go
		}
		p.cond.Broadcast() // room for a waiting writer
	}
	return n
}

// wakeAt makes sure the reader of f wakes when its head arrives. Call with
// mu held.
func (p *pipe) wakeAt(f *flow, wait time.Duration) {
	at := f.queue[0].at
	if f.wake != nil && f.wakeAt.Equal(at) {
		return
	}
	f.wakeAt = at
	if f.wake == nil {
		f.wake = time.AfterFunc(wait, p.signal)
		return
	}
	f.wake.Reset(wait)
}

func (p *pipe) signal() {
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeWrite ends side's flow: the reader gets what was written, then EOF.
func (p *pipe) closeWrite(side int) {
	p.mu.Lock()
	p.flows[side].eof = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeRead refuses what the other side sends from now on and drops what
// it sent and this side did not read.
func (p *pipe) closeRead(side int) {
	p.mu.Lock()
	f := &p.flows[1-side]
	f.refused = true
	f.drop()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// breakOff resets the stream for both ends.
func (p *pipe) breakOff() {
	p.mu.Lock()
	p.reset = true
	p.flows[0].drop()
	p.flows[1].drop()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pipeEnd is one end of a pipe: a network.Stream on a lab host's
// connection to the other end's host.
type pipeEnd struct {
	p      *pipe
	side   int
	conn   network.Conn
	proto  atomic.Value // protocol.ID
	dir    network.Direction
	opened time.Time
	id     uint64
}

var _ network.Stream = (*pipeEnd)(nil)

func (e *pipeEnd) Read(b []byte) (int, error)  { return e.p.read(e.side, b) }
func (e *pipeEnd) Write(b []byte) (int, error) { return e.p.write(e.side, b) }

func (e *pipeEnd) CloseWrite() error {
	e.p.closeWrite(e.side)
	return nil
}

func (e *pipeEnd) CloseRead() error {
	e.p.closeRead(e.side)
	return nil
}

func (e *pipeEnd) Close() error {
	e.p.closeWrite(e.side)
	e.p.closeRead(e.side)
	return nil
}

func (e *pipeEnd) Reset() error {
	e.p.breakOff()
	return nil
}

func (e *pipeEnd) ResetWithError(network.StreamErrorCode) error { return e.Reset() }

// Deadlines are accepted and ignored: the lab's writes wait only on a full
// flow, and pubsub's readers wait for as long as the stream lives.
func (e *pipeEnd) SetDeadline(time.Time) error      { return nil }
func (e *pipeEnd) SetReadDeadline(time.Time) error  { return nil }
func (e *pipeEnd) SetWriteDeadline(time.Time) error { return nil }

func (e *pipeEnd) ID() string { return "lab-" + strconv.FormatUint(e.id, 10) }

func (e *pipeEnd) Protocol() protocol.ID {
	id, _ := e.proto.Load().(protocol.ID)
	return id
}

func (e *pipeEnd) SetProtocol(id protocol.ID) error {
	e.proto.Store(id)
	return nil
}

func (e *pipeEnd) Stat() network.Stats {
	return network.Stats{Direction: e.dir, Opened: e.opened}
}

func (e *pipeEnd) Conn() network.Conn { return e.conn }

func (e *pipeEnd) Scope() network.StreamScope { return &network.NullScope{} }
