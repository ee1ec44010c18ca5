package peerscore

import (
	"context"
	"time"

	"github.com/peerscore/peerscore/internal/lifecycle"
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
	work := []func(*lifecycle.Run){s.maintain}
	for _, in := range s.loop.inspects {
		work = append(work, func(r *lifecycle.Run) { s.inspectEvery(r, in) })
	}
	if s.watch != nil {
		work = append(work, s.watchThresholds)
	}
	s.loop.Start(ctx, work...)
}

// Close stops the background loop: the decay, the router heartbeat's
// upkeep, the minute's work and the router check.
//
// Close stops the background work and waits until it has stopped, but it
// does not wait for a callback of yours that is running, so a callback may
// call Close, of this component or of another. Once Close has returned,
// the background work does not run again and no callback is called again;
// a callback still running may finish, and its return leads to nothing
// more. Close is safe for concurrent use and may be called any number of
// times; Start after Close does nothing. "Start, Close and callbacks" in
// the documentation of [github.com/peerscore/peerscore] says why.
//
// The callbacks are those of WithInspect and WithThresholdEvents, and
// Params.AppSpecificScore where the inspections and the threshold watcher
// call it. The Scorer still answers Score and Snapshot and still takes
// events after Close; only the periodic work ends. Close returns nil.
func (s *Scorer) Close() error {
	s.loop.Close()
	return nil
}

// maintain is the Scorer's own periodic work, which Close waits for: it
// calls no user code.
func (s *Scorer) maintain(r *lifecycle.Run) {
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
		case <-r.Done():
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
// slow callback cannot hold up Refresh. The snapshots are built inside the
// Call too: they call Params.AppSpecificScore.
func (s *Scorer) inspectEvery(r *lifecycle.Run, in inspection) {
	tick := time.NewTicker(in.period)
	defer tick.Stop()
	for {
		select {
		case <-r.Done():
			return
		case <-tick.C:
		}
		if !r.Call(func() { in.fn(s) }) {
			return
		}
	}
}
