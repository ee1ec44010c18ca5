package reputation

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/lifecycle"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/internal/peerindex"
)

// Reputation is the application's opinion of its peers, built from the
// reports it makes: each peer has a value between MinValue and the reward
// maximum (0 without rewards), lowered by penalties, raised by rewards and
// decaying towards zero with a half-life. Score reads it without a lock
// and without allocating, for the router's hot path; give it to the scorer
// as Params.AppSpecificScore.
//
// Create it with New, run its decay with Start and stop it with Close.
// All methods are safe for concurrent use.
type Reputation struct {
	cfg  config
	base time.Time // the clock's origin: times are durations since base
	life lifecycle.Lifecycle

	mu        sync.Mutex // guards the table's writes and every entry's unpublished fields
	peers     *peerindex.Table[entry]
	tracked   uint64   // entries ever tracked: the next entry's seq
	cands     []*entry // makeRoom's candidates, kept between calls
	victims   []*entry // makeRoom's choice, kept between calls
	refusing  bool     // the last new peer found the table full of frozen peers
	evicted   uint64   // peers forgotten to make room, before decaying to nothing
	untracked uint64   // reports about new peers refused for want of room
	reports   [Useful + 1]atomic.Uint64
}

// entry is one tracked peer.
type entry struct {
	peerindex.Entry[entry] // the peer's ID, and its place in Reputation.peers

	// published is the value as of the last report or decay step, as
	// float64 bits: what Score returns.
	published atomic.Uint64

	// Guarded by Reputation.mu:
	value   float64       // the value at `at`; it decays from max(at, frozen)
	at      time.Duration // when value was set
	frozen  time.Duration // no decay before it; 0: no freeze (a freeze ends after base)
	seq     uint64        // the order in which entries were tracked
	reasons []reasonRecord
}

// New returns a Reputation with the options' settings: by default
// Lighthouse's scale (penalties of 1, 5 and 10 points, Fatal to -100), a
// half-life of ten minutes, no rewards, no freeze, at most 4096 peers with
// 4 reasons each. Start runs its decay.
func New(opts ...Option) (*Reputation, error) {
	cfg := defaultConfig()
	if err := option.Apply("peerscore/reputation", &cfg, opts); err != nil {
		return nil, err
	}
	return &Reputation{cfg: cfg, base: time.Now(), peers: peerindex.New[entry](16)}, nil
}

// Start runs the decay in the background until ctx ends or Close: every
// decay interval it publishes each peer's decayed value for Score and
// forgets peers whose value decayed to nothing. It returns at once; later
// calls do nothing. Without it, values change only at reports (each report
// applies to the value decayed up to that moment) and Score returns the
// value as of the last report.
func (r *Reputation) Start(ctx context.Context) { r.life.Start(ctx, r.run) }

// Close stops the decay.
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
// The decay calls no code of yours, so Close waits for all of it. Reports,
// Score and the rest still work after Close; values then change only at
// reports, as without Start. Close returns nil.
func (r *Reputation) Close() error {
	r.life.Close()
	return nil
}

// run is the decay loop, every decay interval.
func (r *Reputation) run(run *lifecycle.Run) {
	tick := time.NewTicker(r.cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-run.Done():
			return
		case <-tick.C:
			r.decay()
		}
	}
}

// now is the time since base, on the monotonic clock.
func (r *Reputation) now() time.Duration { return time.Since(r.base) }

// Score returns p's value now, as of the last report or decay step; 0 for
// a peer never reported or forgotten. It takes no lock and allocates
// nothing: pass it as Params.AppSpecificScore, and the scorer's P5 is the
// value times Params.AppSpecificWeight.
func (r *Reputation) Score(p peer.ID) float64 {
	e := r.peers.Get(p)
	if e == nil {
		return 0
	}
	return math.Float64frombits(e.published.Load())
}

// Report records that p did a, for reason: a short text of the
// application's choosing, the same for the same kind of fault ("invalid
// block", "bad range response"), so that repeats are counted together. It
// applies at once: the value decays up to now, then a penalty lowers it
// (Fatal to MinValue), or a reward raises it (Useful, with WithReward),
// within the scale. Reasons longer than 64 bytes are cut; an empty one is
// "unspecified". A report costs O(1) amortised and never waits for Score.
//
// Reports about an empty peer ID, Useful reports without WithReward and
// Useful reports while p's value is frozen change nothing; an unknown
// action is logged at Warn and ignored.
func (r *Reputation) Report(p peer.ID, a Action, reason string) {
	switch {
	case !a.valid():
		r.cfg.logger.Warn("peerscore/reputation: report with an unknown action ignored", "peer", p, "action", a.String(), "reason", reason)
		return
	case p == "", a == Useful && r.cfg.reward == 0:
		return
	}
	reason = cleanReason(reason)
	r.reports[a].Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e := r.peers.Get(p)
	if e == nil {
		if e = r.track(p, now); e == nil {
			return
		}
	}
	frozen := now < e.frozen
	if a == Useful && frozen {
		return
	}
	v := r.apply(e.valueAt(now, r.cfg.halfLife), a)
	if a.penalty() && r.cfg.freezeFor > 0 && v <= r.cfg.freezeAt && !frozen {
		e.frozen = addSat(now, r.cfg.freezeFor)
	}
	e.value, e.at = v, now
	e.published.Store(math.Float64bits(v))
	e.reasons = note(e.reasons, reason, a, now, r.cfg.maxReasons)
}

// apply returns v after action a, within the scale.
func (r *Reputation) apply(v float64, a Action) float64 {
	switch a {
	case Fatal:
		return MinValue
	case Useful:
		return min(v+r.cfg.reward, max(r.cfg.maxCredit, v))
	default:
		return max(v-r.cfg.penalties[a], MinValue)
	}
}

// valueAt is the entry's value at now: held until the later of when it
// was set and the end of its freeze, then halved every halfLife.
func (e *entry) valueAt(now, halfLife time.Duration) float64 {
	start := e.at // before base for a value restored from before a restart
	if e.frozen != 0 {
		start = max(start, e.frozen)
	}
	if now <= start || e.value == 0 {
		return e.value
	}
	return e.value * math.Exp2(-float64(now-start)/float64(halfLife))
}

// track adds an entry for p, making room first if the table is full, and
// returns it; nil if there is no room, every tracked peer being frozen.
// The caller holds mu.
func (r *Reputation) track(p peer.ID, now time.Duration) *entry {
	if len(r.peers.All()) >= r.cfg.maxPeers && !r.makeRoom(now) {
		r.untracked++
		if !r.refusing {
			r.refusing = true
			r.cfg.logger.Warn("peerscore/reputation: every tracked peer is frozen; reports about new peers are not kept until a freeze ends",
				"peer", p, "max_peers", r.cfg.maxPeers)
		}
		return nil
	}
	r.refusing = false
	e := &entry{at: now, seq: r.tracked}
	r.tracked++
	e.ID = p
	r.peers.Add(e, &e.Entry)
	return e
}

// makeRoom frees up to max(1, maxPeers/16) places, in the order of the
// package documentation (Bounds and cost): first those of peers whose
// value decayed to nothing, then the least severe, never a frozen peer.
// It reports whether it freed any. It costs O(tracked peers) and runs at
// most once every maxPeers/16 new peers: O(1) amortised per report. The
// caller holds mu.
func (r *Reputation) makeRoom(now time.Duration) bool {
	want := max(1, r.cfg.maxPeers/16)
	cands, victims := r.cands[:0], r.victims[:0]
	for _, e := range r.peers.All() {
		switch {
		case now < e.frozen: // held until its freeze ends, whatever comes
		case isNegligible(e.valueAt(now, r.cfg.halfLife)):
			victims = append(victims, e)
		default:
			cands = append(cands, e)
		}
	}
	if more := min(want-len(victims), len(cands)); more > 0 {
		selectFirst(cands, more, evictsBefore)
		victims = append(victims, cands[:more]...)
		r.evicted += uint64(more)
	}
	freed := len(victims) > 0
	for i, e := range victims {
		r.peers.Remove(&e.Entry)
		victims[i] = nil
	}
	clear(cands)
	r.cands, r.victims = cands[:0], victims[:0]
	return freed
}

// evictsBefore reports whether a is forgotten before b when room is made:
// the milder first by the value its last report left it at, undecayed, so
// that a record does not look milder for being older than a fresh one;
// among equals, the one tracked later, so that a flood of fresh identities
// pushes out its own members before the records it found. Every entry has
// its own seq, so no two entries tie.
func evictsBefore(a, b *entry) bool {
	if a.value != b.value {
		return a.value > b.value
	}
	return a.seq > b.seq
}

// selectFirst reorders s so that its first k elements (1 ≤ k ≤ len(s))
// are the k first by before, a strict total order: a quickselect with
// random pivots, O(len(s)) expected whatever the elements.
func selectFirst[T any](s []T, k int, before func(a, b T) bool) {
	lo, hi := 0, len(s)-1
	for lo < hi {
		pivot := s[lo+rand.IntN(hi-lo+1)]
		// Three-way partition: before the pivot, the pivot, after it.
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case before(s[i], pivot):
				s[lt], s[i] = s[i], s[lt]
				lt++
				i++
			case before(pivot, s[i]):
				s[i], s[gt] = s[gt], s[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k-1 < lt:
			hi = lt - 1
		case k-1 > gt:
			lo = gt + 1
		default:
			return
		}
	}
}

// decay is one step of the loop: publish every peer's decayed value and
// forget those decayed to nothing. O(tracked peers) under mu.
func (r *Reputation) decay() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	all := r.peers.All()
	for i := len(all) - 1; i >= 0; i-- { // removal moves the last entry into i
		e := all[i]
		v := e.valueAt(now, r.cfg.halfLife)
		if isNegligible(v) && now >= e.frozen {
			r.peers.Remove(&e.Entry)
			continue
		}
		e.published.Store(math.Float64bits(v))
	}
	r.peers.Settle()
}

// Len returns how many peers are tracked: reported, and not yet forgotten.
func (r *Reputation) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers.All())
}

// Standing is one peer's reputation, as Reputation.Standing reports it.
type Standing struct {
	Peer  peer.ID `json:"peer"`
	Value float64 `json:"value"` // now, decayed up to this moment
	// FrozenUntil is when the value starts decaying again, if a freeze
	// (WithFreeze) is in force.
	FrozenUntil time.Time `json:"frozen_until,omitzero"`
	// Reasons are the distinct reasons reported, the most recent first.
	Reasons []Reason `json:"reasons"`
}

// Standing returns p's value now, its freeze and the reasons reported, and
// false if p is not tracked (never reported, or forgotten).
func (r *Reputation) Standing(p peer.ID) (Standing, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e := r.peers.Get(p)
	if e == nil {
		return Standing{}, false
	}
	v := e.valueAt(now, r.cfg.halfLife)
	if isNegligible(v) && now >= e.frozen {
		return Standing{}, false
	}
	st := Standing{Peer: p, Value: v, Reasons: make([]Reason, len(e.reasons))}
	if now < e.frozen {
		st.FrozenUntil = r.at(e.frozen)
	}
	for i, rec := range e.reasons {
		st.Reasons[i] = Reason{Reason: rec.reason, Action: rec.action, Count: rec.count, Last: r.at(rec.last)}
	}
	return st, true
}

// Reasons returns the reasons reported about p, the most recent first,
// as text ("invalid block (high x3)"), or nil if p is not tracked. Pass it
// to the scorer with peerscore.WithAppReasons, and every Snapshot of p
// carries them in AppReasons.
func (r *Reputation) Reasons(p peer.ID) []string {
	st, ok := r.Standing(p)
	if !ok {
		return nil
	}
	out := make([]string, len(st.Reasons))
	for i, reason := range st.Reasons {
		out[i] = reason.String()
	}
	return out
}

// at converts a time on the Reputation's clock to wall-clock time.
func (r *Reputation) at(d time.Duration) time.Time { return r.base.Add(d).Round(0) }
