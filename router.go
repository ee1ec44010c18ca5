package peerscore

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
)

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
	t := s.thresholds
	if t == nil {
		return nil, errors.New("peerscore: GossipSubOptions: the router needs thresholds: give New WithThresholds")
	}

	params := &pubsub.PeerScoreParams{
		Topics:            map[string]*pubsub.TopicScoreParams{},
		AppSpecificScore:  s.routerScore,
		AppSpecificWeight: 1,
		DecayInterval:     s.rules.decayInterval,
		DecayToZero:       defaultDecayToZero,
		// The internal scorer keeps delivery records nobody reads (its
		// weights are zero); the shortest TTL lets its once-a-minute
		// clean-up drop them all instead of holding three minutes' worth.
		SeenMsgTTL: time.Nanosecond,
	}
	opts := []pubsub.Option{
		pubsub.WithRawTracer(s.Tracer()),
		pubsub.WithPeerScore(params, t.ToPubsub()),
	}
	if len(s.direct.info) > 0 {
		opts = append(opts, pubsub.WithDirectPeers(s.direct.info))
	}
	if period := s.check.period; period > 0 {
		// After WithPeerScore, which creates the scorer it inspects.
		opts = append(opts, pubsub.WithPeerScoreInspect(pubsub.ExtendedPeerScoreInspectFn(s.inspectRouter), period))
		s.check.watching.Store(true)
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

// routerPenalties rebuilds, from the router's traces, the behaviour
// penalties a GossipSub router adds to its own scorer: one per broken IWANT
// promise, and one (two within the flood threshold) per GRAFT during a PRUNE
// backoff. All of it is guarded by Scorer.mu.
type routerPenalties struct {
	off      bool
	timings  routerTimings
	graylist float64 // RPCs from peers below it never reach the router
	joined   map[string]bool
	promises *promiseBook
	backoffs *backoffBook
}

func newRouterPenalties(off bool, t routerTimings) *routerPenalties {
	return &routerPenalties{
		off:      off,
		timings:  t,
		graylist: math.Inf(-1),
		joined:   make(map[string]bool),
		promises: newPromiseBook(),
		backoffs: newBackoffBook(),
	}
}

// WithGossipSubParams gives the Scorer the router's GossipSubParams, whose
// timings the rebuilt router penalties follow: HeartbeatInterval,
// IWantFollowupTime, PruneBackoff and GraftFloodThreshold, and
// HeartbeatInitialDelay: Start's loop charges broken promises at the
// router's heartbeats, the first HeartbeatInitialDelay after Start, so
// call Start when the router starts (just before pubsub.NewGossipSub) for
// the charges to land when the router's do. The default is
// pubsub.DefaultGossipSubParams().
func WithGossipSubParams(p pubsub.GossipSubParams) Option {
	return func(c *config) error {
		if p.HeartbeatInterval <= 0 || p.IWantFollowupTime <= 0 || p.PruneBackoff <= 0 {
			return errors.New("peerscore: WithGossipSubParams: HeartbeatInterval, IWantFollowupTime and PruneBackoff must be positive")
		}
		c.router = timingsFrom(p)
		return nil
	}
}

// WithoutRouterPenalties turns off the rebuilding of the router's behaviour
// penalties (broken IWANT promises, GRAFTs during backoff, repeated
// extensions control messages): P7 then grows only with AddPenalty.
func WithoutRouterPenalties() Option {
	return func(c *config) error {
		c.routerOff = true
		return nil
	}
}

// routerHeartbeat charges broken promises and forgets expired backoffs; the
// loop runs it every router heartbeat, and Refresh runs it too.
func (s *Scorer) routerHeartbeat() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routerHeartbeatLocked(s.now())
}

func (s *Scorer) routerHeartbeatLocked(now time.Duration) {
	for p, n := range s.router.promises.broken(now) {
		s.addBehaviourPenalty(p, float64(n), penBrokenPromise)
	}
	s.router.backoffs.sweep(now)
}

// routerRecv judges the GRAFTs in an incoming RPC against the backoffs and
// learns the backoffs its PRUNEs ask for, as the router's handleGraft and
// handlePrune do.
func (s *Scorer) routerRecv(rpc *pubsub.RPC) {
	if s.router.off || rpc == nil {
		return
	}
	ctl := rpc.GetControl()
	if len(ctl.GetGraft()) == 0 && len(ctl.GetPrune()) == 0 {
		return
	}
	from := rpc.From()
	score := s.Score(from) // before locking: it calls the application
	s.mu.Lock()
	defer s.mu.Unlock()
	if score < s.router.graylist && !s.direct.has(from) {
		return // the router drops a graylisted peer's RPC unread
	}
	now := s.now()
	for _, g := range ctl.GetGraft() {
		s.judgeGraft(from, g.GetTopicID(), now)
	}
	for _, pr := range ctl.GetPrune() {
		if s.router.joined[pr.GetTopicID()] {
			s.router.backoffs.extend(pr.GetTopicID(), from, addSat(now, s.backoffOf(pr)))
		}
	}
}

// judgeGraft charges 1 for a GRAFT during a backoff, and 1 more if it came
// within the graft flood threshold of the PRUNE; like the router, it then
// restarts the backoff.
func (s *Scorer) judgeGraft(p peer.ID, topic string, now time.Duration) {
	if !s.router.joined[topic] || s.direct.has(p) {
		return // the router ignores it, or prunes a direct peer without a charge
	}
	end, ok := s.router.backoffs.until(topic, p, now)
	if !ok {
		return
	}
	t := s.router.timings
	penalty := 1.0
	// Within the flood threshold of the PRUNE that set this backoff:
	// now < end - PruneBackoff + GraftFloodThreshold, without overflowing.
	if end-now > t.pruneBackoff-t.graftFlood {
		penalty++
	}
	s.addBehaviourPenalty(p, penalty, penGraftBackoff)
	s.router.backoffs.extend(topic, p, addSat(now, t.pruneBackoff))
}

// routerSend learns from an RPC we sent (or tried to send) to p: IWANTs
// become promises, unless the RPC was dropped; PRUNEs start backoffs.
func (s *Scorer) routerSend(rpc *pubsub.RPC, p peer.ID, dropped bool) {
	if s.router.off || rpc == nil {
		return
	}
	ctl := rpc.GetControl()
	if len(ctl.GetIwant()) == 0 && len(ctl.GetPrune()) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !dropped {
		for _, iw := range ctl.GetIwant() {
			if ids := iw.GetMessageIDs(); len(ids) > 0 {
				s.router.promises.add(p, ids[s.pick(len(ids))], addSat(now, s.router.timings.followUp))
			}
		}
	}
	for _, pr := range ctl.GetPrune() {
		s.router.backoffs.extend(pr.GetTopicID(), p, addSat(now, s.backoffOf(pr)))
	}
}

// backoffOf is the backoff a PRUNE carries, or the router's default for
// peers too old to carry one.
//
// The conversion is the router's own, wrap-around included for absurd
// values (over 292 years), so that the rebuilt penalty follows the router's
// decision exactly.
func (s *Scorer) backoffOf(pr *pb.ControlPrune) time.Duration {
	if secs := pr.GetBackoff(); secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return s.router.timings.pruneBackoff
}

// chargeSlow adds the messages of an RPC the router dropped on its way to p
// to p's slow-peer counter.
func (s *Scorer) chargeSlow(rpc *pubsub.RPC, p peer.ID) {
	if s.rules.slowWeight == 0 || rpc == nil {
		return
	}
	n := len(rpc.GetPublish())
	if n == 0 {
		return
	}
	s.addSlow(p, float64(n))
}

// isSlowWrite tells whether a write to a peer's stream that took this long
// counts towards the slow-peer penalty (small enough to inline: every write
// asks, and nearly all are fast).
func (s *Scorer) isSlowWrite(took time.Duration) bool {
	limit := s.rules.slowWrite // 0 when off, or when the slow-peer weight is 0
	return limit != 0 && took > limit
}

// addSlow adds n to the slow-peer counter of p, if p is known and
// connected: the router writes only to connected peers, and a stale report
// must not charge a retained peer.
func (s *Scorer) addSlow(p peer.ID, n float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers.Get(p)
	if ps == nil || !ps.connected {
		return
	}
	ps.slow = finite(ps.slow + n)
	s.counters.charge(penSlowPeer, n)
	s.publish(ps)
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
// kept for, at random as the router picks, or from WithClock's seeded dice.
func (s *Scorer) pick(n int) int {
	if s.clock != nil {
		return s.clock.intN(n)
	}
	return rand.IntN(n)
}
