package ban

import (
	"math"
	"time"
)

// banLimiter is the Monitor's circuit breaker: it allows at most a share
// of the connected peers to be banned within any window of time. It is
// used from the Monitor's goroutine only.
//
// The share is of the peers the node had before this window's bans: the
// peers connected when the round of checks began, plus those the Monitor
// banned (and so disconnected) within the window before it. Counting only
// the peers still connected would shrink the budget with every ban.
type banLimiter struct {
	share  float64
	window time.Duration

	recent []time.Time // the Monitor's bans within the window, oldest first
	base   int         // the peers the share is of, set at each round

	tripped bool   // the limit has held back a ban since the last one made
	held    uint64 // bans held back since it tripped
}

// startRound sets the base for a round that begins with connected peers.
func (l *banLimiter) startRound(connected int, now time.Time) {
	l.expire(now)
	l.base = connected + len(l.recent)
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
func (l *banLimiter) expire(now time.Time) {
	start := now.Add(-l.window)
	i := 0
	for i < len(l.recent) && !l.recent[i].After(start) {
		i++
	}
	if i > 0 {
		l.recent = append(l.recent[:0], l.recent[i:]...)
	}
}
