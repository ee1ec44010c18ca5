package peerscore

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// The clock seam. A Scorer reads the time with package time, and Start's
// loop keeps the router's schedule on tickers. A replay of recorded
// traffic (package replay) must instead run a Scorer on the recording's
// own clock, as fast as it can read the events, with the maintenance that
// Start's loop would have done falling at the same instants between the
// same events: that is what a ManualClock gives it. With no clock, the
// Scorer pays one nil check per reading of the time. The clock also
// carries the Scorer's dice (which of an IWANT's IDs a promise is kept
// for), seeded by its start, so that a replay comes out the same every
// time.

// ManualClock is time that moves only when told to, for running a Scorer
// on another clock than the machine's: a recording's, event by event.
// Give it to New with WithClock; Advance then moves the Scorer's time and
// runs, on the calling goroutine and in time order, the maintenance that
// Start's loop would run on the way: the decay every DecayInterval from
// New; the router heartbeat's charging of broken promises, first
// HeartbeatInitialDelay after New and every HeartbeatInterval after; and
// once a minute the re-reading of addresses, the clean-up of delivery
// records and of the repeated-extensions record. Steps due at one instant
// run in that order. Inspections, threshold events and the router check
// are not run: the caller reads the scores itself.
//
// A ManualClock drives one Scorer. It is safe for concurrent use, but a
// replay calls it from one goroutine, between events.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
	s   *Scorer
	rng *rand.Rand // the Scorer's dice, seeded by the start: a replay picks alike every time
	// The next instant of each step of the Scorer's schedule.
	nextDecay, nextBeat, nextMinute time.Time
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	seed := uint64(start.UnixNano())
	return &ManualClock{now: start, rng: rand.New(rand.NewPCG(seed, seed^0x5eed))} // #nosec G404: a replay's dice, not a secret
}

// intN is a random number in [0, n), from the clock's seeded source.
func (c *ManualClock) intN(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.IntN(n)
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WithClock makes the Scorer read its time from c instead of package
// time, and leaves its maintenance to c.Advance: Start then does nothing.
// c must not already drive a Scorer.
func WithClock(c *ManualClock) Option {
	return func(cfg *config) error {
		if c == nil {
			return errors.New("WithClock: nil clock")
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.s != nil {
			return errors.New("WithClock: the clock already drives a Scorer")
		}
		cfg.clock = c
		return nil
	}
}

// attach makes c drive s, from c's present time.
func (c *ManualClock) attach(s *Scorer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s = s
	c.nextDecay = c.now.Add(s.rules.decayInterval)
	c.nextMinute = c.now.Add(s.loop.ipRefresh)
	if !s.router.off {
		c.nextBeat = c.now.Add(s.router.timings.firstBeat)
	}
}

// Advance moves the clock to t, running the Scorer's maintenance that
// falls due on the way (see ManualClock). A t before the clock's time
// changes nothing: time does not go back.
func (c *ManualClock) Advance(t time.Time) {
	for step := c.nextStep(t); step != nil; step = c.nextStep(t) {
		step() // outside c.mu: the step reads the clock
	}
}

// nextStep moves the clock to the first maintenance step due by t and
// returns it, or moves the clock to t and returns nil when none is.
func (c *ManualClock) nextStep(t time.Time) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.s
	if s == nil {
		c.now = later(c.now, t)
		return nil
	}
	// Ties go to the decay, then the minute's work, then the heartbeat.
	at, which := c.nextDecay, 0
	if c.nextMinute.Before(at) {
		at, which = c.nextMinute, 1
	}
	if !s.router.off && c.nextBeat.Before(at) {
		at, which = c.nextBeat, 2
	}
	if at.After(t) {
		c.now = later(c.now, t)
		return nil
	}
	c.now = at
	switch which {
	case 0:
		c.nextDecay = at.Add(s.rules.decayInterval)
		return s.decayStep
	case 1:
		c.nextMinute = at.Add(s.loop.ipRefresh)
		return s.minuteStep
	}
	c.nextBeat = at.Add(s.router.timings.heartbeat)
	return s.router.heartbeat
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
