package peerscore_test

// FuzzEvents: an event-sequence fuzzer. The fuzz input is decoded into a
// sequence of tracer events (every pubsub.RawTracer method, the router-facing
// ones included), AddPenalty, SetTopicParams (valid and invalid), Refresh,
// address changes, Start/Close of the background loop and clock advances,
// over five peers (one with the empty ID), three topics (two scored, one
// not, which SetTopicParams may start scoring) and a small pool of message
// IDs and addresses. Everything runs inside a synctest bubble, so time is
// fake and a case is deterministic (but for the one ID of an IWANT the
// scorer picks at random, as the router does). After every step the whole state is
// checked against invariants (fuzzEnv.check); at the end every peer
// disconnects, time passes beyond SeenMsgTTL and RetainScore, and nothing
// may be left.
//
// Input format (fuzzNewEnv, fuzzEnv.step): byte 0 picks the parameter variant, byte 1 holds
// option flags, then each event is an opcode byte followed by its argument
// bytes. Running out of bytes ends the sequence (missing arguments read as 0).
//
// Longer runs:
//
//	go test -run '^$' -fuzz '^FuzzEvents$' -fuzztime 10m .
//
// The seed corpus (f.Add below and testdata/fuzz/FuzzEvents) runs as part
// of the ordinary go test.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

// fuzzBytes reads the fuzz input; past its end it reads zeros.
type fuzzBytes struct{ b []byte }

func (r *fuzzBytes) more() bool { return len(r.b) > 0 }

func (r *fuzzBytes) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// n reads one byte as an index below k.
func (r *fuzzBytes) n(k int) int { return int(r.u8()) % k }

func (r *fuzzBytes) u64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(r.u8())
	}
	return v
}

// The world of an event fuzz case.
var (
	fuzzPeers  = []peer.ID{"p0", "p1", "p2", "p3", ""}
	fuzzTopics = []string{"t0", "t1", "u"} // "u" is not scored until SetTopicParams says so
	// fuzzSetTopics are the topics SetTopicParams is tried on.
	fuzzSetTopics = []string{"t0", "t1", "u", "t-new"}
	// fuzzMsgs are the messages of a case, replayed through tracegen's
	// apply. Message 5 shares its ID with message 0 but not its topic;
	// message 6 has no ID, so the scorer computes it (from From and Seqno:
	// "p2" + "6"), unless the fuzz options install a WithMsgIDFn that
	// refuses it.
	fuzzMsgs = []traceMsg{
		{topic: 0, from: 0, id: "m0"}, {topic: 0, from: 1, id: "m1"}, {topic: 1, from: 2, id: "m2"},
		{topic: 1, from: 3, id: "m3"}, {topic: 2, from: 0, id: "m4"}, {topic: 1, from: 1, id: "m0"},
		{topic: 0, from: 2, id: ""}, {topic: 0, from: 4, id: "m7"},
	}
	fuzzAdvances = []time.Duration{0, time.Millisecond, 5 * time.Millisecond, time.Second, 10 * time.Second,
		2 * time.Minute, time.Hour}
	fuzzCounts    = []int{-5, -1, 0, 1, 2, 3, 100, math.MaxInt32, math.MaxInt, math.MinInt}
	fuzzIPs       = []string{"1.2.3.4", "5.6.7.8", "10.0.0.1", "2001:db8::1", "2001:db8::", "not-an-ip", ""}
	fuzzRPCTopics = []string{"t0", "t1", "u", "", "elsewhere"} // index len(fuzzRPCTopics) means a nil TopicID
	fuzzRPCIDs    = []string{"m0", "m1", "m2", "m4", "p26", "", "never"}
	fuzzBackoffs  = []uint64{0, 1, 10, 60, 3600, 9223372035, math.MaxUint64} // index len(fuzzBackoffs) means unset
)

// Opcodes of the event fuzzer.
const (
	fuzzConnect    = iota // peer
	fuzzDisconnect        // peer
	fuzzGraft             // peer, topic
	fuzzPrune             // peer, topic
	fuzzValidate          // msg, peer
	fuzzDeliver           // msg, peer
	fuzzReject            // msg, peer, reason
	fuzzDuplicate         // msg, peer
	fuzzPenalty           // peer, count
	fuzzSetIPs            // peer, address mask (bit 7: list the first address twice)
	fuzzRefresh           //
	fuzzAdvance           // advance
	fuzzSetTopic          // topic, variant
	fuzzRecvRPC           // sender, rpc
	fuzzSendRPC           // peer, rpc
	fuzzDropRPC           // peer, rpc
	fuzzThrottle          // peer
	fuzzJoinLeave         // topic, join?
	fuzzMalformed         // kind, event, peer, reason
	fuzzLoop              // (starts the loop, or closes it if running)
	fuzzOddRPC            // which
	fuzzNumOps
)

var fuzzOpNames = [fuzzNumOps]string{"connect", "disconnect", "graft", "prune", "validate", "deliver", "reject",
	"duplicate", "penalty", "setIPs", "refresh", "advance", "setTopic", "recvRPC", "sendRPC", "dropRPC",
	"throttle", "joinLeave", "malformed", "loop", "oddRPC"}

// Option flags (byte 1 of the input).
const (
	fuzzOptSmallCap          = 1 << iota // WithMaxDeliveryRecords(3)
	fuzzOptNoRouter                      // WithoutRouterPenalties
	fuzzOptFastRouter                    // WithGossipSubParams with short router timings
	fuzzOptMsgIDFn                       // a WithMsgIDFn that gives message 6 no ID
	fuzzOptStartLoop                     // Start at once
	fuzzOptInspect                       // WithInspect, checking every snapshot it is handed
	fuzzOptAppNegative                   // every variant's P5 is shifted down by 10 (more retention)
	fuzzOptExtremeThresholds             // metrics and threshold events at thresholds of ±MaxFloat64 and ±1e308
)

// fuzzThresholds are the case's thresholds, which its metrics and threshold
// events read from the Scorer.
func fuzzThresholds(opts byte) *peerscore.Thresholds {
	if opts&fuzzOptExtremeThresholds != 0 {
		return &peerscore.Thresholds{
			GossipThreshold: -1e308, PublishThreshold: -math.MaxFloat64, GraylistThreshold: -math.MaxFloat64,
			AcceptPXThreshold: math.MaxFloat64, OpportunisticGraftThreshold: 1e308,
		}
	}
	return &peerscore.Thresholds{
		GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80,
		AcceptPXThreshold: 100, OpportunisticGraftThreshold: 1,
	}
}

// fuzzEnv is one running event fuzz case: the scorer, and a model of what it
// must know.
type fuzzEnv struct {
	t          *testing.T
	s          *peerscore.Scorer
	tr         *trace
	params     *peerscore.Params
	maxRecords int
	timings    pubsub.GossipSubParams

	connected map[peer.ID]bool
	retained  map[peer.ID]bool                 // disconnected with a score <= 0, maybe forgotten since
	topics    map[string]peerscore.TopicParams // scored topics and their current parameters
	penalties map[peerscore.PenaltyReason]uint64

	loopStarted, loopClosed bool
	inspectBad              atomic.Value // string: the first bad snapshot or event a loop callback saw

	metrics *prometheus.Registry // the Scorer's metrics.Collector, gathered at every check

	log []string
}

// fuzzNewEnv builds the case's scorer from the first two bytes of the input.
// It must run inside the bubble.
func fuzzNewEnv(t *testing.T, r *fuzzBytes) *fuzzEnv {
	variant := r.n(len(fuzzVariants))
	opts := r.u8()
	shift := 0.0
	if opts&fuzzOptAppNegative != 0 {
		shift = -10
	}
	e := &fuzzEnv{
		t:          t,
		params:     fuzzVariants[variant].params(shift),
		maxRecords: peerscore.DefaultMaxDeliveryRecordsForTest,
		timings:    pubsub.DefaultGossipSubParams(),
		connected:  map[peer.ID]bool{},
		retained:   map[peer.ID]bool{},
		topics:     map[string]peerscore.TopicParams{},
		penalties:  map[peerscore.PenaltyReason]uint64{},
		tr:         &trace{peers: fuzzPeers, topics: fuzzTopics, msgs: fuzzMsgs},
	}
	e.logf("variant %s, options %#x", fuzzVariants[variant].name, opts)
	for name, tp := range e.params.Topics {
		e.topics[name] = *tp
	}
	var options []peerscore.Option
	if opts&fuzzOptSmallCap != 0 {
		e.maxRecords = 3
		options = append(options, peerscore.WithMaxDeliveryRecords(3))
	}
	if opts&fuzzOptNoRouter != 0 {
		options = append(options, peerscore.WithoutRouterPenalties())
	}
	if opts&fuzzOptFastRouter != 0 {
		e.timings.HeartbeatInterval = 100 * time.Millisecond
		e.timings.IWantFollowupTime = 500 * time.Millisecond
		e.timings.PruneBackoff = 5 * time.Second
		e.timings.GraftFloodThreshold = time.Second
		options = append(options, peerscore.WithGossipSubParams(e.timings))
	}
	if opts&fuzzOptMsgIDFn != 0 {
		options = append(options, peerscore.WithMsgIDFn(func(m *pb.Message) string {
			if string(m.GetSeqno()) == "6" {
				return ""
			}
			return pubsub.DefaultMsgIdFn(m)
		}))
	}
	if opts&fuzzOptInspect != 0 {
		options = append(options, peerscore.WithInspect(func(snaps map[peer.ID]peerscore.Snapshot) {
			for p, snap := range snaps {
				if math.IsNaN(snap.Score) {
					e.inspectBad.CompareAndSwap(nil, fmt.Sprintf("inspect: peer %q: NaN score: %+v", p, snap))
				}
			}
		}, 700*time.Millisecond))
		options = append(options, peerscore.WithThresholdEvents(func(ev peerscore.ThresholdEvent) {
			if math.IsNaN(ev.Old) || math.IsNaN(ev.New) || math.IsNaN(ev.ReasonValue) || ev.Old == ev.New {
				e.inspectBad.CompareAndSwap(nil, fmt.Sprintf("threshold event: %+v", ev))
			}
		}))
	}
	// The thresholds, always: the metrics read them from the Scorer, as does
	// the router in any real deployment.
	options = append(options, peerscore.WithThresholds(fuzzThresholds(opts)))
	s, err := peerscore.New(e.params, options...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.s = s
	m, err := metrics.New(s)
	if err != nil {
		t.Fatalf("metrics.New: %v", err)
	}
	e.metrics = prometheus.NewPedanticRegistry()
	e.metrics.MustRegister(m)
	if opts&fuzzOptStartLoop != 0 {
		e.startLoop()
	}
	return e
}

func (e *fuzzEnv) logf(format string, args ...any) {
	for i, a := range args {
		if p, ok := a.(peer.ID); ok {
			args[i] = string(p) // not its base58 String()
		}
	}
	e.log = append(e.log, fmt.Sprintf(format, args...))
}

func (e *fuzzEnv) fail(format string, args ...any) {
	e.t.Helper()
	for i, a := range args {
		if p, ok := a.(peer.ID); ok {
			args[i] = string(p)
		}
	}
	tail := e.log
	if len(tail) > 60 {
		tail = tail[len(tail)-60:]
	}
	e.t.Fatalf("%s\nevents (last %d):\n  %s", fmt.Sprintf(format, args...), len(tail), strings.Join(tail, "\n  "))
}

func (e *fuzzEnv) startLoop() {
	if e.loopStarted || e.loopClosed {
		e.s.Start(context.Background()) // a no-op, which is what it must be
		return
	}
	e.loopStarted = true
	e.s.Start(context.Background())
}

func (e *fuzzEnv) closeLoop() {
	if err := e.s.Close(); err != nil {
		e.fail("Close: %v", err)
	}
	e.loopClosed = true
}

func (e *fuzzEnv) loopRunning() bool { return e.loopStarted && !e.loopClosed }

// sleep advances the fake clock and lets the loop, if running, catch up.
func (e *fuzzEnv) sleep(d time.Duration) {
	if e.loopRunning() && d > 10*time.Second {
		d = 10 * time.Second // keep cases with the loop running fast
	}
	time.Sleep(d)
	synctest.Wait()
}

// step decodes and runs one event, then checks the invariants.
func (e *fuzzEnv) step(r *fuzzBytes) {
	op := r.n(fuzzNumOps)
	s, tr := e.s, e.tr
	switch op {
	case fuzzConnect:
		p := r.n(len(fuzzPeers))
		e.logf("connect %q", fuzzPeers[p])
		tr.apply(wrapOurs(s), traceEvent{op: opConnect, peer: p})
		e.connected[fuzzPeers[p]] = true
		delete(e.retained, fuzzPeers[p])
		if snap, ok := s.Snapshot(fuzzPeers[p]); !ok || !snap.Connected {
			e.fail("peer %q not known as connected after connecting", fuzzPeers[p])
		}
	case fuzzDisconnect:
		p := r.n(len(fuzzPeers))
		e.logf("disconnect %q", fuzzPeers[p])
		e.disconnect(p)
	case fuzzGraft, fuzzPrune:
		p, topic := r.n(len(fuzzPeers)), r.n(len(fuzzTopics))
		e.logf("%s %q %q", fuzzOpNames[op], fuzzPeers[p], fuzzTopics[topic])
		tr.apply(wrapOurs(s), traceEvent{op: map[int]traceOp{fuzzGraft: opGraft, fuzzPrune: opPrune}[op], peer: p, topic: topic})
	case fuzzValidate, fuzzDeliver, fuzzDuplicate:
		m, p := r.n(len(fuzzMsgs)), r.n(len(fuzzPeers))
		e.logf("%s msg %d (%q) from %q", fuzzOpNames[op], m, fuzzMsgs[m].id, fuzzPeers[p])
		top := map[int]traceOp{fuzzValidate: opValidate, fuzzDeliver: opDeliver, fuzzDuplicate: opDuplicate}[op]
		tr.apply(wrapOurs(s), traceEvent{op: top, peer: p, msg: m})
	case fuzzReject:
		m, p, reason := r.n(len(fuzzMsgs)), r.n(len(fuzzPeers)), rejectReasons[r.n(len(rejectReasons))]
		e.logf("reject msg %d (%q) from %q: %q", m, fuzzMsgs[m].id, fuzzPeers[p], reason)
		tr.apply(wrapOurs(s), traceEvent{op: opReject, peer: p, msg: m, reason: reason})
	case fuzzPenalty:
		p, count := r.n(len(fuzzPeers)), fuzzCounts[r.n(len(fuzzCounts))]
		e.logf("AddPenalty %q %d", fuzzPeers[p], count)
		e.addPenalty(p, count)
	case fuzzSetIPs:
		p, mask := r.n(len(fuzzPeers)), r.u8()
		var ips []string
		for i, ip := range fuzzIPs {
			if mask&(1<<i) != 0 {
				ips = append(ips, ip)
			}
		}
		if mask&0x80 != 0 && len(ips) > 0 {
			ips = append(ips, ips[0]) // two connections from one address
		}
		e.logf("setIPs %q %q", fuzzPeers[p], ips)
		tr.apply(wrapOurs(s), traceEvent{op: opSetIPs, peer: p, ips: ips})
	case fuzzRefresh:
		e.logf("refresh")
		s.Refresh()
		e.checkAfterRefresh()
	case fuzzAdvance:
		d := fuzzAdvances[r.n(len(fuzzAdvances))]
		e.logf("advance %v", d)
		e.sleep(d)
	case fuzzSetTopic:
		topic, v := fuzzSetTopics[r.n(len(fuzzSetTopics))], r.n(len(fuzzTopicVariants))
		e.logf("SetTopicParams %q variant %d", topic, v)
		e.setTopic(topic, fuzzTopicVariants[v]())
	case fuzzRecvRPC, fuzzSendRPC, fuzzDropRPC:
		p := r.n(len(fuzzPeers))
		rpc := fuzzRPC(r)
		e.logf("%s %q %s", fuzzOpNames[op], fuzzPeers[p], fuzzRPCString(rpc))
		switch op {
		case fuzzRecvRPC:
			scoretest.SetFrom(rpc, fuzzPeers[p])
			if rpc.From() != fuzzPeers[p] {
				e.fail("scoretest.SetFrom did not set the sender")
			}
			s.Tracer().RecvRPC(rpc)
		case fuzzSendRPC:
			s.Tracer().SendRPC(rpc, fuzzPeers[p])
		default:
			s.Tracer().DropRPC(rpc, fuzzPeers[p])
		}
	case fuzzThrottle:
		p := r.n(len(fuzzPeers))
		e.logf("throttle %q", fuzzPeers[p])
		s.Tracer().ThrottlePeer(fuzzPeers[p])
	case fuzzJoinLeave:
		topic, join := fuzzRPCTopics[r.n(len(fuzzRPCTopics))], r.u8()&1 == 0
		e.logf("join=%v %q", join, topic)
		if join {
			s.Tracer().Join(topic)
		} else {
			s.Tracer().Leave(topic)
		}
	case fuzzMalformed:
		e.malformed(r)
	case fuzzLoop:
		if e.loopRunning() {
			e.logf("Close")
			e.closeLoop()
		} else {
			e.logf("Start")
			e.startLoop()
		}
	case fuzzOddRPC:
		which, p := r.n(6), fuzzPeers[r.n(len(fuzzPeers))]
		e.logf("odd RPC %d to/from %q", which, p)
		switch which {
		case 0:
			s.Tracer().RecvRPC(nil)
		case 1:
			s.Tracer().SendRPC(nil, p)
		case 2:
			s.Tracer().DropRPC(nil, p)
		case 3:
			s.Tracer().RecvRPC(&pubsub.RPC{}) // no sender, no control
		case 4:
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{}}}, p)
		case 5:
			rpc := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{nil}, Graft: []*pb.ControlGraft{nil},
				Iwant: []*pb.ControlIWant{nil}, Ihave: []*pb.ControlIHave{nil}}, Publish: []*pb.Message{nil}}}
			scoretest.SetFrom(rpc, p)
			s.Tracer().RecvRPC(rpc)
			s.Tracer().SendRPC(rpc, p)
			s.Tracer().DropRPC(rpc, p)
		}
	}
	e.check(fuzzOpNames[op])
}

func fuzzRPCString(rpc *pubsub.RPC) string {
	var b strings.Builder
	fmt.Fprintf(&b, "publish=%d", len(rpc.GetPublish()))
	ctl := rpc.GetControl()
	if ctl == nil {
		return b.String() + " control=nil"
	}
	for _, g := range ctl.GetGraft() {
		fmt.Fprintf(&b, " GRAFT(%q)", g.GetTopicID())
	}
	for _, p := range ctl.GetPrune() {
		if p.Backoff != nil {
			fmt.Fprintf(&b, " PRUNE(%q, %ds)", p.GetTopicID(), p.GetBackoff())
		} else {
			fmt.Fprintf(&b, " PRUNE(%q)", p.GetTopicID())
		}
	}
	for _, ih := range ctl.GetIhave() {
		fmt.Fprintf(&b, " IHAVE(%q %q)", ih.GetTopicID(), ih.GetMessageIDs())
	}
	for _, iw := range ctl.GetIwant() {
		fmt.Fprintf(&b, " IWANT(%q)", iw.GetMessageIDs())
	}
	for _, id := range ctl.GetIdontwant() {
		fmt.Fprintf(&b, " IDONTWANT(%q)", id.GetMessageIDs())
	}
	return b.String()
}

// disconnect closes p's stream and checks the retention rule: a peer is
// retained iff its score, P5 included, was zero or less at that moment,
// and a retained peer has no first deliveries and is in no mesh.
func (e *fuzzEnv) disconnect(i int) {
	p := fuzzPeers[i]
	_, known := e.s.Snapshot(p)
	before := e.s.Score(p)
	e.tr.apply(wrapOurs(e.s), traceEvent{op: opDisconnect, peer: i})
	delete(e.connected, p)
	snap, ok := e.s.Snapshot(p)
	switch {
	case !known:
		if ok {
			e.fail("unknown peer %q became known by disconnecting", p)
		}
	case before > 0:
		if ok {
			e.fail("peer %q with score %v > 0 retained: %+v", p, before, snap)
		}
		delete(e.retained, p)
	default:
		if !ok || snap.Connected {
			e.fail("peer %q with score %v <= 0 not retained (known=%v)", p, before, ok)
		}
		e.retained[p] = true
		for name, ts := range snap.Topics {
			// P3 may stay active: pubsub's reading, the default.
			if ts.FirstMessageDeliveries != 0 || ts.InMesh || ts.P1 != 0 || ts.P2 != 0 || (!ts.MeshDeliveriesActive && ts.P3 != 0) {
				e.fail("retained peer %q keeps first deliveries or mesh state in %q: %+v", p, name, ts)
			}
		}
		if retain := e.params.RetainScore; retain >= 0 && retain < 100*365*24*time.Hour {
			if want := time.Now().Add(retain); !snap.RetainedUntil.Equal(want) {
				e.fail("retained peer %q until %v, want %v", p, snap.RetainedUntil, want)
			}
		}
	}
}

func (e *fuzzEnv) addPenalty(i, count int) {
	p := fuzzPeers[i]
	before, known := e.s.Snapshot(p)
	e.s.AddPenalty(p, count)
	after, _ := e.s.Snapshot(p)
	if !known {
		return
	}
	switch {
	case count <= 0:
		if after.BehaviourPenalty != before.BehaviourPenalty {
			e.fail("AddPenalty(%q, %d) changed the counter from %v to %v", p, count, before.BehaviourPenalty, after.BehaviourPenalty)
		}
	default:
		if !(after.BehaviourPenalty >= before.BehaviourPenalty) {
			e.fail("AddPenalty(%q, %d) lowered the counter from %v to %v", p, count, before.BehaviourPenalty, after.BehaviourPenalty)
		}
	}
}

// setTopic calls SetTopicParams and checks that it accepts exactly what
// Validate accepts, and that a refusal names the topic and the field and
// changes nothing.
func (e *fuzzEnv) setTopic(topic string, tp *peerscore.TopicParams) {
	before, beforeStats := fmt.Sprint(e.s.Snapshots()), e.s.Stats()
	err := e.s.SetTopicParams(topic, tp)
	if want := tp.Validate(); (err == nil) != (want == nil) {
		e.fail("SetTopicParams(%q) = %v, but Validate says %v", topic, err, want)
	}
	if err == nil {
		e.topics[topic] = *tp
		return
	}
	var pe *peerscore.ParamError
	if !errors.As(err, &pe) || pe.Topic != topic || pe.Field == "" {
		e.fail("SetTopicParams(%q) error %v is not a ParamError naming the topic and a field", topic, err)
	}
	if after := fmt.Sprint(e.s.Snapshots()); after != before {
		e.fail("refused SetTopicParams(%q) changed snapshots:\nbefore %s\nafter  %s", topic, before, after)
	}
	if after := e.s.Stats(); fmt.Sprint(after) != fmt.Sprint(beforeStats) {
		e.fail("refused SetTopicParams(%q) changed stats: %+v -> %+v", topic, beforeStats, after)
	}
}

// fuzzNoIDCharges are the rejection reasons that charge the sender without
// looking at the message ID.
var fuzzNoIDCharges = map[string]bool{
	pubsub.RejectMissingSignature: true, pubsub.RejectInvalidSignature: true, pubsub.RejectUnexpectedSignature: true,
	pubsub.RejectUnexpectedAuthInfo: true, pubsub.RejectSelfOrigin: true,
}

// malformed sends an event with a broken or odd message.
func (e *fuzzEnv) malformed(r *fuzzBytes) {
	kind, event, p, reason := r.n(6), r.n(5), fuzzPeers[r.n(len(fuzzPeers))], rejectReasons[r.n(len(rejectReasons))]
	t0, elsewhere := "t0", "elsewhere"
	var msg *pubsub.Message
	switch kind {
	case 0: // nil
	case 1:
		msg = &pubsub.Message{ReceivedFrom: p} // no protobuf
	case 2:
		msg = &pubsub.Message{Message: &pb.Message{Data: []byte("x")}, ID: "m0", ReceivedFrom: p} // no topic
	case 3:
		msg = &pubsub.Message{Message: &pb.Message{Topic: &t0}, ReceivedFrom: p} // no ID, none computable
	case 4:
		msg = &pubsub.Message{Message: &pb.Message{Topic: &elsewhere}, ID: "m1", ReceivedFrom: p} // unknown topic
	case 5:
		msg = &pubsub.Message{Message: &pb.Message{Topic: &t0}, ID: "m2", ReceivedFrom: "stranger"} // unknown peer
	}
	e.logf("malformed kind %d event %d from %q reason %q", kind, event, p, reason)
	before := fmt.Sprint(e.s.Snapshots())
	switch event {
	case 0:
		e.s.Tracer().ValidateMessage(msg)
	case 1:
		e.s.Tracer().DeliverMessage(msg)
	case 2:
		e.s.Tracer().RejectMessage(msg, reason)
	case 3:
		e.s.Tracer().DuplicateMessage(msg)
	case 4:
		e.s.Tracer().UndeliverableMessage(msg)
	}
	// Messages the scorer cannot use (no protobuf, no ID) change nothing,
	// but for rejections that need no ID: the sender of a message whose
	// signature or origin is bad is charged, as in pubsub.
	sigReject := event == 2 && fuzzNoIDCharges[reason]
	if kind <= 1 || kind == 3 && !sigReject || event == 4 {
		if after := fmt.Sprint(e.s.Snapshots()); after != before {
			e.fail("malformed message (kind %d, event %d) changed snapshots:\nbefore %s\nafter  %s", kind, event, before, after)
		}
	}
	if _, ok := e.s.Snapshot("stranger"); ok {
		e.fail("a message from an unknown peer made it known")
	}
}

// finish disconnects everyone, lets time pass beyond SeenMsgTTL,
// RetainScore and the IWANT follow-up, and checks that the scorer holds
// nothing any more.
func (e *fuzzEnv) finish() {
	e.logf("finish")
	if e.loopRunning() {
		e.closeLoop()
	}
	for i := range fuzzPeers {
		e.disconnect(i)
	}
	e.check("final disconnects")
	ttl := e.params.SeenMsgTTL
	if ttl == 0 {
		ttl = 2 * time.Minute
	}
	interval := e.params.DecayInterval
	if interval <= 0 {
		interval = time.Second
	}
	wait := max(ttl, e.params.RetainScore, e.timings.IWantFollowupTime, e.timings.PruneBackoff) + interval + time.Second
	time.Sleep(wait)
	e.s.Refresh()
	st := e.s.Stats()
	if st.Peers != 0 || st.Retained != 0 || st.DeliveryRecords != 0 || st.Promises != 0 {
		e.fail("after everyone left and %v passed: %+v", wait, st)
	}
	z := peerscore.InternalSizesForTest(e.s)
	if z.IndexedPeers != 0 || z.IPAddrs != 0 || z.RecordsMap != 0 || z.PromiseMsgs != 0 || z.PromisePeers != 0 || z.StaleBackoffs != 0 {
		e.fail("after everyone left and %v passed, internal books still hold: %+v", wait, z)
	}
	for _, p := range fuzzPeers {
		if score := e.s.Score(p); score != 0 {
			e.fail("forgotten peer %q scores %v", p, score)
		}
	}
}

// fuzzRunEvents runs one event fuzz case.
func fuzzRunEvents(t *testing.T, data []byte) {
	synctest.Test(t, func(t *testing.T) {
		r := &fuzzBytes{b: data}
		e := fuzzNewEnv(t, r)
		defer func() { _ = e.s.Close() }() // no loop may outlive the bubble
		e.check("New")
		for steps := 0; r.more() && steps < 400; steps++ {
			e.step(r)
		}
		if fuzzTrace {
			for p, snap := range e.s.Snapshots() {
				e.logf("  %q score %v: %+v", p, snap.Score, snap)
			}
			e.logf("  stats %+v", e.s.Stats())
		}
		e.finish()
		if fuzzTrace {
			t.Logf("events:\n  %s", strings.Join(e.log, "\n  "))
		}
	})
}

// fuzzTrace (FZ_TRACE=1 in the environment) logs every decoded event, to
// read what a seed or a crasher does.
var fuzzTrace = os.Getenv("FZ_TRACE") != ""

// fuzzSeed encodes a case: the variant, the option flags and the events,
// each an opcode followed by its argument bytes.
func fuzzSeed(variant, opts byte, events ...[]byte) []byte {
	out := []byte{variant, opts}
	for _, ev := range events {
		out = append(out, ev...)
	}
	return out
}

func fuzzEv(op int, args ...byte) []byte { return append([]byte{byte(op)}, args...) }

// fuzzEventSeeds are meaningful cases, also written to testdata/fuzz/FuzzEvents.
func fuzzEventSeeds() map[string][]byte {
	lifeOfAMessage := [][]byte{
		fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 1), fuzzEv(fuzzConnect, 2),
		fuzzEv(fuzzGraft, 0, 0), fuzzEv(fuzzGraft, 1, 0), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh),
		fuzzEv(fuzzValidate, 0, 0), fuzzEv(fuzzDuplicate, 0, 1), fuzzEv(fuzzDeliver, 0, 0), fuzzEv(fuzzAdvance, 1),
		fuzzEv(fuzzDuplicate, 0, 2), fuzzEv(fuzzAdvance, 2), fuzzEv(fuzzDuplicate, 0, 1),
		fuzzEv(fuzzValidate, 1, 1), fuzzEv(fuzzDuplicate, 1, 0), fuzzEv(fuzzReject, 1, 1, 0), fuzzEv(fuzzDuplicate, 1, 2),
		fuzzEv(fuzzValidate, 6, 2), fuzzEv(fuzzDeliver, 6, 2),
		fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh), fuzzEv(fuzzDisconnect, 1), fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzRefresh),
	}
	router := [][]byte{
		fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 3), fuzzEv(fuzzJoinLeave, 0, 0),
		// we ask p0 for m0 and m1 (IWANT), p0 delivers m0 only
		fuzzEv(fuzzSendRPC, 0, 0x01, 0x40, 2, 0, 1),
		fuzzEv(fuzzDeliver, 0, 0), fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzRefresh),
		// p3 prunes us in t0 with a 60s backoff, then grafts at once (flood) and later
		fuzzEv(fuzzRecvRPC, 3, 0x01, 0x04, 0, 3), fuzzEv(fuzzRecvRPC, 3, 0x01, 0x01, 0),
		fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzRecvRPC, 3, 0x01, 0x01, 0),
		// a throttled peer's promises are void
		fuzzEv(fuzzSendRPC, 3, 0x01, 0x40, 1, 2), fuzzEv(fuzzThrottle, 3), fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzRefresh),
		// dropped RPCs make a slow peer
		fuzzEv(fuzzDropRPC, 0, 0x60), fuzzEv(fuzzDropRPC, 0, 0x61, 0x08, 0, 2), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh),
		// odd RPCs
		fuzzEv(fuzzOddRPC, 0, 0), fuzzEv(fuzzOddRPC, 1, 0), fuzzEv(fuzzOddRPC, 2, 0), fuzzEv(fuzzOddRPC, 3, 0),
		fuzzEv(fuzzOddRPC, 4, 0), fuzzEv(fuzzOddRPC, 5, 0), fuzzEv(fuzzJoinLeave, 0, 1),
	}
	badInput := [][]byte{
		fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 4),
		fuzzEv(fuzzPenalty, 0, 0), fuzzEv(fuzzPenalty, 0, 1), fuzzEv(fuzzPenalty, 0, 2), fuzzEv(fuzzPenalty, 0, 9),
		fuzzEv(fuzzPenalty, 0, 7), fuzzEv(fuzzPenalty, 2, 3), fuzzEv(fuzzPenalty, 4, 4),
		fuzzEv(fuzzMalformed, 0, 0, 0), fuzzEv(fuzzMalformed, 1, 1, 0), fuzzEv(fuzzMalformed, 2, 2, 0, 0),
		fuzzEv(fuzzMalformed, 3, 3, 0), fuzzEv(fuzzMalformed, 4, 2, 0, 0), fuzzEv(fuzzMalformed, 5, 1, 0),
		fuzzEv(fuzzMalformed, 2, 4, 0),
		fuzzEv(fuzzSetTopic, 0, 5), fuzzEv(fuzzSetTopic, 0, 6), fuzzEv(fuzzSetTopic, 1, 7), fuzzEv(fuzzSetTopic, 2, 8),
		fuzzEv(fuzzSetTopic, 3, 9), fuzzEv(fuzzSetTopic, 0, 10), fuzzEv(fuzzSetTopic, 1, 11), fuzzEv(fuzzSetTopic, 0, 12),
		fuzzEv(fuzzSetTopic, 0, 13), fuzzEv(fuzzSetTopic, 2, 0), fuzzEv(fuzzGraft, 0, 2), fuzzEv(fuzzValidate, 4, 0),
		fuzzEv(fuzzDeliver, 4, 0), fuzzEv(fuzzDisconnect, 3), fuzzEv(fuzzAdvance, 6), fuzzEv(fuzzRefresh),
	}
	retention := [][]byte{
		fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 1), fuzzEv(fuzzConnect, 2), fuzzEv(fuzzConnect, 3),
		fuzzEv(fuzzSetIPs, 0, 0x03), fuzzEv(fuzzSetIPs, 1, 0x01), fuzzEv(fuzzSetIPs, 2, 0x81), fuzzEv(fuzzSetIPs, 3, 0x1c),
		fuzzEv(fuzzGraft, 1, 0), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh),
		fuzzEv(fuzzValidate, 2, 1), fuzzEv(fuzzReject, 2, 1, 0), fuzzEv(fuzzDisconnect, 1), fuzzEv(fuzzDisconnect, 0),
		fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh), fuzzEv(fuzzConnect, 1), fuzzEv(fuzzDisconnect, 1),
		fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzRefresh), fuzzEv(fuzzAdvance, 5), fuzzEv(fuzzRefresh),
	}
	loop := [][]byte{
		fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 1), fuzzEv(fuzzGraft, 0, 0), fuzzEv(fuzzGraft, 1, 1),
		fuzzEv(fuzzValidate, 0, 0), fuzzEv(fuzzDeliver, 0, 0), fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzSendRPC, 1, 0x01, 0x40, 1, 3),
		fuzzEv(fuzzAdvance, 4), fuzzEv(fuzzLoop), fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzLoop), fuzzEv(fuzzLoop),
	}
	return map[string][]byte{
		"life-of-a-message-full":       fuzzSeed(0, 0, lifeOfAMessage...),
		"life-of-a-message-sparse":     fuzzSeed(1, fuzzOptMsgIDFn, lifeOfAMessage...),
		"life-of-a-message-extreme":    fuzzSeed(2, fuzzOptSmallCap, lifeOfAMessage...),
		"life-of-a-message-huge":       fuzzSeed(3, fuzzOptAppNegative, lifeOfAMessage...),
		"router-penalties":             fuzzSeed(0, fuzzOptFastRouter, router...),
		"router-penalties-huge":        fuzzSeed(3, 0, router...),
		"router-off":                   fuzzSeed(0, fuzzOptNoRouter, router...),
		"bad-input-full":               fuzzSeed(0, 0, badInput...),
		"bad-input-extreme":            fuzzSeed(2, fuzzOptAppNegative, badInput...),
		"retention-colocation":         fuzzSeed(0, fuzzOptAppNegative, retention...),
		"retention-sparse":             fuzzSeed(1, fuzzOptAppNegative, retention...),
		"loop-with-inspect":            fuzzSeed(0, fuzzOptStartLoop|fuzzOptInspect|fuzzOptFastRouter, loop...),
		"loop-started-by-event-sparse": fuzzSeed(1, fuzzOptInspect, loop...),
		"life-of-a-message-inf":        fuzzSeed(4, 0, lifeOfAMessage...),
		"life-of-a-message-inf-mixed":  fuzzSeed(5, fuzzOptExtremeThresholds|fuzzOptInspect|fuzzOptStartLoop, lifeOfAMessage...),
		"router-penalties-inf":         fuzzSeed(4, fuzzOptFastRouter|fuzzOptExtremeThresholds, router...),
		"retention-inf-mixed":          fuzzSeed(5, fuzzOptAppNegative, retention...),
		"bad-input-inf":                fuzzSeed(4, fuzzOptExtremeThresholds, badInput...),
		"loop-with-inspect-inf":        fuzzSeed(4, fuzzOptStartLoop|fuzzOptInspect|fuzzOptExtremeThresholds, loop...),
		// bugs, fixed, as the fuzzer (and a reading) found them
		"fixed-penalty-total-wrap": []byte("00*0200200"),
		"fixed-nan-behaviour-overflow": fuzzSeed(3, 0, fuzzEv(fuzzConnect, 2), fuzzEv(fuzzPenalty, 2, 7),
			fuzzEv(fuzzDropRPC, 2, 0x20)),
		// p0 scores +Inf (P5 2e308), "" scores -Inf (P5 -3e308): the
		// metrics added them up to NaN
		"fixed-metrics-nan": fuzzSeed(4, 0, fuzzEv(fuzzConnect, 0), fuzzEv(fuzzConnect, 4)),
		// p3's topic score is MaxFloat64 (a first delivery in t0), its P5
		// 5e307 and its P7 -MaxFloat64: the parts add up to 5e307, but the
		// score overflowed to +Inf on the way
		"fixed-partial-sum-overflow": fuzzSeed(4, 0, fuzzEv(fuzzConnect, 3), fuzzEv(fuzzValidate, 0, 3),
			fuzzEv(fuzzDeliver, 0, 3), fuzzEv(fuzzPenalty, 3, 7)),
		// p0's P1 and P2 in t1 are MaxFloat64, its P3 -MaxFloat64: the
		// topic's parts add up to MaxFloat64, times 0.5, but their sum
		// overflowed on the way and the topic scored MaxFloat64
		"fixed-topic-sum-overflow": fuzzSeed(5, 0, fuzzEv(fuzzConnect, 0), fuzzEv(fuzzGraft, 0, 1), fuzzEv(fuzzAdvance, 3),
			fuzzEv(fuzzAdvance, 3), fuzzEv(fuzzRefresh), fuzzEv(fuzzValidate, 2, 0), fuzzEv(fuzzDeliver, 2, 0)),
	}
}

func FuzzEvents(f *testing.F) {
	seeds := fuzzEventSeeds()
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(seeds[name])
	}
	f.Fuzz(fuzzRunEvents)
}
