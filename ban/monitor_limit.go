package ban

import (
	"math"
	"time"
)

// banLimiter is the Monitor's circuit breaker: it allows at most a share
// of the established peers (those the Monitor has seen score above zero)
// to be banned within any window of time. It is used from the Monitor's
// goroutine only.
//
// The share is of the established peers the node had before this
// window's bans: those connected when the round of checks began, plus
// those the Monitor banned (and so disconnected) within the window before
// it. Counting only the peers still connected would shrink the budget
// with every ban.
type banLimiter struct {
	share  float64
	window time.Duration

	recent []time.Time // the Monitor's bans of established peers within the window, oldest first
	base   int         // the established peers the share is of, set at each round

	tripped bool   // the limit has held back a ban since the last one made
	held    uint64 // bans held back since it tripped
}

// startRound sets the base for a round that begins with established
// peers connected.
func (l *banLimiter) startRound(established int, now time.Time) {
	l.expire(now)
	l.base = established + len(l.recent)
}

// budget is how many bans the window allows: the share of the base,
// rounded down, but at least one, so that a node with few peers can still
// ban a bad one (one per window).
func (l *banLimiter) budget() int {
	// The epsilon keeps a share such as 0.29 of 100 at 29, not 28.99...
	return max(1, int(math.Floor(l.share*float64(l.base)+1e-9)))
}

// allow reports whether one more ban fits in the window ending now.
func (l *banLimiter) allow(now time.Time) bool {
	l.expire(now)
	return len(l.recent) < l.budget()
}

// record counts a ban made now.
func (l *banLimiter) record(now time.Time) { l.recent = append(l.recent, now) }

// expire forgets the bans that have left the window.
func (l *banLimiter) expire(now time.Time) { l.recent = expire(l.recent, now.Add(-l.window)) }

// expire drops the times up to start from times, oldest first.
func expire(times []time.Time, start time.Time) []time.Time {
	i := 0
	for i < len(times) && !times[i].After(start) {
		i++
	}
	if i > 0 {
		times = append(times[:0], times[i:]...)
	}
	return times
}

// freshBans watches the bans of peers the Monitor never saw score above
// zero, which the limit lets through: when more of them than the limit's
// share of all connected peers fall within one window, that is a flood of
// throw-away identities, and the Monitor says so once per window. Used
// from the Monitor's goroutine only.
type freshBans struct {
	recent   []time.Time // within the window, oldest first
	warnedAt time.Time   // the last warning; zero: none
}

// record counts a fresh ban made now and reports whether to warn: the
// window holds more than budget of them and no warning was given within
// it.
func (f *freshBans) record(now time.Time, window time.Duration, budget int) bool {
	f.recent = append(expire(f.recent, now.Add(-window)), now)
	if len(f.recent) <= budget || (!f.warnedAt.IsZero() && now.Sub(f.warnedAt) < window) {
		return false
	}
	f.warnedAt = now
	return true
}
