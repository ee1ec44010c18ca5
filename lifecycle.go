package peerscore

import (
	"context"
	"sync"
)

// lifecycle runs background goroutines between Start and Close, as the
// Scorer and the Monitor both do: the first start launches them, later
// starts and starts after a stop do nothing, and stop cancels them and waits.
// It has its own lock, so Start and Close never wait for the scoring lock.
type lifecycle struct {
	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// start runs each of fns on a goroutine of its own, with a context that
// ends with ctx or at stop.
func (l *lifecycle) start(ctx context.Context, fns ...func(context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.stopped {
		return
	}
	l.started = true
	ctx, l.cancel = context.WithCancel(ctx)
	for _, fn := range fns {
		l.wg.Go(func() { fn(ctx) })
	}
}

// stop ends the goroutines and waits for them; a second stop does nothing.
func (l *lifecycle) stop() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	l.wg.Wait()
}
