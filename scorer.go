package peerscore

import (
	"errors"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/internal/peerindex"
)

// Scorer computes gossipsub v1.1 peer scores from the events a GossipSub
// router traces.
//
// The model: every peer has counters per scored topic (time in mesh, first
// and mesh message deliveries, mesh failures, invalid messages) and across
// topics (a behaviour penalty, its addresses). Events from the router move
// the counters; time decays them, once per DecayInterval; the score is a
// weighted sum of what the counters say (see the package documentation for
// the formula). A peer that disconnects with a positive score is forgotten;
// one at zero or below is kept, frozen, for RetainScore, so that it cannot
// wash its score by reconnecting.
//
// Create it with New, give it to a router with GossipSubOptions, start its
// background loop with Start and stop it with Close. Read scores with
// Score, which takes no lock and allocates nothing, and their parts with
// Snapshot. All methods are safe for concurrent use.
type Scorer struct {
	mu sync.Mutex // guards all state below that is not atomic, but router, which has its own lock

	params *Params // as given, without topics (byIdx has them); never changed
	rules  globalRules
	topics map[string]*topicRules
	byIdx  []*topicRules // topicRules.index -> rules

	peers      *peerindex.Table[peerState]
	deliveries *deliveryLog
	ips        *ipTracker
	retained   retainedSet
	counters   counters
	thresholds *Thresholds     // nil unless WithThresholds; never changed
	specP3     bool            // WithSpecP3: leaving the mesh clears P3 activation
	watch      *thresholdWatch // nil unless WithThresholdEvents

	// base anchors the scorer's clock: times are kept as durations since
	// base, which reads the monotonic clock and fits in eight bytes.
	base time.Time
	// clock, if not nil, is where the time comes from instead (WithClock).
	clock *ManualClock

	host   host.Host
	logger *slog.Logger
	msgID  func(*pb.Message) string

	appReasons func(peer.ID) []string // nil unless WithAppReasons

	stateLimits stateLimits // what Save writes and Load reads at most

	loop loopState

	// router is the mirror of the GossipSub router (router.go): its own
	// books under its own lock, charging peers through chargeBehaviour.
	router routerMirror
}

// peerState is everything the scorer knows about one peer.
type peerState struct {
	peerindex.Entry[peerState] // the peer's ID, and its place in Scorer.peers

	connected bool
	forgotten bool          // removed from the table; delivery records may still point here
	restored  bool          // added by Load; set before the peer is published, never changed
	expire    time.Duration // when a retained (disconnected) peer is forgotten

	topics    []topicStats
	ips       atomic.Pointer[ipList] // read by Score without a lock
	behaviour float64                // P7 counter
	slow      float64                // slow-peer counter

	cache scoreCache

	// While retained: 1 + position in Scorer.retained's heap (0 when not
	// in it), the score it is ordered by, and the weighted P5 that score
	// counts, as it was at retention.
	retainPos int
	retainKey float64
	retainApp float64
}

func newPeerState(id peer.ID) *peerState {
	ps := new(peerState)
	ps.ID = id
	return ps
}

// topicStats are one peer's counters in one scored topic.
type topicStats struct {
	topic      int32
	inMesh     bool
	meshActive bool // P3 applies: in mesh for longer than the activation time

	graftedAt time.Duration
	meshTime  time.Duration // time in mesh as of the last Refresh
	p1        float64       // quantised, capped meshTime
	p1Next    time.Duration // meshTime at which p1 next grows

	first   float64 // P2 counter
	mesh    float64 // P3 counter
	failure float64 // P3b counter
	invalid float64 // P4 counter

	score float64 // this topic's weighted contribution, kept current
}

// New returns a Scorer for params, which it validates and copies: later
// changes to params do not affect the Scorer. Call Start to run its
// background loop and Close to stop it.
func New(params *Params, opts ...Option) (*Scorer, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	if err := option.Apply("peerscore", &cfg, opts); err != nil {
		return nil, err
	}
	if len(cfg.eventFns) > 0 && cfg.thresholds == nil {
		return nil, errors.New("peerscore: WithThresholdEvents needs the thresholds: add WithThresholds")
	}
	s := &Scorer{
		params: params.globals(),
		rules:  compileGlobal(params),
		topics: make(map[string]*topicRules, len(params.Topics)),
		peers:  peerindex.New[peerState](64),
		base:   time.Now(),
		clock:  cfg.clock,
		host:   cfg.host,
		logger: cfg.logger,
		msgID:  cfg.msgID,

		appReasons: cfg.appReasons,

		stateLimits: cfg.limits,
	}
	s.deliveries = newDeliveryLog(s.rules.seenMsgTTL, cfg.maxRecords)
	s.ips = newIPTracker(s.rules.whitelist)
	s.retained.max = cfg.maxRetain
	s.counters.lateDuplicates = make(map[string]uint64)
	s.thresholds = cfg.thresholds
	if t := s.thresholds; t != nil && len(cfg.eventFns) > 0 {
		s.watch = newThresholdWatch(t, cfg.eventFns)
	}
	s.router.init(s, &cfg)
	s.specP3 = cfg.specP3
	s.loop.inspects = cfg.inspects
	s.loop.ipRefresh = cfg.ipRefresh
	if params.AppSpecificScore != nil && params.AppSpecificWeight == 0 {
		s.logger.Warn("peerscore: Params.AppSpecificScore is set but AppSpecificWeight is 0, " +
			"so the application's score counts for nothing; set AppSpecificWeight (1 passes it through)")
	}
	for name, tp := range params.Topics {
		s.addTopic(name, tp)
	}
	if s.clock != nil {
		s.base = s.clock.Now()
		s.clock.attach(s)
	}
	return s, nil
}

// Params returns a copy of the parameters s scores with: those given to
// New, with the topics' as SetTopicParams has left them.
func (s *Scorer) Params() *Params {
	p := s.params.globals()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Topics = make(map[string]*TopicParams, len(s.byIdx))
	for _, r := range s.byIdx {
		tp := r.params
		p.Topics[r.name] = &tp
	}
	return p
}

// Thresholds returns a copy of the thresholds given with WithThresholds, or
// nil if none were.
func (s *Scorer) Thresholds() *Thresholds {
	if s.thresholds == nil {
		return nil
	}
	t := *s.thresholds
	return &t
}

// addSat adds durations, saturating instead of overflowing: a RetainScore
// of "forever" must not wrap around into the past.
func addSat(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// now is the scorer's clock: time since New, read with package time (or
// from WithClock's clock).
func (s *Scorer) now() time.Duration {
	if s.clock != nil {
		return s.clock.Now().Sub(s.base)
	}
	return time.Since(s.base)
}

// at converts a scorer time to wall-clock time.
func (s *Scorer) at(d time.Duration) time.Time { return s.base.Add(d) }

func (s *Scorer) addTopic(name string, tp *TopicParams) {
	r := compileTopic(name, int32(len(s.byIdx)), tp)
	s.topics[name] = r
	s.byIdx = append(s.byIdx, r)
}

// AddPenalty adds count to p's behaviour penalty counter (P7), as a router
// does for protocol violations. Unknown peers and counts below 1 are
// ignored: a penalty cannot be used to pay off an earlier one.
func (s *Scorer) AddPenalty(p peer.ID, count int) {
	if count <= 0 {
		return
	}
	s.chargeBehaviour(p, float64(count), penAddPenalty)
}

// chargeBehaviour adds n to the counter that why feeds: the slow-peer
// counter for penSlowPeer, P7 for every other reason. It is the one way
// the router mirror changes a score, so that its books never need the
// engine's lock. Unknown peers are not charged; nor are retained ones
// for slowness, as the router writes only to connected peers and a stale
// report must not charge a peer that has left.
func (s *Scorer) chargeBehaviour(p peer.ID, n float64, why penalty) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers.Get(p)
	if ps == nil {
		return
	}
	if why == penSlowPeer {
		if !ps.connected {
			return
		}
		ps.slow = finite(ps.slow + n)
	} else {
		ps.behaviour = finite(ps.behaviour + n)
	}
	s.counters.charge(why, n)
	s.publish(ps)
}

// connected tells whether p is a connected peer. It takes the lock: the
// router check asks only until the router's first call.
func (s *Scorer) connected(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peers.Get(p)
	return ps != nil && ps.connected
}

// SetTopicParams starts scoring topic with tp, or replaces its parameters.
// Counters above a lowered cap are brought down to it. Invalid tp is
// rejected with an error naming the topic and the field, and nothing
// changes.
func (s *Scorer) SetTopicParams(topic string, tp *TopicParams) error {
	if err := validateTopic(topic, tp); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.topics[topic]
	if !ok {
		s.addTopic(topic, tp)
		return nil
	}
	// Rules are never changed in place: snapshots built after the lock is
	// released may still be reading the old ones.
	r = compileTopic(topic, r.index, tp)
	s.topics[topic], s.byIdx[r.index] = r, r
	for _, ps := range s.peers.All() {
		ts := ps.findTopic(r.index)
		if ts == nil {
			continue
		}
		ts.first = math.Min(ts.first, r.firstCap)
		ts.mesh = math.Min(ts.mesh, r.meshCap)
		ts.p1, ts.p1Next = timeInMeshValue(r, ts.meshTime)
		s.rescore(ps, ts)
	}
	return nil
}

// forget drops ps and everything about it; co-located peers' P6 drops with
// it. Delivery records may still point at ps: forgotten tells them to look
// the peer up again.
func (s *Scorer) forget(ps *peerState) {
	s.retained.remove(ps)
	s.ips.remove(ps)
	s.peers.Remove(&ps.Entry)
	ps.forgotten = true
}

func (ps *peerState) findTopic(idx int32) *topicStats {
	for i := range ps.topics {
		if ps.topics[i].topic == idx {
			return &ps.topics[i]
		}
	}
	return nil
}

// topicStats returns p's stats in a scored topic, creating them on first
// use; nil when the topic is not scored, which is how unscored topics stay
// out of the score.
func (s *Scorer) topicStats(ps *peerState, topic string) (*topicStats, *topicRules) {
	r, ok := s.topics[topic]
	if !ok {
		return nil, nil
	}
	if ts := ps.findTopic(r.index); ts != nil {
		return ts, r
	}
	ps.topics = append(ps.topics, topicStats{topic: r.index})
	return &ps.topics[len(ps.topics)-1], r
}

// rescore recomputes one topic's contribution and republishes the peer's
// score.
func (s *Scorer) rescore(ps *peerState, ts *topicStats) {
	ts.score = s.byIdx[ts.topic].breakdown(ts).total
	s.publish(ps)
}

// publish recomputes the cached parts of ps's score from its current state.
// Every change to a score input ends here.
func (s *Scorer) publish(ps *peerState) {
	topics, behaviour := s.topicsTerm(ps), s.behaviourTerm(ps)
	ps.cache.store(topics, behaviour)
	if ps.retainPos != 0 {
		s.retained.rekey(ps, retainedKey(ps, topics, behaviour))
	}
}

// scoreCache publishes the parts of a peer's score that only the peer's own
// events and Refresh change, so that Score reads them without a lock. P5 is
// not here: it is the application's, and Score asks for it every time. P6
// is not here either: other peers change it, and Score reads it live from
// the address counts (ipcolocation.go). The parts are kept apart so that
// Score adds them in pubsub's order (addParts): the parity test checks
// agreement with pubsub to 1e-9 relative, not to the bit, as pubsub sums
// the topics in map order and a sum in another order may differ in its
// last bits. A sequence counter (odd while a writer is busy) lets a reader
// detect a torn read and retry.
type scoreCache struct {
	seq       atomic.Uint64
	topics    atomic.Uint64 // capped topic sum, float64 bits
	behaviour atomic.Uint64 // weighted P7 plus the slow-peer penalty
}

func (c *scoreCache) store(topics, behaviour float64) {
	c.seq.Add(1)
	c.topics.Store(math.Float64bits(topics))
	c.behaviour.Store(math.Float64bits(behaviour))
	c.seq.Add(1)
}

func (c *scoreCache) load() (topics, behaviour float64) {
	seq := c.seq.Load()
	topics = math.Float64frombits(c.topics.Load())
	behaviour = math.Float64frombits(c.behaviour.Load())
	if seq&1 == 0 && c.seq.Load() == seq {
		return topics, behaviour
	}
	return c.loadContended()
}

// loadContended retries a read that met a writer mid-update, yielding so
// that the writer finishes even on a single thread.
func (c *scoreCache) loadContended() (topics, behaviour float64) {
	for {
		runtime.Gosched()
		seq := c.seq.Load()
		if seq&1 != 0 {
			continue
		}
		topics = math.Float64frombits(c.topics.Load())
		behaviour = math.Float64frombits(c.behaviour.Load())
		if c.seq.Load() == seq {
			return topics, behaviour
		}
	}
}
