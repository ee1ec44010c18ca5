package peerscore

import (
	"context"
	"sync"
	"time"
)

// loopState is the background work's lifecycle, under its own lock so that
// Start and Close never wait for the scoring lock.
type loopState struct {
	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	inspect       func(*Scorer)
	inspectPeriod time.Duration
	ipRefresh     time.Duration
}

// Start runs the background loop until ctx is done or Close is called: a
// Refresh every DecayInterval, the router penalties' check of IWANT
// promises every router heartbeat, a re-read of peers' IP addresses from
// the host every minute, and the WithInspect and WithThresholdEvents
// callbacks if they were given. It
// returns at once. Calling it again, or after Close, does nothing.
func (s *Scorer) Start(ctx context.Context) {
	l := &s.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started || l.closed {
		return
	}
	l.started = true
	ctx, l.cancel = context.WithCancel(ctx)
	l.wg.Go(func() { s.maintain(ctx) })
	if l.inspect != nil {
		l.wg.Go(func() { s.inspectEvery(ctx) })
	}
	if s.events != nil {
		l.wg.Go(func() { s.watchThresholds(ctx) })
	}
}

// Close stops the background loop and waits until it has stopped. The
// Scorer still answers Score and Snapshot and still takes events afterwards;
// only the periodic work ends. Calling it again does nothing.
func (s *Scorer) Close() error {
	l := &s.loop
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	l.wg.Wait()
	return nil
}

func (s *Scorer) maintain(ctx context.Context) {
	refresh := time.NewTicker(s.rules.decayInterval)
	defer refresh.Stop()
	ips := time.NewTicker(s.loop.ipRefresh)
	defer ips.Stop()
	var heartbeat <-chan time.Time
	if !s.router.off {
		t := time.NewTicker(s.router.timings.heartbeat)
		defer t.Stop()
		heartbeat = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			s.Refresh()
		case <-heartbeat:
			s.routerHeartbeat()
		case <-ips.C:
			s.refreshIPs()
		}
	}
}

// inspectEvery runs the inspection callback on a goroutine of its own, so a
// slow callback cannot hold up Refresh.
func (s *Scorer) inspectEvery(ctx context.Context) {
	tick := time.NewTicker(s.loop.inspectPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.loop.inspect(s)
		}
	}
}
