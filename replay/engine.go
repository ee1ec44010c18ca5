package replay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/mr-tron/base58"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/pubsubrpc"
)

// Config is what a replay scores with.
type Config struct {
	// Params and Thresholds are the parameters under test.
	// Params.AppSpecificScore is replaced: P5 comes from the recording.
	Params     *peerscore.Params
	Thresholds *peerscore.Thresholds
	// GossipSub are the router's parameters, whose timings the rebuilt
	// router penalties follow (zero: the recording's RouterTimings if it
	// has them, else pubsub's defaults).
	GossipSub pubsub.GossipSubParams
	// SpecP3 scores P3 as the specification reads it (peerscore.WithSpecP3).
	SpecP3 bool
	// SnapshotEvery is how often, in the trace's time, the scores are
	// sampled for the report (zero: every 5 s).
	SnapshotEvery time.Duration
}

// DefaultSnapshotEvery is Config.SnapshotEvery's default.
const DefaultSnapshotEvery = 5 * time.Second

// Replayer replays one trace into one Scorer, on the trace's clock: feed
// it the events in order with Feed, then call Finish.
type Replayer struct {
	cfg    Config
	scorer *peerscore.Scorer
	tracer pubsub.RawTracer
	clock  *peerscore.ManualClock
	host   *replayHost
	app    appScores
	self   peer.ID
	format Format
	// timingsGiven: Config.GossipSub was set, and the recording's
	// RouterTimings do not override it.
	timingsGiven bool

	pending  *pendingRPC // an RPC or new-stream event, held until its extras are known
	nextSnap time.Time
	obs      *observer
	info     Info
}

// pendingRPC is an RPC event of the trace, and what the recording adds to
// it (the backoffs of its PRUNEs, an extensions message); or a new
// stream's event, whose peer's addresses the recording writes right
// after it and the live Scorer read as the stream opened.
type pendingRPC struct {
	kind       pb.TraceEvent_Type
	peer       peer.ID
	proto      string // a new stream's protocol
	meta       *pb.TraceEvent_RPCMeta
	backoffs   []uint64
	extensions bool
}

// NewReplayer returns a replayer of a source of format f under cfg.
func NewReplayer(cfg Config, f Format) (*Replayer, error) {
	if cfg.Params == nil {
		return nil, errors.New("peerscore/replay: no parameters")
	}
	// P5 comes from the recording: the parameters' own function, which
	// a parameter file does not carry, is not needed.
	params := *cfg.Params
	params.AppSpecificScore = func(peer.ID) float64 { return 0 }
	if err := params.Validate(); err != nil {
		return nil, err
	}
	cfg.Params = &params
	if cfg.Thresholds != nil {
		if err := cfg.Thresholds.Validate(); err != nil {
			return nil, err
		}
	}
	given := cfg.GossipSub.HeartbeatInterval != 0
	if !given {
		cfg.GossipSub = pubsub.DefaultGossipSubParams()
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = DefaultSnapshotEvery
	}
	r := &Replayer{cfg: cfg, format: f, host: newReplayHost(), app: appScores{m: map[peer.ID]float64{}}, timingsGiven: given}
	r.info.Format = f
	r.info.Trace = map[string]int64{}
	return r, nil
}

// start builds the Scorer at the start of the recording (its start extra)
// or, for pubsub's own traces, at the first event.
func (r *Replayer) start(ev Event) error {
	at := ev.At
	if ev.Extra != nil && ev.Extra.Kind == KindStart {
		if id, err := decodePeer(ev.Extra.Self); err == nil {
			r.self = id
		}
		if t := ev.Extra.Router; t != nil && !r.timingsGiven {
			t.apply(&r.cfg.GossipSub)
			r.timingsGiven = true
		}
	} else {
		r.info.inferred(inferredStart)
	}
	if !r.timingsGiven {
		r.info.inferred(inferredTimings)
	}
	params := *r.cfg.Params
	params.AppSpecificScore = r.app.get
	r.clock = peerscore.NewManualClock(at)
	opts := []peerscore.Option{
		peerscore.WithClock(r.clock),
		peerscore.WithHost(r.host),
		peerscore.WithGossipSubParams(r.cfg.GossipSub),
		peerscore.WithRouterCheck(0),
		peerscore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	if r.cfg.Thresholds != nil {
		opts = append(opts, peerscore.WithThresholds(r.cfg.Thresholds))
	}
	if r.cfg.SpecP3 {
		opts = append(opts, peerscore.WithSpecP3())
	}
	s, err := peerscore.New(&params, opts...)
	if err != nil {
		return err
	}
	r.scorer, r.tracer = s, s.Tracer()
	r.nextSnap = at.Add(r.cfg.SnapshotEvery)
	r.obs = newObserver(r.cfg.Thresholds, at)
	r.info.Start = at
	return nil
}

// Feed replays one event. Events must come in the trace's order; their
// time never goes back (an event stamped earlier than the one before it
// is replayed at the time reached).
func (r *Replayer) Feed(ev Event) error {
	if r.scorer == nil {
		if err := r.start(ev); err != nil {
			return err
		}
	}
	r.info.Events++
	if r.self == "" && ev.Trace != nil {
		// pubsub's trace: every event names the node that traced it. The
		// first may come after extras (a trace merged with a directory of
		// them).
		r.self = peer.ID(ev.Trace.GetPeerID())
	}
	if x := ev.Extra; x != nil && r.pending != nil && r.pending.kind == pb.TraceEvent_ON_NEW_OUTBOUND_STREAM && x.Kind == KindAddrs {
		r.extra(x)
		r.flush()
		return nil
	}
	if x := ev.Extra; x != nil && (x.Kind == KindBackoffs || x.Kind == KindExtensions) && r.pending != nil {
		r.pending.backoffs = append(r.pending.backoffs, x.Backoffs...)
		r.pending.extensions = r.pending.extensions || x.Kind == KindExtensions
		r.info.count(x.Kind)
		return nil
	}
	r.flush()
	r.advance(ev.At)
	if ev.Extra != nil {
		r.extra(ev.Extra)
		return nil
	}
	if ev.Trace == nil {
		return fmt.Errorf("peerscore/replay: an event with neither a trace event nor an extra, at %v", ev.At)
	}
	r.trace(ev.Trace)
	return nil
}

// Finish replays what is held back and takes the last sample; it returns
// what the replay found.
func (r *Replayer) Finish() *Outcome {
	if r.scorer == nil {
		return &Outcome{Info: r.info}
	}
	r.flush()
	end := r.clock.Now()
	// The last sample, unless one was taken at that instant already (the
	// trace ended on a snapshot's).
	if end.After(r.obs.last) || end.Equal(r.info.Start) {
		r.obs.sample(end, r.scorer)
	}
	r.info.End, r.info.Span = end, end.Sub(r.info.Start)
	return r.obs.outcome(r.info)
}

// advance moves the clock to t, sampling the scores at every snapshot
// instant on the way.
func (r *Replayer) advance(t time.Time) {
	for !r.nextSnap.After(t) {
		r.clock.Advance(r.nextSnap)
		r.obs.sample(r.nextSnap, r.scorer)
		r.nextSnap = r.nextSnap.Add(r.cfg.SnapshotEvery)
	}
	r.clock.Advance(t)
}

// flush replays the RPC event held back, with what the recording added.
func (r *Replayer) flush() {
	p := r.pending
	if p == nil {
		return
	}
	r.pending = nil
	if p.kind == pb.TraceEvent_ON_NEW_OUTBOUND_STREAM {
		r.tracer.OnNewOutboundStream(p.peer, protocolOf(p.proto))
		return
	}
	rpc := pubsubrpc.New(rpcFromMeta(p.meta, p.backoffs, p.extensions), p.peer)
	if len(p.backoffs) == 0 && hasPrunes(p.meta) {
		r.info.inferred(inferredBackoff)
	}
	switch p.kind {
	case pb.TraceEvent_RECV_RPC:
		r.tracer.RecvRPC(rpc)
	case pb.TraceEvent_SEND_RPC:
		r.tracer.SendRPC(rpc, p.peer)
	case pb.TraceEvent_DROP_RPC:
		r.tracer.DropRPC(rpc, p.peer)
	}
}

// trace replays one of pubsub's trace events.
func (r *Replayer) trace(e *pb.TraceEvent) {
	r.info.Trace[e.GetType().String()]++
	switch e.GetType() {
	case pb.TraceEvent_PUBLISH_MESSAGE:
		// Our own messages: the router does not show them to a scorer.
	case pb.TraceEvent_REJECT_MESSAGE:
		m := e.GetRejectMessage()
		r.message(m.GetMessageID(), m.GetTopic(), m.GetReceivedFrom(), func(msg *pubsub.Message) {
			r.tracer.RejectMessage(msg, m.GetReason())
		})
	case pb.TraceEvent_DUPLICATE_MESSAGE:
		m := e.GetDuplicateMessage()
		r.obs.relayed[peer.ID(m.GetReceivedFrom())] = struct{}{}
		r.message(m.GetMessageID(), m.GetTopic(), m.GetReceivedFrom(), r.tracer.DuplicateMessage)
	case pb.TraceEvent_DELIVER_MESSAGE:
		m := e.GetDeliverMessage()
		r.obs.relayed[peer.ID(m.GetReceivedFrom())] = struct{}{}
		r.message(m.GetMessageID(), m.GetTopic(), m.GetReceivedFrom(), r.tracer.DeliverMessage)
	case pb.TraceEvent_ON_NEW_OUTBOUND_STREAM:
		m := e.GetOnNewOutboundStream()
		r.pending = &pendingRPC{kind: e.GetType(), peer: peer.ID(m.GetPeerID()), proto: m.GetProto()}
	case pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM:
		r.tracer.OnClosedOutboundStream(peer.ID(e.GetOnClosedOutboundStream().GetPeerID()))
	case pb.TraceEvent_RECV_RPC:
		m := e.GetRecvRPC()
		r.pending = &pendingRPC{kind: e.GetType(), peer: peer.ID(m.GetReceivedFrom()), meta: m.GetMeta()}
	case pb.TraceEvent_SEND_RPC:
		m := e.GetSendRPC()
		r.pending = &pendingRPC{kind: e.GetType(), peer: peer.ID(m.GetSendTo()), meta: m.GetMeta()}
	case pb.TraceEvent_DROP_RPC:
		m := e.GetDropRPC()
		r.pending = &pendingRPC{kind: e.GetType(), peer: peer.ID(m.GetSendTo()), meta: m.GetMeta()}
	case pb.TraceEvent_JOIN:
		r.tracer.Join(e.GetJoin().GetTopic())
	case pb.TraceEvent_LEAVE:
		r.tracer.Leave(e.GetLeave().GetTopic())
	case pb.TraceEvent_GRAFT:
		r.tracer.Graft(peer.ID(e.GetGraft().GetPeerID()), e.GetGraft().GetTopic())
	case pb.TraceEvent_PRUNE:
		r.tracer.Prune(peer.ID(e.GetPrune().GetPeerID()), e.GetPrune().GetTopic())
	}
}

// message replays one message event, unless the node itself sent the
// message (the router shows those to no scorer). A message seen first in
// the trace opens its delivery record there: pubsub's trace has no
// validation event, so the record opens at the first copy, delivery or
// rejection rather than when validation began.
func (r *Replayer) message(id []byte, topic string, from []byte, fn func(*pubsub.Message)) {
	sender := peer.ID(from)
	if sender == r.self {
		return
	}
	if r.format != FormatRecording {
		r.info.inferred(inferredValidation)
	}
	t := topic
	fn(&pubsub.Message{Message: &pb.Message{Topic: &t}, ID: string(id), ReceivedFrom: sender})
}

// extra replays what a recording adds.
func (r *Replayer) extra(x *Extra) {
	r.info.count(x.Kind)
	p, _ := decodePeer(x.Peer)
	switch x.Kind {
	case KindAddrs:
		r.host.set(p, x.IPs)
	case KindApp:
		r.app.set(p, x.Score)
	case KindValidate:
		if p != r.self {
			t := x.Topic
			r.tracer.ValidateMessage(&pubsub.Message{Message: &pb.Message{Topic: &t}, ID: string(x.ID), ReceivedFrom: p})
		}
	case KindThrottle:
		r.tracer.ThrottlePeer(p)
	case KindWrite:
		if w, ok := r.tracer.(interface {
			SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration)
		}); ok {
			w.SendRPCCompleted(nil, p, x.Took)
		}
	case KindScores:
		r.obs.check(x, r.scorer)
	}
}

// appScores are the application's scores of its peers as the recording
// gives them: P5.
type appScores struct {
	mu sync.Mutex
	m  map[peer.ID]float64
}

func (a *appScores) get(p peer.ID) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[p]
}

func (a *appScores) set(p peer.ID, v float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v == 0 {
		delete(a.m, p)
		return
	}
	a.m[p] = v
}

// decodePeer reads a peer ID as peer.ID's String writes it (base58), with
// no check that it is a well-formed multihash: what a recording holds is
// what the router traced.
func decodePeer(s string) (peer.ID, error) {
	b, err := base58.Decode(s)
	return peer.ID(b), err
}
