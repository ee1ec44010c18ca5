// Package lifecycle runs a component's background goroutines between Start
// and Close, for the Scorer and the ban Monitor alike.
package lifecycle

import (
	"bytes"
	"context"
	"runtime"
	"sync"
)

// Lifecycle runs background goroutines between Start and Close, as the
// Scorer and the Monitor both do: the first start launches them, later
// starts and starts after a stop do nothing, and stop cancels them and waits.
// It has its own lock, so Start and Close never wait for the scoring lock.
//
// The goroutines run the user's callbacks, and a callback may call Close.
// stop cannot wait for the goroutine it runs on, so it must know whether it
// runs on one of them; Go has no API for a goroutine's identity, so each
// worker records its runtime ID (goroutineID) when it starts and stop
// compares its own with theirs. That costs one runtime.Stack call per
// worker start and per stop, never anything on a hot path. The
// alternatives fail: a flag "a callback is running" cannot tell a Close
// from the callback from a concurrent Close from elsewhere, and running
// callbacks on goroutines stop does not wait for would let a callback run
// on after Close.
type Lifecycle struct {
	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	workers []*worker
}

// worker is one goroutine of a lifecycle. Waits on it are channel
// receives: they block durably under testing/synctest, and no wake-up
// crosses from one synctest bubble to another, as one through a shared
// sync.Cond would (a fatal error).
type worker struct {
	done chan struct{} // closed when the goroutine has returned

	// Guarded by running.mu:
	stopping chan struct{} // closed while the goroutine is inside a stop, then replaced
	depth    int           // how many stops the goroutine is inside
}

// running indexes the running workers of every lifecycle by goroutine ID,
// so that stop finds out whether its caller is one, whichever lifecycle the
// caller belongs to. The lock is taken only when workers start or exit and
// in stop, never while waiting.
var running = struct {
	mu   sync.Mutex
	byID map[uint64]*worker
}{byID: map[uint64]*worker{}}

// Start runs each of fns on a goroutine of its own, with a context that
// ends with ctx or at stop.
func (l *Lifecycle) Start(ctx context.Context, fns ...func(context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.stopped {
		return
	}
	l.started = true
	ctx, l.cancel = context.WithCancel(ctx)
	for _, fn := range fns {
		w := &worker{done: make(chan struct{}), stopping: make(chan struct{})}
		l.workers = append(l.workers, w)
		go w.run(ctx, fn)
	}
}

func (w *worker) run(ctx context.Context, fn func(context.Context)) {
	defer close(w.done)
	if id := goroutineID(); id != 0 { // unreadable: stop will not know us
		running.mu.Lock()
		running.byID[id] = w
		running.mu.Unlock()
		defer func() {
			running.mu.Lock()
			delete(running.byID, id)
			running.mu.Unlock()
		}()
	}
	fn(ctx)
}

// Stop ends the goroutines and waits until they have returned. Every call
// waits, not only the first, so that no Close returns while a callback
// runs.
//
// Called from one of the goroutines (a callback calling Close), it cannot
// wait for that one: it cancels, waits for the others and returns, and the
// goroutine ends when the callback returns to its loop, which checks the
// context before it calls anything else. Nor does it wait for a goroutine
// that is itself inside a stop (two callbacks calling Close at once, or a
// Scorer's callback closing a Monitor whose callback closes the Scorer):
// each would wait for the other forever. A stop from any other goroutine
// waits for every goroutine to return.
func (l *Lifecycle) Stop() {
	self := enterStop()
	defer leaveStop(self)

	l.mu.Lock()
	l.stopped = true
	cancel, ws := l.cancel, l.workers
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, w := range ws {
		switch {
		case w == self:
		case self == nil:
			<-w.done
		default:
			running.mu.Lock()
			stopping := w.stopping
			running.mu.Unlock()
			select {
			case <-w.done:
			case <-stopping:
			}
		}
	}
}

// enterStop returns the worker the calling goroutine is, nil if it is
// none, and marks it as inside a stop.
func enterStop() *worker {
	id := goroutineID()
	running.mu.Lock()
	defer running.mu.Unlock()
	self := running.byID[id]
	if self != nil {
		if self.depth == 0 {
			close(self.stopping)
		}
		self.depth++
	}
	return self
}

func leaveStop(self *worker) {
	if self == nil {
		return
	}
	running.mu.Lock()
	defer running.mu.Unlock()
	if self.depth--; self.depth == 0 {
		self.stopping = make(chan struct{})
	}
}

// goroutineID returns the runtime's ID of the calling goroutine, read from
// the header of its stack trace ("goroutine 42 [running]:"), or 0 if the
// header is not in that form.
func goroutineID() uint64 {
	var buf [64]byte
	header, ok := bytes.CutPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if !ok {
		return 0
	}
	var id uint64
	for _, c := range header {
		if c < '0' || c > '9' {
			return id
		}
		id = id*10 + uint64(c-'0')
	}
	return 0 // no end to the number: truncated, not a header we know
}
