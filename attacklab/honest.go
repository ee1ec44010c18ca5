package attacklab

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/peerscore/peerscore"
)

// Arm is how the honest nodes score their peers.
type Arm string

// The arms of every scenario.
const (
	// ArmPeerscore: routers wired to a peerscore.Scorer with
	// Scorer.GossipSubOptions.
	ArmPeerscore Arm = "peerscore"
	// ArmNative: pubsub's own scorer with the same parameters
	// (pubsub.WithPeerScore with Params.ToPubsub and Thresholds.ToPubsub).
	ArmNative Arm = "native"
	// ArmNone: the same router with no scoring at all, which shows what
	// the attack does to it, and what scoring adds.
	ArmNone Arm = "none"
	// ArmVanilla: the nearest today's router comes to the evaluation's
	// comparator, a gossipsub v1.0 router (hardening:
	// test/honest_vanilla.go): no scoring, no flood publishing, only
	// /meshsub/1.0.0, gossip to Dlazy peers, no opportunistic grafting
	// and no outbound quota. It shows what gossipsub v1.1 as a whole
	// adds. The PRUNE backoff cannot be turned off; it is one heartbeat.
	ArmVanilla Arm = "vanilla"
)

// Arms are the arms, in the report's order.
var Arms = []Arm{ArmPeerscore, ArmNative, ArmNone, ArmVanilla}

// scores reports whether the arm's routers score their peers.
func (a Arm) scores() bool { return a == ArmPeerscore || a == ArmNative }

// honestNode is a real GossipSub router on a host, scoring as its arm
// says, publishing if it is a publisher.
type honestNode struct {
	idx    int
	h      host.Host
	ps     *pubsub.PubSub
	topic  *pubsub.Topic
	scorer *peerscore.Scorer // the peerscore arm only
	parity *parityWatch      // the native arm's passive Scorer, if compared
	rec    *recorder
	// recording is what the node records for a replay (Config.Record).
	recording *nodeRecording
	// scores is the latest score inspection (scoring arms).
	scores atomic.Pointer[map[peer.ID]float64]
}

// gossipSubParams are pubsub's defaults with the lab's mesh settings
// (heartbeat 1 s, initial delay 100 ms, prune backoff 1 min, history 5/3
// are the defaults the evaluation kept), as arm runs them in sc.
func (c *Config) gossipSubParams(arm Arm, sc Scenario) pubsub.GossipSubParams {
	m := c.GossipSub
	gp := pubsub.DefaultGossipSubParams()
	gp.D, gp.Dlo, gp.Dhi, gp.Dscore, gp.Dlazy, gp.Dout = m.D, m.Dlo, m.Dhi, m.Dscore, m.Dlazy, m.Dout
	gp.OpportunisticGraftTicks = m.OpportunisticGraftTicks
	if sc.OppGraftTicks > 0 {
		gp.OpportunisticGraftTicks = sc.OppGraftTicks
	}
	gp.GossipFactor = m.GossipFactor
	if arm == ArmVanilla {
		// gossipsub v1.0's: Dlazy 6 and nothing else to gossip to; no
		// outbound quota, opportunistic grafting or backoff.
		gp.Dlazy, gp.GossipFactor, gp.Dout = 6, 0, 0
		gp.OpportunisticGraftTicks = 1 << 62
		gp.PruneBackoff, gp.UnsubscribeBackoff = gp.HeartbeatInterval, gp.HeartbeatInterval
	}
	return gp
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRouter starts the node's router for arm.
// tally, in the native arm, compares the router's scorer with a passive
// peerscore Scorer (live parity).
// recordDir, if set, is where the node records its traffic (record.go).
func (n *honestNode) startRouter(ctx context.Context, arm Arm, sc Scenario, cfg *Config, params *peerscore.Params, thr *peerscore.Thresholds, tally *parityTally, recordDir string) error {
	gp := cfg.gossipSubParams(arm, sc)
	opts := []pubsub.Option{
		pubsub.WithGossipSubParams(gp),
		// hardening: honest_behavior.flood_publishing true; v1.0 had none.
		pubsub.WithFloodPublish(arm != ArmVanilla),
		// PX was off in the evaluation (no peer routing).
		pubsub.WithPeerExchange(false),
		// Messages carry their author and sequence number (the default
		// message ID, and what the Sybils censor by) but no signature: a
		// signature costs CPU per copy and measures nothing here.
		pubsub.WithMessageSignaturePolicy(pubsub.LaxNoSign),
		// hardening: validate queue 1024, per-peer outbound queue 128
		// (hardening.md §2.3).
		pubsub.WithValidateQueueSize(1024),
		pubsub.WithPeerOutboundQueueSize(128),
		pubsub.WithRawTracer(n.rec),
	}
	recording, err := n.startRecording(recordDir, arm, gp)
	if err != nil {
		return err
	}
	opts = append(opts, recording...)
	inspect := func(m map[peer.ID]float64) {
		n.recordScores(m)
		n.scores.Store(&m)
	}
	switch arm {
	case ArmVanilla:
		opts = append(opts, pubsub.WithGossipSubProtocols([]protocol.ID{pubsub.GossipSubID_v10}, pubsub.GossipSubDefaultFeatures))
	case ArmPeerscore:
		s, err := peerscore.New(params,
			peerscore.WithHost(n.h),
			peerscore.WithThresholds(thr),
			peerscore.WithGossipSubParams(gp),
			peerscore.WithLogger(discard),
			peerscore.WithInspect(inspect, inspectPeriod(cfg)))
		if err != nil {
			return err
		}
		scoring, err := s.GossipSubOptions()
		if err != nil {
			return err
		}
		opts = append(opts, scoring...)
		n.scorer = s
		s.Start(ctx)
	case ArmNative:
		opts = append(opts,
			pubsub.WithPeerScore(params.ToPubsub(), thr.ToPubsub()),
			pubsub.WithPeerScoreInspect(pubsub.ExtendedPeerScoreInspectFn(n.inspectNative), inspectPeriod(cfg)))
		if tally != nil {
			// Started now, with the router: both decay at the same instants.
			s, err := peerscore.New(params,
				peerscore.WithHost(n.h),
				peerscore.WithThresholds(thr),
				peerscore.WithGossipSubParams(gp),
				peerscore.WithLogger(discard),
				peerscore.WithRouterCheck(0))
			if err != nil {
				return err
			}
			opts = append(opts, pubsub.WithRawTracer(s.Tracer()))
			n.parity = &parityWatch{tally: tally, scorer: s}
			s.Start(ctx)
		}
	}
	ps, err := pubsub.NewGossipSub(ctx, n.h, opts...)
	if err != nil {
		return err
	}
	topic, err := ps.Join(Topic)
	if err != nil {
		return err
	}
	sub, err := topic.Subscribe(pubsub.WithBufferSize(1024))
	if err != nil {
		return err
	}
	go func() { // the application reads its messages
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	n.ps, n.topic = ps, topic
	return nil
}

// inspectNative takes the native router's score inspection: the scores
// for the observer, and the counters for the live parity.
func (n *honestNode) inspectNative(snaps map[peer.ID]*pubsub.PeerScoreSnapshot) {
	scores := make(map[peer.ID]float64, len(snaps))
	for p, s := range snaps {
		scores[p] = s.Score
	}
	n.recordScores(scores)
	n.scores.Store(&scores)
	if n.parity != nil {
		n.parity.compare(snaps)
	}
}

// tag is the lab's header at the start of every payload: the message's
// number in the run and its publisher.
func tag(payload []byte, seq, publisher int) {
	binary.BigEndian.PutUint64(payload[0:8], uint64(seq))
	binary.BigEndian.PutUint64(payload[8:16], uint64(publisher))
}

func untag(payload []byte) (seq int, ok bool) {
	if len(payload) < MinMsgSize {
		return 0, false
	}
	return int(binary.BigEndian.Uint64(payload[0:8])), true
}

// ledger is when each message of the run was published, and by how many
// honest nodes it was delivered.
type ledger struct {
	published []atomic.Int64 // fake-clock UnixNano, 0 until published
	delivered []atomic.Int32
}

func newLedger(messages int) *ledger {
	return &ledger{published: make([]atomic.Int64, messages), delivered: make([]atomic.Int32, messages)}
}

// delivery is one message delivered at one node, and how long after its
// publication.
type delivery struct {
	seq     int32
	latency time.Duration
}

// recorder is an honest node's raw tracer: it times deliveries, counts
// duplicates and follows the node's mesh.
type recorder struct {
	ledger *ledger
	sybils map[peer.ID]int // read-only: Sybil peer → index

	mu         sync.Mutex
	deliveries []delivery // of the messages delivered
	duplicates int64
	mesh       map[peer.ID]bool
	meshSybils int
}

func newRecorder(l *ledger, sybils map[peer.ID]int) *recorder {
	return &recorder{ledger: l, sybils: sybils, mesh: make(map[peer.ID]bool)}
}

func (r *recorder) DeliverMessage(msg *pubsub.Message) {
	seq, ok := untag(msg.GetData())
	if !ok || seq >= len(r.ledger.published) || msg.GetTopic() != Topic {
		return
	}
	at := r.ledger.published[seq].Load()
	if at == 0 {
		return
	}
	r.ledger.delivered[seq].Add(1)
	lat := time.Duration(time.Now().UnixNano() - at)
	r.mu.Lock()
	r.deliveries = append(r.deliveries, delivery{seq: int32(seq), latency: lat})
	r.mu.Unlock()
}

// ownDelivery counts a publisher's delivery of its own message, which
// pubsub does not trace to raw tracers: at once, as the evaluation's
// tracer counted it (hardening.md §2.9).
func (r *recorder) ownDelivery(seq int) {
	r.ledger.delivered[seq].Add(1)
	r.mu.Lock()
	r.deliveries = append(r.deliveries, delivery{seq: int32(seq)})
	r.mu.Unlock()
}

func (r *recorder) DuplicateMessage(msg *pubsub.Message) {
	if msg.GetTopic() != Topic {
		return
	}
	r.mu.Lock()
	r.duplicates++
	r.mu.Unlock()
}

func (r *recorder) Graft(p peer.ID, topic string) {
	if topic != Topic {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.mesh[p] {
		r.mesh[p] = true
		if _, sybil := r.sybils[p]; sybil {
			r.meshSybils++
		}
	}
}

func (r *recorder) Prune(p peer.ID, topic string) {
	if topic != Topic {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mesh[p] {
		delete(r.mesh, p)
		if _, sybil := r.sybils[p]; sybil {
			r.meshSybils--
		}
	}
}

// meshCounts returns the node's mesh size and how many Sybils are in it.
func (r *recorder) meshCounts() (size, sybils int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mesh), r.meshSybils
}

// The rest of pubsub.RawTracer (v0.17.0 to v0.19.0) is of no interest.

func (r *recorder) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (r *recorder) OnClosedOutboundStream(peer.ID)                       {}
func (r *recorder) Join(string)                                          {}
func (r *recorder) Leave(string)                                         {}
func (r *recorder) ValidateMessage(*pubsub.Message)                      {}
func (r *recorder) RejectMessage(*pubsub.Message, string)                {}
func (r *recorder) ThrottlePeer(peer.ID)                                 {}
func (r *recorder) RecvRPC(*pubsub.RPC)                                  {}
func (r *recorder) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (r *recorder) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (r *recorder) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (r *recorder) UndeliverableMessage(*pubsub.Message)                 {}
