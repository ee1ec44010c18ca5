package peerscore

import (
	"context"
	"github.com/peerscore/peerscore/internal/lifecycle"
	"time"
)

// loopState is the background work: its lifecycle and what it runs
// besides Refresh.
type loopState struct {
	lifecycle.Lifecycle

	inspects  []inspection
	ipRefresh time.Duration
}

// Start runs the background loop until ctx is done or Close is called. It
// keeps the router's own schedule, as pubsub's scorer does, so that scores
// move when pubsub's would: the counters decay every DecayInterval; IWANT
// promises past due are charged at every router heartbeat (the first
// HeartbeatInitialDelay after Start: start the Scorer when the router
// starts); once a minute, peers' IP addresses are re-read from the host,
// delivery records older than SeenMsgTTL are dropped and the
// repeated-extensions record forgets the peers no longer connected. It also
// runs the WithInspect and WithThresholdEvents callbacks if they were
// given, and the router check (WithRouterCheck). It returns at once.
// Calling it again, or after Close, does nothing; with WithClock, so does
// the first call: the clock runs the maintenance.
func (s *Scorer) Start(ctx context.Context) {
	if s.clock != nil {
		return // WithClock: the clock's Advance runs the maintenance
	}
	work := []func(context.Context){s.maintain}
	for _, in := range s.loop.inspects {
		work = append(work, func(ctx context.Context) { s.inspectEvery(ctx, in) })
	}
	if s.watch != nil {
		work = append(work, s.watchThresholds)
	}
	s.loop.Start(ctx, work...)
}

// Close stops the background loop and waits until it has stopped,
// including a WithInspect or WithThresholdEvents callback running at the
// time: once Close returns, no callback is running and none will start.
// The Scorer still answers Score and Snapshot and still takes events
// afterwards; only the periodic work ends.
//
// A callback may call Close (of this Scorer, or of a Monitor). It cannot
// wait for itself: it stops everything, waits for the rest of the loop
// (but for another callback that is inside a Close too, which would be
// waiting for it) and returns, and the loop the callback returns to ends
// at once. Close from a goroutine that a running callback waits for would
// never return.
//
// Close is safe for concurrent use and may be called any number of
// times; each call waits as described and returns nil.
func (s *Scorer) Close() error {
	s.loop.Stop()
	return nil
}

func (s *Scorer) maintain(ctx context.Context) {
	decay := time.NewTicker(s.rules.decayInterval)
	defer decay.Stop()
	minute := time.NewTicker(s.loop.ipRefresh)
	defer minute.Stop()
	// The router's heartbeat: first after HeartbeatInitialDelay, then
	// every HeartbeatInterval from there.
	var firstBeat, heartbeat <-chan time.Time
	if !s.router.off {
		t := time.NewTimer(s.router.timings.firstBeat)
		defer t.Stop()
		firstBeat = t.C
	}
	var routerCheck <-chan time.Time
	if s.router.check.period > 0 {
		t := time.NewTicker(s.router.check.period)
		defer t.Stop()
		routerCheck = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-decay.C:
			s.decayStep()
		case <-firstBeat:
			t := time.NewTicker(s.router.timings.heartbeat)
			defer t.Stop()
			firstBeat, heartbeat = nil, t.C
			s.router.heartbeat()
		case <-heartbeat:
			s.router.heartbeat()
		case <-minute.C:
			s.minuteStep()
		case <-routerCheck:
			s.router.checkRouterAsked()
		}
	}
}

// minuteStep is the loop's once-a-minute work: peers' addresses re-read
// from the host, delivery records past SeenMsgTTL dropped, and the
// repeated-extensions record rid of peers no longer connected.
func (s *Scorer) minuteStep() {
	s.refreshIPs()
	s.expireRecords()
	s.router.sweepExtensions()
}

// inspectEvery runs an inspection callback on a goroutine of its own, so a
// slow callback cannot hold up Refresh.
func (s *Scorer) inspectEvery(ctx context.Context, in inspection) {
	tick := time.NewTicker(in.period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if ctx.Err() != nil {
				return // both were ready; a Close must not be followed by a callback
			}
			in.fn(s)
		}
	}
}
