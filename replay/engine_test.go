package replay

import (
	"strings"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// The engine's tests build traces by hand: events at offsets from t0, on
// topic tt, seen by the node selfID, from peers A to D.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	tt     = "t"
	selfID = peer.ID("the-node")
	peerA  = peer.ID("peer-a")
	peerB  = peer.ID("peer-b")
	peerC  = peer.ID("peer-c")
	peerD  = peer.ID("peer-d")
)

// engineParams score every part in topic tt, counters halved (P7 and the
// slow-peer counter × 0.9) every second: P1 0.01 a second in the mesh; P2
// weight 1; P3 weight -1 below 2 deliveries, active after 1 s, window
// 10 ms; P3b and P4 weight -1; P5 weight 1; P6 weight -1 above one peer
// an address; P7 weight -1; slow peer weight -1, writes over 1 s slow.
func engineParams() *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{tt: {
			SkipAtomicValidation: true,
			TopicWeight:          1,
			TimeInMeshWeight:     0.01, TimeInMeshQuantum: time.Second, TimeInMeshCap: 100,
			FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 10,
			MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.5, MeshMessageDeliveriesCap: 10,
			MeshMessageDeliveriesThreshold: 2, MeshMessageDeliveriesWindow: 10 * time.Millisecond,
			MeshMessageDeliveriesActivation: time.Second,
			MeshFailurePenaltyWeight:        -1, MeshFailurePenaltyDecay: 0.5,
			InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
		}},
		AppSpecificWeight:        1,
		IPColocationFactorWeight: -1, IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.9,
		SlowPeerWeight: -1, SlowPeerDecay: 0.9, SlowPeerWriteThreshold: time.Second,
		DecayInterval: time.Second, DecayToZero: 0.01, RetainScore: time.Minute,
	}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

// ms is d milliseconds, to keep the tables short.
func ms(d int) time.Duration { return time.Duration(d) * time.Millisecond }

// traceAt is e at t0+d, as the node selfID traced it.
func traceAt(d time.Duration, typ pb.TraceEvent_Type, e *pb.TraceEvent) Event {
	ts := at(d).UnixNano()
	e.Type, e.PeerID, e.Timestamp = typ.Enum(), []byte(selfID), &ts
	return Event{At: at(d), Trace: e}
}

// extraAt is x at t0+d.
func extraAt(d time.Duration, x Extra) Event {
	x.At = at(d).UnixNano()
	return Event{At: at(d), Extra: &x}
}

// startEv is a recording's start, with the router's timings as the Recorder
// writes them given WithGossipSubParams.
func startEv() Event {
	return extraAt(0, Extra{Kind: KindStart, Self: selfID.String(), Router: timingsOf(pubsub.DefaultGossipSubParams())})
}

func joinEv(d time.Duration) Event {
	return traceAt(d, pb.TraceEvent_JOIN, &pb.TraceEvent{Join: &pb.TraceEvent_Join{Topic: ptr(tt)}})
}

func leaveEv(d time.Duration) Event {
	return traceAt(d, pb.TraceEvent_LEAVE, &pb.TraceEvent{Leave: &pb.TraceEvent_Leave{Topic: ptr(tt)}})
}

func streamEv(d time.Duration, p peer.ID) Event {
	return traceAt(d, pb.TraceEvent_ON_NEW_OUTBOUND_STREAM, &pb.TraceEvent{
		OnNewOutboundStream: &pb.TraceEvent_OnNewOutboundStream{PeerID: []byte(p), Proto: ptr("/meshsub/1.1.0")}})
}

func closedEv(d time.Duration, p peer.ID) Event {
	return traceAt(d, pb.TraceEvent_ON_CLOSED_OUTBOUND_STREAM, &pb.TraceEvent{
		OnClosedOutboundStream: &pb.TraceEvent_OnClosedOutboundStream{PeerID: []byte(p)}})
}

func graftEv(d time.Duration, p peer.ID) Event {
	return traceAt(d, pb.TraceEvent_GRAFT, &pb.TraceEvent{Graft: &pb.TraceEvent_Graft{PeerID: []byte(p), Topic: ptr(tt)}})
}

func pruneEv(d time.Duration, p peer.ID) Event {
	return traceAt(d, pb.TraceEvent_PRUNE, &pb.TraceEvent{Prune: &pb.TraceEvent_Prune{PeerID: []byte(p), Topic: ptr(tt)}})
}

func deliverEv(d time.Duration, p peer.ID, id string) Event {
	return traceAt(d, pb.TraceEvent_DELIVER_MESSAGE, &pb.TraceEvent{DeliverMessage: &pb.TraceEvent_DeliverMessage{
		MessageID: []byte(id), Topic: ptr(tt), ReceivedFrom: []byte(p)}})
}

func duplicateEv(d time.Duration, p peer.ID, id string) Event {
	return traceAt(d, pb.TraceEvent_DUPLICATE_MESSAGE, &pb.TraceEvent{DuplicateMessage: &pb.TraceEvent_DuplicateMessage{
		MessageID: []byte(id), Topic: ptr(tt), ReceivedFrom: []byte(p)}})
}

func rejectEv(d time.Duration, p peer.ID, id, reason string) Event {
	return traceAt(d, pb.TraceEvent_REJECT_MESSAGE, &pb.TraceEvent{RejectMessage: &pb.TraceEvent_RejectMessage{
		MessageID: []byte(id), Topic: ptr(tt), ReceivedFrom: []byte(p), Reason: &reason}})
}

// The RPC events: what the trace keeps of an RPC is its meta.
func recvEv(d time.Duration, p peer.ID, m *pb.TraceEvent_RPCMeta) Event {
	return traceAt(d, pb.TraceEvent_RECV_RPC, &pb.TraceEvent{RecvRPC: &pb.TraceEvent_RecvRPC{ReceivedFrom: []byte(p), Meta: m}})
}

func sendEv(d time.Duration, p peer.ID, m *pb.TraceEvent_RPCMeta) Event {
	return traceAt(d, pb.TraceEvent_SEND_RPC, &pb.TraceEvent{SendRPC: &pb.TraceEvent_SendRPC{SendTo: []byte(p), Meta: m}})
}

func dropEv(d time.Duration, p peer.ID, m *pb.TraceEvent_RPCMeta) Event {
	return traceAt(d, pb.TraceEvent_DROP_RPC, &pb.TraceEvent{DropRPC: &pb.TraceEvent_DropRPC{SendTo: []byte(p), Meta: m}})
}

func graftMeta() *pb.TraceEvent_RPCMeta {
	return &pb.TraceEvent_RPCMeta{Control: &pb.TraceEvent_ControlMeta{Graft: []*pb.TraceEvent_ControlGraftMeta{{Topic: ptr(tt)}}}}
}

func pruneMeta() *pb.TraceEvent_RPCMeta {
	return &pb.TraceEvent_RPCMeta{Control: &pb.TraceEvent_ControlMeta{Prune: []*pb.TraceEvent_ControlPruneMeta{{Topic: ptr(tt)}}}}
}

func iwantMeta(ids ...string) *pb.TraceEvent_RPCMeta {
	var raw [][]byte
	for _, id := range ids {
		raw = append(raw, []byte(id))
	}
	return &pb.TraceEvent_RPCMeta{Control: &pb.TraceEvent_ControlMeta{Iwant: []*pb.TraceEvent_ControlIWantMeta{{MessageIDs: raw}}}}
}

func messagesMeta(ids ...string) *pb.TraceEvent_RPCMeta {
	m := &pb.TraceEvent_RPCMeta{}
	for _, id := range ids {
		m.Messages = append(m.Messages, &pb.TraceEvent_MessageMeta{MessageID: []byte(id), Topic: ptr(tt)})
	}
	return m
}

// The extras a recording adds.
func addrsEv(d time.Duration, p peer.ID, ips ...string) Event {
	return extraAt(d, Extra{Kind: KindAddrs, Peer: p.String(), IPs: ips})
}

func backoffsEv(d time.Duration, p peer.ID, secs ...uint64) Event {
	return extraAt(d, Extra{Kind: KindBackoffs, Peer: p.String(), Backoffs: secs})
}

func appEv(d time.Duration, p peer.ID, v float64) Event {
	return extraAt(d, Extra{Kind: KindApp, Peer: p.String(), Score: v})
}

func ptr[T any](v T) *T { return &v }

// baseEvents start a recording with the topic joined and peers A and B
// connected, each on its own address.
func baseEvents() []Event {
	return []Event{startEv(), joinEv(0), streamEv(0, peerA), addrsEv(0, peerA, "10.0.0.1"), streamEv(0, peerB), addrsEv(0, peerB, "10.0.0.2")}
}

// newReplayer returns a replayer of format f under engineParams (cfg's
// other fields as given), fed evs.
func newReplayer(t *testing.T, f Format, cfg Config, evs ...Event) *Replayer {
	t.Helper()
	if cfg.Params == nil {
		cfg.Params = engineParams()
	}
	r, err := NewReplayer(cfg, f)
	require.NoError(t, err)
	feedAll(t, r, evs...)
	return r
}

func feedAll(t *testing.T, r *Replayer, evs ...Event) {
	t.Helper()
	for i, ev := range evs {
		require.NoError(t, r.Feed(ev), "event %d", i)
	}
}

// settle replays what is held back and moves the replay's clock to t0+d.
func settle(r *Replayer, d time.Duration) {
	r.flush()
	r.advance(at(d))
}

func snapOf(t *testing.T, r *Replayer, p peer.ID) peerscore.Snapshot {
	t.Helper()
	snap, ok := r.scorer.Snapshot(p)
	require.True(t, ok, "the scorer does not know %s", p)
	return snap
}

// TestEngineRules replays each kind of event and reads the counter it
// must move, at a given time.
func TestEngineRules(t *testing.T) {
	topic := func(f func(peerscore.TopicSnapshot) float64) func(peerscore.Snapshot) float64 {
		return func(s peerscore.Snapshot) float64 { return f(s.Topics[tt]) }
	}
	p1 := topic(func(ts peerscore.TopicSnapshot) float64 { return ts.P1 })
	first := topic(func(ts peerscore.TopicSnapshot) float64 { return ts.FirstMessageDeliveries })
	mesh := topic(func(ts peerscore.TopicSnapshot) float64 { return ts.MeshMessageDeliveries })
	failure := topic(func(ts peerscore.TopicSnapshot) float64 { return ts.MeshFailurePenalty })
	invalid := topic(func(ts peerscore.TopicSnapshot) float64 { return ts.InvalidMessageDeliveries })
	p7 := func(s peerscore.Snapshot) float64 { return s.BehaviourPenalty }
	slow := func(s peerscore.Snapshot) float64 { return s.SlowPeerCounter }
	p5 := func(s peerscore.Snapshot) float64 { return s.P5 }
	p6 := func(s peerscore.Snapshot) float64 { return s.P6 }
	connected := func(s peerscore.Snapshot) float64 { return map[bool]float64{true: 1}[s.Connected] }

	cases := []struct {
		name   string
		events []Event
		read   time.Duration // when the counter is read
		peer   peer.ID
		field  func(peerscore.Snapshot) float64
		want   float64
	}{
		// 3 s in the mesh at 3 s, the last refresh: 3 quanta.
		{"GRAFT then time: P1", []Event{graftEv(0, peerA)}, ms(3500), peerA, p1, 0.03},
		{"a GRAFT 1 s later: one quantum less", []Event{graftEv(ms(1000), peerA)}, ms(3500), peerA, p1, 0.02},
		{"PRUNE with P3 active and no deliveries: P3b", []Event{graftEv(ms(100), peerA), pruneEv(ms(2500), peerA)}, ms(2700), peerA, failure, 4},
		{"PRUNE before P3's activation: no P3b", []Event{graftEv(ms(100), peerA), pruneEv(ms(900), peerA)}, ms(950), peerA, failure, 0},
		{"DELIVER: P2", []Event{deliverEv(ms(100), peerA, "m1")}, ms(500), peerA, first, 1},
		{"REJECT, invalid signature: P4", []Event{rejectEv(ms(100), peerA, "m1", pubsub.RejectInvalidSignature)}, ms(500), peerA, invalid, 1},
		{"REJECT, validation failed: P4", []Event{rejectEv(ms(100), peerA, "m1", pubsub.RejectValidationFailed)}, ms(500), peerA, invalid, 1},
		{"REJECT, validation ignored: no P4", []Event{rejectEv(ms(100), peerA, "m1", pubsub.RejectValidationIgnored)}, ms(500), peerA, invalid, 0},
		{"a copy from a mesh peer within the window: P3's counter",
			[]Event{graftEv(0, peerB), deliverEv(ms(100), peerA, "m1"), duplicateEv(ms(105), peerB, "m1")}, ms(500), peerB, mesh, 1},
		{"a copy after the window: nothing",
			[]Event{graftEv(0, peerB), deliverEv(ms(100), peerA, "m1"), duplicateEv(ms(150), peerB, "m1")}, ms(500), peerB, mesh, 0},
		{"the copy of an invalid message: P4",
			[]Event{rejectEv(ms(100), peerA, "m1", pubsub.RejectValidationFailed), duplicateEv(ms(150), peerB, "m1")}, ms(500), peerB, invalid, 1},
		// Were the node's own delivery replayed, B's copy would come
		// after a valid delivery and count.
		{"the node's own messages are ignored",
			[]Event{graftEv(0, peerB), deliverEv(ms(100), selfID, "m1"), duplicateEv(ms(105), peerB, "m1")}, ms(500), peerB, mesh, 0},
		{"the node's own message as a first delivery is no one's", []Event{deliverEv(ms(100), selfID, "m1")}, ms(500), peerA, first, 0},
		{"IWANT sent, no message: broken promise, P7", []Event{sendEv(ms(100), peerA, iwantMeta("m1"))}, ms(5000), peerA, p7, 0.9},
		{"IWANT answered (validate extra): kept",
			[]Event{sendEv(ms(100), peerA, iwantMeta("m1")), extraAt(ms(200), Extra{Kind: KindValidate, Peer: peerA.String(), ID: []byte("m1"), Topic: tt})},
			ms(5000), peerA, p7, 0},
		{"IWANT then the peer throttled: voided",
			[]Event{sendEv(ms(100), peerA, iwantMeta("m1")), extraAt(ms(200), Extra{Kind: KindThrottle, Peer: peerA.String()})}, ms(5000), peerA, p7, 0},
		{"IWANT dropped: no promise", []Event{dropEv(ms(100), peerA, iwantMeta("m1"))}, ms(5000), peerA, p7, 0},
		// The default PruneBackoff is a minute; a GRAFT past the flood
		// threshold (10 s) costs 1.
		{"PRUNE sent, GRAFT received in its backoff: P7",
			[]Event{sendEv(ms(100), peerA, pruneMeta()), recvEv(ms(15_000), peerA, graftMeta())}, ms(15_500), peerA, p7, 1},
		{"PRUNE sent with a 5 s backoff (extra), GRAFT after it: nothing",
			[]Event{sendEv(ms(100), peerA, pruneMeta()), backoffsEv(ms(100), peerA, 5), recvEv(ms(15_000), peerA, graftMeta())}, ms(15_500), peerA, p7, 0},
		{"PRUNE sent with a 20 s backoff (extra), GRAFT in it: P7",
			[]Event{sendEv(ms(100), peerA, pruneMeta()), backoffsEv(ms(100), peerA, 20), recvEv(ms(15_000), peerA, graftMeta())}, ms(15_500), peerA, p7, 1},
		{"LEAVE: GRAFTs are no longer judged",
			[]Event{leaveEv(ms(50)), sendEv(ms(100), peerA, pruneMeta()), recvEv(ms(15_000), peerA, graftMeta())}, ms(15_500), peerA, p7, 0},
		{"DROP_RPC of two messages: slow peer", []Event{dropEv(ms(100), peerA, messagesMeta("m1", "m2"))}, ms(500), peerA, slow, 2},
		{"a slow write (extra): slow peer", []Event{extraAt(ms(100), Extra{Kind: KindWrite, Peer: peerA.String(), Took: 2 * time.Second})}, ms(500), peerA, slow, 1},
		{"a fast write: nothing", []Event{extraAt(ms(100), Extra{Kind: KindWrite, Peer: peerA.String(), Took: time.Second / 2})}, ms(500), peerA, slow, 0},
		{"KindApp: P5", []Event{appEv(ms(100), peerA, -3)}, ms(500), peerA, p5, -3},
		{"KindApp back to 0", []Event{appEv(ms(100), peerA, -3), appEv(ms(200), peerA, 0)}, ms(500), peerA, p5, 0},
		{"ON_CLOSED_OUTBOUND_STREAM: retained, not connected", []Event{closedEv(ms(100), peerA)}, ms(500), peerA, connected, 0},
		// The live Scorer reads a new peer's addresses as its stream
		// opens; the recording writes them just after the stream's
		// event. Replayed in the wrong order, P6 would wait for the
		// minute's refresh.
		{"colocated peers: P6 from the stream's opening",
			[]Event{streamEv(ms(100), peerC), addrsEv(ms(100), peerC, "1.2.3.4"), streamEv(ms(200), peerD), addrsEv(ms(200), peerD, "1.2.3.4")},
			ms(500), peerC, p6, -1},
		{"addresses that change: P6 at the minute's refresh",
			[]Event{addrsEv(ms(100), peerB, "10.0.0.1")}, ms(59_000), peerA, p6, 0},
		{"... and after it", []Event{addrsEv(ms(100), peerB, "10.0.0.1")}, ms(61_000), peerA, p6, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newReplayer(t, FormatRecording, Config{}, append(baseEvents(), c.events...)...)
			settle(r, c.read)
			require.InDelta(t, c.want, c.field(snapOf(t, r, c.peer)), 1e-12)
		})
	}
}

// rpcTap records the RPCs the replay hands the Scorer's tracer.
type rpcTap struct {
	pubsub.RawTracer
	recv, sent []*pubsub.RPC
}

func (t *rpcTap) RecvRPC(rpc *pubsub.RPC) { t.recv = append(t.recv, rpc); t.RawTracer.RecvRPC(rpc) }
func (t *rpcTap) SendRPC(rpc *pubsub.RPC, p peer.ID) {
	t.sent = append(t.sent, rpc)
	t.RawTracer.SendRPC(rpc, p)
}

// TestEngineHoldsRPCs: an RPC event reaches the Scorer only once its
// extras are known (the backoffs of its PRUNEs, an extensions message),
// and with them.
func TestEngineHoldsRPCs(t *testing.T) {
	r := newReplayer(t, FormatRecording, Config{}, baseEvents()...)
	tap := &rpcTap{RawTracer: r.tracer}
	r.tracer = tap
	prunes := &pb.TraceEvent_RPCMeta{Control: &pb.TraceEvent_ControlMeta{Prune: []*pb.TraceEvent_ControlPruneMeta{{Topic: ptr(tt)}, {Topic: ptr("u")}}}}
	feedAll(t, r, recvEv(ms(100), peerA, prunes))
	require.Empty(t, tap.recv, "the RPC reached the Scorer before its extras")
	feedAll(t, r,
		extraAt(ms(100), Extra{Kind: KindBackoffs, Peer: peerA.String(), Backoffs: []uint64{30, 0}}),
		extraAt(ms(100), Extra{Kind: KindExtensions, Peer: peerA.String()}))
	require.Empty(t, tap.recv)
	feedAll(t, r, sendEv(ms(200), peerB, pruneMeta()))
	require.Len(t, tap.recv, 1, "the next event flushes the RPC")
	ctl := tap.recv[0].GetControl()
	require.Equal(t, peerA, tap.recv[0].From())
	require.Len(t, ctl.GetPrune(), 2)
	require.Equal(t, uint64(30), ctl.GetPrune()[0].GetBackoff())
	require.Nil(t, ctl.GetPrune()[1].Backoff, "a backoff of 0 is the router's default")
	require.NotNil(t, ctl.GetExtensions())

	r.Finish()
	require.Len(t, tap.sent, 1, "Finish flushes the last RPC")
	require.Nil(t, tap.sent[0].GetControl().GetExtensions())
	require.Equal(t, int64(1), r.info.Extras[KindBackoffs])
	require.Equal(t, int64(1), r.info.Extras[KindExtensions])
}

// TestEngineScoresCheck: a KindScores extra compares the live scores with
// the replay's, to 1e-9 relative.
func TestEngineScoresCheck(t *testing.T) {
	evs := append(baseEvents(), appEv(ms(100), peerA, 2))
	evs = append(evs, extraAt(ms(200), Extra{Kind: KindScores, Scores: map[string]float64{
		peerA.String(): 2 * (1 + 1e-12), // the replay's 2, to 1e-9
		peerB.String(): 1e-10,           // the replay's 0, within 1e-9 absolute
		"0OIl":         5,               // not base58: skipped
	}}))
	evs = append(evs, extraAt(ms(300), Extra{Kind: KindScores, Scores: map[string]float64{peerA.String(): 0}}))
	evs = append(evs, extraAt(ms(400), Extra{Kind: KindScores, Scores: map[string]float64{
		peerB.String(): -3.5,
		peerC.String(): 1e-8, // unknown to the replay: 0
	}}))
	r := newReplayer(t, FormatRecording, Config{}, evs...)
	out := r.Finish()
	require.NotNil(t, out.Check)
	c := *out.Check
	require.Equal(t, int64(3), c.Checkpoints)
	require.Equal(t, int64(5), c.Scores)
	require.Equal(t, int64(4), c.NonZero)
	require.Equal(t, int64(3), c.Differ)
	require.InDelta(t, 3.5, c.MaxDiff, 1e-12)
	require.True(t, strings.HasPrefix(c.Example, peerA.String()+": live 0, replayed 2 at "), c.Example)

	// Without KindScores, no check.
	require.Nil(t, newReplayer(t, FormatRecording, Config{}, baseEvents()...).Finish().Check)
}

func TestEngineErrors(t *testing.T) {
	r := newReplayer(t, FormatRecording, Config{}, baseEvents()...)
	err := r.Feed(Event{At: at(time.Second)})
	require.ErrorContains(t, err, "neither a trace event nor an extra")

	_, err = NewReplayer(Config{}, FormatJSON)
	require.ErrorContains(t, err, "no parameters")
	bad := engineParams()
	bad.DecayInterval = -1
	_, err = NewReplayer(Config{Params: bad}, FormatJSON)
	require.Error(t, err)
	_, err = NewReplayer(Config{Params: engineParams(), Thresholds: &peerscore.Thresholds{GossipThreshold: 1}}, FormatJSON)
	require.Error(t, err, "a positive gossip threshold")

	// A replay of nothing finds nothing.
	out := newReplayer(t, FormatJSON, Config{}).Finish()
	require.Empty(t, out.Peers)
	require.Equal(t, FormatJSON, out.Info.Format)
}

// TestEngineClock: the replay runs on the trace's clock, which never goes
// back, and samples the scores every SnapshotEvery.
func TestEngineClock(t *testing.T) {
	r := newReplayer(t, FormatRecording, Config{SnapshotEvery: 2 * time.Second}, append(baseEvents(),
		appEv(ms(10_000), peerA, 1),
		graftEv(ms(5_000), peerA), // stamped before the event before it: replayed at 10 s
	)...)
	require.Equal(t, at(10*time.Second), r.clock.Now())
	settle(r, ms(13_500))
	// In the mesh from 10 s: 3 quanta at 13 s (from 5 s it would be 8).
	require.InDelta(t, 0.03, snapOf(t, r, peerA).Topics[tt].P1, 1e-12)
	out := r.Finish()
	require.Equal(t, 13500*time.Millisecond, out.Info.Span)
	require.Equal(t, at(0), out.Info.Start)
	var ats []time.Duration
	for _, b := range out.Band {
		ats = append(ats, b.At)
		require.Equal(t, 2, b.Peers)
	}
	require.Equal(t, []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second, 8 * time.Second, 10 * time.Second, 12 * time.Second, 13500 * time.Millisecond}, ats)
	require.Equal(t, int64(len(baseEvents())+2), out.Info.Events)
}

// TestEngineSelf: the node is the start extra's Self in a recording, and
// the first trace event's PeerID in pubsub's traces.
func TestEngineSelf(t *testing.T) {
	r := newReplayer(t, FormatRecording, Config{}, baseEvents()...)
	require.Equal(t, selfID, r.self)

	r = newReplayer(t, FormatProto, Config{}, joinEv(0), streamEv(0, peerA))
	require.Equal(t, selfID, r.self)
	require.Equal(t, at(0), r.info.Start)
}
