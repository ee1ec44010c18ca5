// Package lifecycle runs a component's background work between Start and
// Close, and keeps the module's Close contract for it (see "Start, Close
// and callbacks" in the package documentation of peerscore): Close waits
// for the component's own work, never for the user's callbacks, and once
// it has returned no callback is called again.
//
// Why Close never waits for a callback: a callback may call Close, and a
// Close that waited for running callbacks would then wait for itself. To
// wait for the others but not for its caller, Close would have to know
// which goroutine calls it, and Go keeps goroutines anonymous on purpose.
// So the work marks by construction where it calls out: each goroutine of
// the work, and each call such as Tagger.Refresh that does the work on
// the caller's goroutine, is a Run, and the Run's Call brackets every
// call of user code. Close waits until no Run is inside its own work, and
// a Run inside Call is not: it is outside, in user code, where it may be
// calling Close itself. When that user code returns, Call lets the Run
// back into its work only if Close has not been called; otherwise the Run
// must return at once, so nothing the component does follows a Close that
// has returned.
package lifecycle

import (
	"context"
	"sync"
	"sync/atomic"
)

// Lifecycle is the background work of one component: the runs Start
// launches, the runs Do makes on callers' goroutines, and the Close that
// ends them. The zero value is ready to use. It has its own lock, so Start
// and Close never wait for the component's locks.
type Lifecycle struct {
	mu      sync.Mutex
	started bool
	closed  bool
	closing atomic.Bool // closed, for Stopped to read without the lock
	cancel  context.CancelFunc
	busy    int // runs inside the component's own work, not in user code
	// idle is made by the first Close and closed once busy is 0 after
	// it. Waits on it are channel receives: they block durably under
	// testing/synctest, where a wake-up through a sync.Cond shared with
	// another bubble would be a fatal error.
	idle chan struct{}
}

// Run is one run of the component's work: a goroutine Start launched, or a
// call Do makes on the caller's goroutine. The work receives it and passes
// it down to wherever it calls user code, through Call.
type Run struct {
	l   *Lifecycle
	ctx context.Context
	in  bool // counted in l.busy: in the work, not in user code; guarded by l.mu
}

// Start runs each of fns on a goroutine of its own, as a Run whose context
// ends with ctx or at Close. Only the first Start does anything, and only
// if Close has not been called.
func (l *Lifecycle) Start(ctx context.Context, fns ...func(*Run)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	ctx, l.cancel = context.WithCancel(ctx)
	for _, fn := range fns {
		r := &Run{l: l, ctx: ctx, in: true}
		l.busy++
		go func() {
			defer l.exit(r)
			fn(r)
		}()
	}
}

// Do runs fn on the calling goroutine as a Run, unless Close has been
// called: for work a component does on demand (Tagger.Refresh) under the
// same contract as its background work. The Run's context never ends; it
// stops at Close.
func (l *Lifecycle) Do(fn func(*Run)) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	r := &Run{l: l, ctx: context.Background(), in: true}
	l.busy++
	l.mu.Unlock()
	defer l.exit(r) // deferred: a callback's panic, recovered above Do, must not leave Close waiting
	fn(r)
}

// Close stops the runs and waits until none is inside the component's
// work: each has returned, or is in user code (Call) and will return
// without doing anything more. It is safe for concurrent use, and every
// call waits so. It must not be called from the work itself, only from
// user code, which is outside it.
func (l *Lifecycle) Close() {
	l.mu.Lock()
	l.closed = true
	l.closing.Store(true)
	if l.idle == nil {
		l.idle = make(chan struct{})
		if l.busy == 0 {
			close(l.idle)
		}
	}
	cancel, idle := l.cancel, l.idle
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-idle
}

// exit ends r, counting it out of the work if it was in.
func (l *Lifecycle) exit(r *Run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.in {
		r.in = false
		l.leaveLocked()
	}
}

// leaveLocked counts a run out of the work, releasing Close once none is
// left after it. Nothing counts a run in after Close, so busy reaches 0
// after Close once at most, and idle is closed once.
func (l *Lifecycle) leaveLocked() {
	l.busy--
	if l.closed && l.busy == 0 {
		close(l.idle)
	}
}

// Context is the run's context: for Start's runs it ends with Start's
// context or at Close; for Do's it never ends (use Stopped).
func (r *Run) Context() context.Context { return r.ctx }

// Done is closed when a run of Start should return; select on it while
// waiting. A run of Do has no such channel (nil, never ready).
func (r *Run) Done() <-chan struct{} { return r.ctx.Done() }

// Stopped reports whether the run should return: Close was called, or
// Start's context ended. Work that calls user code without Call (nested
// inside a Call) checks it first, for the same reason Call does.
func (r *Run) Stopped() bool { return r.l.closing.Load() || r.ctx.Err() != nil }

// Call runs fn, user code, unless the run is stopped, and reports whether
// the run may go on: false if fn did not run, or if the run was stopped
// while it ran. On false the caller returns at once, doing nothing more.
//
// While fn runs the run is out of the work, so Close does not wait for it
// and fn may call Close. Calls nest: a Call inside fn only checks that the
// run is not stopped, and runs its own fn.
func (r *Run) Call(fn func()) bool {
	l := r.l
	l.mu.Lock()
	if l.closed || r.ctx.Err() != nil {
		l.mu.Unlock()
		return false
	}
	outer := r.in
	if outer {
		r.in = false
		l.leaveLocked()
	}
	l.mu.Unlock()

	fn()

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || r.ctx.Err() != nil {
		return false // out it stays: Close may have returned already
	}
	if outer {
		r.in = true
		l.busy++
	}
	return true
}
