package peerscore

// The router mirror: what the Scorer knows of the GossipSub router it is
// plugged into, kept apart from the scoring engine. It wires the scorer
// into the router (GossipSubOptions, here), follows the router's RPCs
// (router_rpc.go) to rebuild the penalties the router would add to its own
// scorer (IWANT promises, router_promises.go; PRUNE backoffs,
// router_backoff.go; repeated extensions, router_extensions.go) and the
// slow-peer penalty, which pubsub lacks (router_slow.go), and checks that
// the router scores with our score alone (router_check.go).
//
// Invariants:
//   - The mirror owns its books: promises, backoffs, the joined topics and
//     the extensions record are guarded by routerMirror.mu and by nothing
//     else, and only the router*.go files (and test hooks) touch them.
//   - routerMirror.mu and the engine's Scorer.mu never nest: the mirror
//     calls into the engine (Score, connected, chargeBehaviour) only with
//     its own lock released, and the engine calls the mirror only with its
//     lock released. No lock order to keep, so no deadlock to fear.
//   - The mirror changes a score only through Scorer.chargeBehaviour. It
//     reads the engine through Score, connected, the clock and the
//     engine's configuration, which is fixed at New.
//   - The rest of the mirror is fixed at New or synchronises itself (the
//     promised flag, the router check).

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// routerMirror is the Scorer's model of its GossipSub router; see the
// invariants above.
type routerMirror struct {
	// eng is a concrete pointer rather than an interface so that the
	// router's score queries (routerScore, on its hot path) stay a direct
	// call.
	eng *Scorer

	// Fixed at New.
	off       bool // WithoutRouterPenalties: no promises, backoffs or extensions
	timings   routerTimings
	graylist  float64 // RPCs from peers below it never reach the router; -Inf without thresholds
	direct    directPeers
	slowDrops bool          // dropped messages count: the slow-peer weight is not 0
	slowWrite time.Duration // writes slower than this count; 0 when they do not

	check routerCheck // its own synchronisation: the router calls it on goroutines of its own

	mu       sync.Mutex
	joined   map[string]bool // topics the router has a mesh for
	promises promiseBook
	backoffs backoffBook
	ext      *extensionsBook // nil unless the repeated-extensions penalty is rebuilt

	// promised is whether promises has any, readable without mu: nearly
	// every message event asks, and nearly always there are none.
	promised atomic.Bool
}

// init sets up the mirror of s, configured by cfg, once s's rules and
// thresholds are in place.
func (r *routerMirror) init(s *Scorer, cfg *config) {
	r.eng = s
	r.off = cfg.routerOff
	r.timings = cfg.router
	r.graylist = math.Inf(-1)
	if s.thresholds != nil {
		r.graylist = s.thresholds.GraylistThreshold
	}
	r.direct = newDirectPeers(cfg.direct)
	r.slowDrops = s.rules.slowWeight != 0
	r.slowWrite = s.rules.slowWrite
	r.check.period = cfg.routerCheck
	r.joined = make(map[string]bool)
	r.promises = newPromiseBook()
	r.backoffs = newBackoffBook()
	r.ext = newExtensionsBook(cfg.host, cfg.routerOff)
}

// GossipSubOptions returns the options that plug s into a GossipSub router:
// s as a raw tracer, and pubsub's peer scoring with every internal weight at
// zero and s.Score as the application-specific score (weight 1), so that
// the router's thresholds (the Scorer's, WithThresholds) act on this
// scorer's score; and, unless
// WithRouterCheck(0), pubsub's extended score inspection, through which s
// checks that the router scores with nothing else. Pass them to
// pubsub.NewGossipSub, and start s with Start.
//
// The router's own scorer still runs inside it (pubsub requires it for
// thresholds to apply) but contributes nothing. The router's penalties,
// which it would add to its own scorer, are rebuilt by s from the traces;
// give s the router's GossipSubParams with WithGossipSubParams if they are
// not the defaults.
//
// Configure scoring through s alone. Topic.SetScoreParams on the router
// would arm its own scorer with real weights, scoring every peer twice; use
// s.SetTopicParams. pubsub.WithPeerScore among the router's options would
// replace this wiring; pubsub.WithPeerScoreInspect after these options
// makes pubsub.NewGossipSub fail with "duplicate peer score inspector" (use
// WithInspect). s reports the first two within one WithRouterCheck period
// (an Error log, Stats.RouterMismatches).
func (s *Scorer) GossipSubOptions() ([]pubsub.Option, error) {
	return s.router.options()
}

func (r *routerMirror) options() ([]pubsub.Option, error) {
	t := r.eng.thresholds
	if t == nil {
		return nil, errors.New("peerscore: GossipSubOptions: the router needs thresholds: give New WithThresholds")
	}

	params := &pubsub.PeerScoreParams{
		Topics:            map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:  r.routerScore,
		AppSpecificWeight: 1,
		DecayInterval:     r.eng.rules.decayInterval,
		DecayToZero:       defaultDecayToZero,
		// The internal scorer keeps delivery records nobody reads (its
		// weights are zero); the shortest TTL lets its once-a-minute
		// clean-up drop them all instead of holding three minutes' worth.
		SeenMsgTTL: time.Nanosecond,
	}
	opts := []pubsub.Option{
		pubsub.WithRawTracer(r.eng.Tracer()),
		pubsub.WithPeerScore(params, t.ToPubsub()),
	}
	if len(r.direct.info) > 0 {
		opts = append(opts, pubsub.WithDirectPeers(r.direct.info))
	}
	if period := r.check.period; period > 0 {
		// After WithPeerScore, which creates the scorer it inspects.
		opts = append(opts, pubsub.WithPeerScoreInspect(pubsub.ExtendedPeerScoreInspectFn(r.inspectRouter), period))
		r.check.watching.Store(true)
	}
	return opts, nil
}

// routerTimings are the router's GossipSubParams that its penalties depend
// on.
type routerTimings struct {
	firstBeat    time.Duration // when, after it starts, the router first checks them
	heartbeat    time.Duration // how often the router checks IWANT promises
	followUp     time.Duration // how long a peer has to answer an IWANT
	pruneBackoff time.Duration // the backoff the router keeps after a PRUNE
	graftFlood   time.Duration // a GRAFT this soon after a PRUNE is a flood
}

func timingsFrom(p pubsub.GossipSubParams) routerTimings {
	return routerTimings{
		firstBeat:    p.HeartbeatInitialDelay,
		heartbeat:    p.HeartbeatInterval,
		followUp:     p.IWantFollowupTime,
		pruneBackoff: p.PruneBackoff,
		graftFlood:   p.GraftFloodThreshold,
	}
}

// heartbeat charges broken promises and forgets expired backoffs, as the
// router does at its heartbeat; the loop (or the ManualClock) runs it on
// the router's schedule.
func (r *routerMirror) heartbeat() { r.heartbeatAt(r.eng.now()) }

// heartbeatAt is heartbeat at a given time, so that Refresh charges at
// the time it decayed at.
func (r *routerMirror) heartbeatAt(now time.Duration) {
	r.mu.Lock()
	broken := r.promises.broken(now)
	r.promised.Store(r.promises.any())
	r.backoffs.sweep(now)
	r.mu.Unlock()
	for p, n := range broken {
		r.eng.chargeBehaviour(p, float64(n), penBrokenPromise)
	}
}

// directPeers are the router's direct peers (WithDirectPeers), read
// without a lock: they never change after New.
type directPeers struct {
	info []peer.AddrInfo
	ids  map[peer.ID]struct{}
}

func newDirectPeers(info []peer.AddrInfo) directPeers {
	d := directPeers{info: info}
	if len(info) > 0 {
		d.ids = make(map[peer.ID]struct{}, len(info))
		for _, pi := range info {
			d.ids[pi.ID] = struct{}{}
		}
	}
	return d
}

func (d directPeers) has(p peer.ID) bool {
	_, ok := d.ids[p]
	return ok
}

// pick is a random number in [0, n): which of an IWANT's IDs a promise is
// kept for, at random as the router picks, or from WithClock's seeded dice
// so that a replay breaks the same promises.
func (r *routerMirror) pick(n int) int {
	if c := r.eng.clock; c != nil {
		return c.intN(n)
	}
	return rand.IntN(n)
}
