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
// checked against invariants (fzEnv.check); at the end every peer
// disconnects, time passes beyond SeenMsgTTL and RetainScore, and nothing
// may be left.
//
// Input format (fzNewEnv, fzEnv.step): byte 0 picks the parameter variant, byte 1 holds
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
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// fzBytes reads the fuzz input; past its end it reads zeros.
type fzBytes struct{ b []byte }

func (r *fzBytes) more() bool { return len(r.b) > 0 }

func (r *fzBytes) u8() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// n reads one byte as an index below k.
func (r *fzBytes) n(k int) int { return int(r.u8()) % k }

func (r *fzBytes) u64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(r.u8())
	}
	return v
}

// The world of an event fuzz case.
var (
	fzPeers  = []peer.ID{"p0", "p1", "p2", "p3", ""}
	fzTopics = []string{"t0", "t1", "u"} // "u" is not scored until SetTopicParams says so
	// fzSetTopics are the topics SetTopicParams is tried on.
	fzSetTopics = []string{"t0", "t1", "u", "t-new"}
	// fzMsgs are the messages of a case, replayed through tracegen's
	// apply. Message 5 shares its ID with message 0 but not its topic;
	// message 6 has no ID, so the scorer computes it (from From and Seqno:
	// "p2" + "6"), unless the fuzz options install a WithMsgIDFn that
	// refuses it.
	fzMsgs = []traceMsg{
		{topic: 0, from: 0, id: "m0"}, {topic: 0, from: 1, id: "m1"}, {topic: 1, from: 2, id: "m2"},
		{topic: 1, from: 3, id: "m3"}, {topic: 2, from: 0, id: "m4"}, {topic: 1, from: 1, id: "m0"},
		{topic: 0, from: 2, id: ""}, {topic: 0, from: 4, id: "m7"},
	}
	fzAdvances = []time.Duration{0, time.Millisecond, 5 * time.Millisecond, time.Second, 10 * time.Second,
		2 * time.Minute, time.Hour}
	fzCounts    = []int{-5, -1, 0, 1, 2, 3, 100, math.MaxInt32, math.MaxInt, math.MinInt}
	fzIPs       = []string{"1.2.3.4", "5.6.7.8", "10.0.0.1", "2001:db8::1", "2001:db8::", "not-an-ip", ""}
	fzRPCTopics = []string{"t0", "t1", "u", "", "elsewhere"} // index len(fzRPCTopics) means a nil TopicID
	fzRPCIDs    = []string{"m0", "m1", "m2", "m4", "p26", "", "never"}
	fzBackoffs  = []uint64{0, 1, 10, 60, 3600, 9223372035, math.MaxUint64} // index len(fzBackoffs) means unset
)

// Opcodes of the event fuzzer.
const (
	fzConnect    = iota // peer
	fzDisconnect        // peer
	fzGraft             // peer, topic
	fzPrune             // peer, topic
	fzValidate          // msg, peer
	fzDeliver           // msg, peer
	fzReject            // msg, peer, reason
	fzDuplicate         // msg, peer
	fzPenalty           // peer, count
	fzSetIPs            // peer, address mask (bit 7: list the first address twice)
	fzRefresh           //
	fzAdvance           // advance
	fzSetTopic          // topic, variant
	fzRecvRPC           // sender, rpc
	fzSendRPC           // peer, rpc
	fzDropRPC           // peer, rpc
	fzThrottle          // peer
	fzJoinLeave         // topic, join?
	fzMalformed         // kind, event, peer, reason
	fzLoop              // (starts the loop, or closes it if running)
	fzOddRPC            // which
	fzNumOps
)

var fzOpNames = [fzNumOps]string{"connect", "disconnect", "graft", "prune", "validate", "deliver", "reject",
	"duplicate", "penalty", "setIPs", "refresh", "advance", "setTopic", "recvRPC", "sendRPC", "dropRPC",
	"throttle", "joinLeave", "malformed", "loop", "oddRPC"}

// Option flags (byte 1 of the input).
const (
	fzOptSmallCap    = 1 << iota // WithMaxDeliveryRecords(3)
	fzOptNoRouter                // WithoutRouterPenalties
	fzOptFastRouter              // WithGossipSubParams with short router timings
	fzOptMsgIDFn                 // a WithMsgIDFn that gives message 6 no ID
	fzOptStartLoop               // Start at once
	fzOptInspect                 // WithInspect, checking every snapshot it is handed
	fzOptAppNegative             // every variant's P5 is shifted down by 10 (more retention)
)

// fzVariants are the parameter sets of the event fuzzer (byte 0 of the
// input). All are valid; some are extreme.
var fzVariants = []struct {
	name   string
	params func(shift float64) *peerscore.Params
}{
	{"full", fzParamsFull},
	{"sparse", fzParamsSparse},
	{"extreme-app", fzParamsExtremeApp},
	{"huge", fzParamsHuge},
}

// fzApp returns an AppSpecificScore giving the peers of fzPeers the values
// vals, in order, plus shift.
func fzApp(shift float64, vals ...float64) func(peer.ID) float64 {
	return func(p peer.ID) float64 {
		for i, q := range fzPeers {
			if q == p && i < len(vals) {
				return vals[i] + shift
			}
		}
		return shift
	}
}

func fzTopicFull() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      1,
		TimeInMeshWeight: 0.1, TimeInMeshQuantum: time.Second, TimeInMeshCap: 10,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.8, FirstMessageDeliveriesCap: 5,
		MeshMessageDeliveriesWeight: -1, MeshMessageDeliveriesDecay: 0.7, MeshMessageDeliveriesCap: 6,
		MeshMessageDeliveriesThreshold: 2, MeshMessageDeliveriesWindow: 5 * time.Millisecond,
		MeshMessageDeliveriesActivation: 2 * time.Second,
		MeshFailurePenaltyWeight:        -1, MeshFailurePenaltyDecay: 0.8,
		InvalidMessageDeliveriesWeight: -10, InvalidMessageDeliveriesDecay: 0.9,
	}
}

func fzTopicLight() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      0.5,
		TimeInMeshWeight: 0.01, TimeInMeshQuantum: time.Millisecond, TimeInMeshCap: 1000,
		FirstMessageDeliveriesWeight: 0.5, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 2,
		MeshMessageDeliveriesWeight: -0.5, MeshMessageDeliveriesDecay: 0.9, MeshMessageDeliveriesCap: 3,
		MeshMessageDeliveriesThreshold: 3, MeshMessageDeliveriesActivation: time.Second,
		MeshFailurePenaltyWeight: -0.5, MeshFailurePenaltyDecay: 0.5,
		InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.5,
	}
}

// fzTopicSparse sets only some components and gives the unused ones the
// odd values validation lets through when their weight is zero: a negative
// mesh delivery cap (the engine makes it 0), a decay factor of 7 (made 0),
// and a mesh delivery threshold that still charges P3b.
func fzTopicSparse() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:         true,
		TopicWeight:                  1,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 3,
		MeshMessageDeliveriesDecay: 7, MeshMessageDeliveriesCap: -1, MeshMessageDeliveriesThreshold: 3,
		MeshFailurePenaltyWeight: -1, MeshFailurePenaltyDecay: 0.5,
		InvalidMessageDeliveriesDecay: 0.5,
	}
}

// fzTopicNaNCap has a zero topic weight, a NaN first delivery cap (no cap)
// with a zero decay, and a negative time in mesh quantum, all on
// zero-weight components.
func fzTopicNaNCap() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation: true,
		TimeInMeshQuantum:    -time.Second, TimeInMeshCap: math.NaN(),
		FirstMessageDeliveriesCap:      math.NaN(),
		InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.99,
	}
}

// fzTopicHuge has weights and caps near the float64 limits.
func fzTopicHuge() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      1e300,
		TimeInMeshWeight: 1e300, TimeInMeshQuantum: time.Nanosecond, TimeInMeshCap: 1e308,
		FirstMessageDeliveriesWeight: 1e300, FirstMessageDeliveriesDecay: 0.999999, FirstMessageDeliveriesCap: 1e308,
		MeshMessageDeliveriesWeight: -1e300, MeshMessageDeliveriesDecay: 0.5, MeshMessageDeliveriesCap: 1e308,
		MeshMessageDeliveriesThreshold: 1e308, MeshMessageDeliveriesWindow: time.Hour,
		MeshMessageDeliveriesActivation: time.Second,
		MeshFailurePenaltyWeight:        -1e300, MeshFailurePenaltyDecay: 0.999,
		InvalidMessageDeliveriesWeight: -1e300, InvalidMessageDeliveriesDecay: 0.999999,
	}
}

func fzParamsFull(shift float64) *peerscore.Params {
	_, ten, _ := net.ParseCIDR("10.0.0.0/8")
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fzTopicFull(), "t1": fzTopicLight()},
		TopicScoreCap:               8,
		AppSpecificScore:            fzApp(shift, 2, -1, 0, 0.5, -3),
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -3,
		IPColocationFactorThreshold: 1,
		IPColocationFactorWhitelist: []*net.IPNet{ten},
		BehaviourPenaltyWeight:      -1, BehaviourPenaltyThreshold: 2, BehaviourPenaltyDecay: 0.9,
		SlowPeerWeight: -0.25, SlowPeerThreshold: 1, SlowPeerDecay: 0.8,
		DecayInterval: time.Second, DecayToZero: 0.01,
		RetainScore: 10 * time.Second, SeenMsgTTL: 30 * time.Second,
	}
}

// fzParamsSparse: SkipAtomicValidation with most groups left at zero: the
// decay interval and SeenMsgTTL take their defaults (1s, 2m), DecayToZero
// is 0 (nothing snaps to zero), no application score.
func fzParamsSparse(shift float64) *peerscore.Params {
	p := &peerscore.Params{
		SkipAtomicValidation:   true,
		Topics:                 map[string]*peerscore.TopicParams{"t0": fzTopicSparse(), "t1": fzTopicNaNCap()},
		BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.5,
		RetainScore: time.Minute,
	}
	if shift != 0 {
		p.AppSpecificScore, p.AppSpecificWeight = fzApp(shift), 1
	}
	return p
}

// fzParamsExtremeApp: the application answers NaN, ±Inf and ±1e308.
func fzParamsExtremeApp(shift float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics:               map[string]*peerscore.TopicParams{"t0": fzTopicFull(), "t1": fzTopicSparse()},
		TopicScoreCap:        1,
		AppSpecificScore:     fzApp(shift, math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1e308),
		AppSpecificWeight:    1,
		DecayInterval:        time.Second, DecayToZero: 0.5,
		SeenMsgTTL: time.Second,
	}
}

// fzParamsHuge: weights near the float64 limits everywhere.
func fzParamsHuge(shift float64) *peerscore.Params {
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fzTopicHuge(), "t1": fzTopicFull()},
		TopicScoreCap:               1e308,
		AppSpecificScore:            fzApp(shift, 1e308, -1, math.Inf(1), 0, -1e308),
		AppSpecificWeight:           1e300,
		IPColocationFactorWeight:    -1e300,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1e300, BehaviourPenaltyDecay: 0.999,
		SlowPeerWeight: -1e300, SlowPeerDecay: 0.999,
		DecayInterval: time.Second, DecayToZero: 1e-300,
		RetainScore: time.Hour, SeenMsgTTL: 2 * time.Minute,
	}
}

// fzTopicVariants are what SetTopicParams is called with: valid ones, nil,
// and invalid ones, which must be refused with nothing changed.
var fzTopicVariants = []func() *peerscore.TopicParams{
	fzTopicFull, fzTopicLight, fzTopicSparse, fzTopicNaNCap, fzTopicHuge,
	func() *peerscore.TopicParams { return nil },
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.TopicWeight = -1; return tp },
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.TopicWeight = math.NaN(); return tp },
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.InvalidMessageDeliveriesDecay = 1; return tp },
	func() *peerscore.TopicParams {
		tp := fzTopicFull()
		tp.FirstMessageDeliveriesCap = math.Inf(1)
		return tp
	},
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.MeshMessageDeliveriesActivation = 0; return tp },
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.TimeInMeshQuantum = 0; return tp },
	func() *peerscore.TopicParams { tp := fzTopicFull(); tp.MeshMessageDeliveriesWindow = -1; return tp },
	func() *peerscore.TopicParams {
		tp := fzTopicSparse()
		tp.MeshFailurePenaltyDecay = math.NaN()
		return tp
	},
}

// fzSetFrom sets the sender of an RPC, as the router does when it receives
// one. pubsub.RPC keeps it in an unexported field; this is the only way to
// build an RPC that RecvRPC attributes to a peer.
func fzSetFrom(rpc *pubsub.RPC, p peer.ID) {
	f := reflect.ValueOf(rpc).Elem().FieldByName("from")
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(p))
}

func fzStr(list []string, i int) *string {
	if i >= len(list) {
		return nil
	}
	s := list[i]
	return &s
}

// fzRPC decodes an RPC: published messages (what DropRPC counts), and a
// control message, or none, with GRAFTs, PRUNEs (with or without a
// backoff), IHAVEs, IWANTs and IDONTWANTs over arbitrary topics and IDs.
func fzRPC(r *fzBytes) *pubsub.RPC {
	shape := r.u8()
	rpc := &pubsub.RPC{}
	for range int(shape>>5) % 4 {
		rpc.Publish = append(rpc.Publish, &pb.Message{Data: []byte("x")})
	}
	if shape&1 == 0 {
		return rpc // no control message
	}
	ctl := &pb.ControlMessage{}
	counts := r.u8()
	for range counts & 3 {
		ctl.Graft = append(ctl.Graft, &pb.ControlGraft{TopicID: fzStr(fzRPCTopics, r.n(len(fzRPCTopics)+1))})
	}
	for range (counts >> 2) & 3 {
		pr := &pb.ControlPrune{TopicID: fzStr(fzRPCTopics, r.n(len(fzRPCTopics)+1))}
		if i := r.n(len(fzBackoffs) + 1); i < len(fzBackoffs) {
			b := fzBackoffs[i]
			pr.Backoff = &b
		}
		ctl.Prune = append(ctl.Prune, pr)
	}
	ids := func() []string {
		var out []string
		for range r.n(4) {
			out = append(out, fzRPCIDs[r.n(len(fzRPCIDs))])
		}
		return out
	}
	for range (counts >> 4) & 3 {
		ctl.Ihave = append(ctl.Ihave, &pb.ControlIHave{TopicID: fzStr(fzRPCTopics, r.n(len(fzRPCTopics)+1)), MessageIDs: ids()})
	}
	for range (counts >> 6) & 3 {
		ctl.Iwant = append(ctl.Iwant, &pb.ControlIWant{MessageIDs: ids()})
	}
	if shape&2 != 0 {
		ctl.Idontwant = append(ctl.Idontwant, &pb.ControlIDontWant{MessageIDs: ids()})
	}
	rpc.Control = ctl
	return rpc
}

// fzEnv is one running event fuzz case: the scorer, and a model of what it
// must know.
type fzEnv struct {
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
	inspectBad              atomic.Value // string: the first bad snapshot the inspect callback saw

	log []string
}

// fzNewEnv builds the case's scorer from the first two bytes of the input.
// It must run inside the bubble.
func fzNewEnv(t *testing.T, r *fzBytes) *fzEnv {
	variant := r.n(len(fzVariants))
	opts := r.u8()
	shift := 0.0
	if opts&fzOptAppNegative != 0 {
		shift = -10
	}
	e := &fzEnv{
		t:          t,
		params:     fzVariants[variant].params(shift),
		maxRecords: peerscore.DefaultMaxDeliveryRecords,
		timings:    pubsub.DefaultGossipSubParams(),
		connected:  map[peer.ID]bool{},
		retained:   map[peer.ID]bool{},
		topics:     map[string]peerscore.TopicParams{},
		penalties:  map[peerscore.PenaltyReason]uint64{},
		tr:         &trace{peers: fzPeers, topics: fzTopics, msgs: fzMsgs},
	}
	e.logf("variant %s, options %#x", fzVariants[variant].name, opts)
	for name, tp := range e.params.Topics {
		e.topics[name] = *tp
	}
	var options []peerscore.Option
	if opts&fzOptSmallCap != 0 {
		e.maxRecords = 3
		options = append(options, peerscore.WithMaxDeliveryRecords(3))
	}
	if opts&fzOptNoRouter != 0 {
		options = append(options, peerscore.WithoutRouterPenalties())
	}
	if opts&fzOptFastRouter != 0 {
		e.timings.HeartbeatInterval = 100 * time.Millisecond
		e.timings.IWantFollowupTime = 500 * time.Millisecond
		e.timings.PruneBackoff = 5 * time.Second
		e.timings.GraftFloodThreshold = time.Second
		options = append(options, peerscore.WithGossipSubParams(e.timings))
	}
	if opts&fzOptMsgIDFn != 0 {
		options = append(options, peerscore.WithMsgIDFn(func(m *pb.Message) string {
			if string(m.GetSeqno()) == "6" {
				return ""
			}
			return pubsub.DefaultMsgIdFn(m)
		}))
	}
	if opts&fzOptInspect != 0 {
		options = append(options, peerscore.WithInspect(func(snaps map[peer.ID]peerscore.Snapshot) {
			for p, snap := range snaps {
				if math.IsNaN(snap.Score) {
					e.inspectBad.CompareAndSwap(nil, fmt.Sprintf("inspect: peer %q: NaN score: %+v", p, snap))
				}
			}
		}, 700*time.Millisecond))
	}
	s, err := peerscore.New(e.params, options...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.s = s
	if opts&fzOptStartLoop != 0 {
		e.startLoop()
	}
	return e
}

func (e *fzEnv) logf(format string, args ...any) {
	for i, a := range args {
		if p, ok := a.(peer.ID); ok {
			args[i] = string(p) // not its base58 String()
		}
	}
	e.log = append(e.log, fmt.Sprintf(format, args...))
}

func (e *fzEnv) fail(format string, args ...any) {
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

func (e *fzEnv) startLoop() {
	if e.loopStarted || e.loopClosed {
		e.s.Start(context.Background()) // a no-op, which is what it must be
		return
	}
	e.loopStarted = true
	e.s.Start(context.Background())
}

func (e *fzEnv) closeLoop() {
	if err := e.s.Close(); err != nil {
		e.fail("Close: %v", err)
	}
	e.loopClosed = true
}

func (e *fzEnv) loopRunning() bool { return e.loopStarted && !e.loopClosed }

// sleep advances the fake clock and lets the loop, if running, catch up.
func (e *fzEnv) sleep(d time.Duration) {
	if e.loopRunning() && d > 10*time.Second {
		d = 10 * time.Second // keep cases with the loop running fast
	}
	time.Sleep(d)
	synctest.Wait()
}

// step decodes and runs one event, then checks the invariants.
func (e *fzEnv) step(r *fzBytes) {
	op := r.n(fzNumOps)
	s, tr := e.s, e.tr
	switch op {
	case fzConnect:
		p := r.n(len(fzPeers))
		e.logf("connect %q", fzPeers[p])
		tr.apply(ours{s}, traceEvent{op: opConnect, peer: p})
		e.connected[fzPeers[p]] = true
		delete(e.retained, fzPeers[p])
		if snap, ok := s.Snapshot(fzPeers[p]); !ok || !snap.Connected {
			e.fail("peer %q not known as connected after connecting", fzPeers[p])
		}
	case fzDisconnect:
		p := r.n(len(fzPeers))
		e.logf("disconnect %q", fzPeers[p])
		e.disconnect(p)
	case fzGraft, fzPrune:
		p, topic := r.n(len(fzPeers)), r.n(len(fzTopics))
		e.logf("%s %q %q", fzOpNames[op], fzPeers[p], fzTopics[topic])
		tr.apply(ours{s}, traceEvent{op: map[int]traceOp{fzGraft: opGraft, fzPrune: opPrune}[op], peer: p, topic: topic})
	case fzValidate, fzDeliver, fzDuplicate:
		m, p := r.n(len(fzMsgs)), r.n(len(fzPeers))
		e.logf("%s msg %d (%q) from %q", fzOpNames[op], m, fzMsgs[m].id, fzPeers[p])
		top := map[int]traceOp{fzValidate: opValidate, fzDeliver: opDeliver, fzDuplicate: opDuplicate}[op]
		tr.apply(ours{s}, traceEvent{op: top, peer: p, msg: m})
	case fzReject:
		m, p, reason := r.n(len(fzMsgs)), r.n(len(fzPeers)), rejectReasons[r.n(len(rejectReasons))]
		e.logf("reject msg %d (%q) from %q: %q", m, fzMsgs[m].id, fzPeers[p], reason)
		tr.apply(ours{s}, traceEvent{op: opReject, peer: p, msg: m, reason: reason})
	case fzPenalty:
		p, count := r.n(len(fzPeers)), fzCounts[r.n(len(fzCounts))]
		e.logf("AddPenalty %q %d", fzPeers[p], count)
		e.addPenalty(p, count)
	case fzSetIPs:
		p, mask := r.n(len(fzPeers)), r.u8()
		var ips []string
		for i, ip := range fzIPs {
			if mask&(1<<i) != 0 {
				ips = append(ips, ip)
			}
		}
		if mask&0x80 != 0 && len(ips) > 0 {
			ips = append(ips, ips[0]) // two connections from one address
		}
		e.logf("setIPs %q %q", fzPeers[p], ips)
		tr.apply(ours{s}, traceEvent{op: opSetIPs, peer: p, ips: ips})
	case fzRefresh:
		e.logf("refresh")
		s.Refresh()
		e.checkAfterRefresh()
	case fzAdvance:
		d := fzAdvances[r.n(len(fzAdvances))]
		e.logf("advance %v", d)
		e.sleep(d)
	case fzSetTopic:
		topic, v := fzSetTopics[r.n(len(fzSetTopics))], r.n(len(fzTopicVariants))
		e.logf("SetTopicParams %q variant %d", topic, v)
		e.setTopic(topic, fzTopicVariants[v]())
	case fzRecvRPC, fzSendRPC, fzDropRPC:
		p := r.n(len(fzPeers))
		rpc := fzRPC(r)
		e.logf("%s %q %s", fzOpNames[op], fzPeers[p], fzRPCString(rpc))
		switch op {
		case fzRecvRPC:
			fzSetFrom(rpc, fzPeers[p])
			if rpc.From() != fzPeers[p] {
				e.fail("fzSetFrom did not set the sender")
			}
			s.RecvRPC(rpc)
		case fzSendRPC:
			s.SendRPC(rpc, fzPeers[p])
		default:
			s.DropRPC(rpc, fzPeers[p])
		}
	case fzThrottle:
		p := r.n(len(fzPeers))
		e.logf("throttle %q", fzPeers[p])
		s.ThrottlePeer(fzPeers[p])
	case fzJoinLeave:
		topic, join := fzRPCTopics[r.n(len(fzRPCTopics))], r.u8()&1 == 0
		e.logf("join=%v %q", join, topic)
		if join {
			s.Join(topic)
		} else {
			s.Leave(topic)
		}
	case fzMalformed:
		e.malformed(r)
	case fzLoop:
		if e.loopRunning() {
			e.logf("Close")
			e.closeLoop()
		} else {
			e.logf("Start")
			e.startLoop()
		}
	case fzOddRPC:
		which, p := r.n(6), fzPeers[r.n(len(fzPeers))]
		e.logf("odd RPC %d to/from %q", which, p)
		switch which {
		case 0:
			s.RecvRPC(nil)
		case 1:
			s.SendRPC(nil, p)
		case 2:
			s.DropRPC(nil, p)
		case 3:
			s.RecvRPC(&pubsub.RPC{}) // no sender, no control
		case 4:
			s.SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{}}}, p)
		case 5:
			rpc := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{nil}, Graft: []*pb.ControlGraft{nil},
				Iwant: []*pb.ControlIWant{nil}, Ihave: []*pb.ControlIHave{nil}}, Publish: []*pb.Message{nil}}}
			fzSetFrom(rpc, p)
			s.RecvRPC(rpc)
			s.SendRPC(rpc, p)
			s.DropRPC(rpc, p)
		}
	}
	e.check(fzOpNames[op])
}

func fzRPCString(rpc *pubsub.RPC) string {
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
func (e *fzEnv) disconnect(i int) {
	p := fzPeers[i]
	_, known := e.s.Snapshot(p)
	before := e.s.Score(p)
	e.tr.apply(ours{e.s}, traceEvent{op: opDisconnect, peer: i})
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
			if ts.FirstMessageDeliveries != 0 || ts.InMesh || ts.MeshDeliveriesActive || ts.P1 != 0 || ts.P2 != 0 || ts.P3 != 0 {
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

func (e *fzEnv) addPenalty(i, count int) {
	p := fzPeers[i]
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
func (e *fzEnv) setTopic(topic string, tp *peerscore.TopicParams) {
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

// fzNoIDCharges are the rejection reasons that charge the sender without
// looking at the message ID.
var fzNoIDCharges = map[string]bool{
	pubsub.RejectMissingSignature: true, pubsub.RejectInvalidSignature: true, pubsub.RejectUnexpectedSignature: true,
	pubsub.RejectUnexpectedAuthInfo: true, pubsub.RejectSelfOrigin: true,
}

// malformed sends an event with a broken or odd message.
func (e *fzEnv) malformed(r *fzBytes) {
	kind, event, p, reason := r.n(6), r.n(5), fzPeers[r.n(len(fzPeers))], rejectReasons[r.n(len(rejectReasons))]
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
		e.s.ValidateMessage(msg)
	case 1:
		e.s.DeliverMessage(msg)
	case 2:
		e.s.RejectMessage(msg, reason)
	case 3:
		e.s.DuplicateMessage(msg)
	case 4:
		e.s.UndeliverableMessage(msg)
	}
	// Messages the scorer cannot use (no protobuf, no ID) change nothing,
	// but for rejections that need no ID: the sender of a message whose
	// signature or origin is bad is charged, as in pubsub.
	sigReject := event == 2 && fzNoIDCharges[reason]
	if kind <= 1 || kind == 3 && !sigReject || event == 4 {
		if after := fmt.Sprint(e.s.Snapshots()); after != before {
			e.fail("malformed message (kind %d, event %d) changed snapshots:\nbefore %s\nafter  %s", kind, event, before, after)
		}
	}
	if _, ok := e.s.Snapshot("stranger"); ok {
		e.fail("a message from an unknown peer made it known")
	}
}

// fzCap is the cap the engine applies to a counter (rules.go counterCap):
// NaN caps nothing, a negative cap is 0.
func fzCap(c float64) float64 {
	switch {
	case math.IsNaN(c):
		return math.Inf(1)
	case c < 0:
		return 0
	}
	return c
}

// fzFinite is the engine's clamp of a component (rules.go finite).
func fzFinite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x > math.MaxFloat64:
		return math.MaxFloat64
	case x < -math.MaxFloat64:
		return -math.MaxFloat64
	}
	return x
}

// fzSame reports whether got is want up to rounding: a relative 1e-12, or
// the same infinity.
func fzSame(want, got float64) bool {
	if want == got {
		return true
	}
	if math.IsNaN(want) || math.IsNaN(got) || math.IsInf(want, 0) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(want-got) <= 1e-12*math.Max(math.Abs(want), math.Abs(got))
}

// check verifies the invariants of the whole state after a step.
func (e *fzEnv) check(step string) {
	e.t.Helper()
	s := e.s
	snaps := s.Snapshots()
	st := s.Stats()
	if st.Peers != len(snaps) {
		e.fail("after %s: Stats().Peers = %d but %d snapshots", step, st.Peers, len(snaps))
	}
	if st.DeliveryRecords < 0 || st.DeliveryRecords > e.maxRecords {
		e.fail("after %s: %d delivery records, cap %d", step, st.DeliveryRecords, e.maxRecords)
	}
	if n := peerscore.DeliveryRecordsForTest(s); n != st.DeliveryRecords {
		e.fail("after %s: DeliveryRecordsForTest %d != Stats %d", step, n, st.DeliveryRecords)
	}
	if st.Promises < 0 {
		e.fail("after %s: %d promises", step, st.Promises)
	}
	for r, n := range st.Penalties {
		if old := e.penalties[r]; n < old {
			e.fail("after %s: penalty total %v went down from %d to %d", step, r, old, n)
		}
		e.penalties[r] = n
	}
	for topic, n := range st.LateDuplicates {
		if _, scored := e.topics[topic]; !scored || n == 0 {
			e.fail("after %s: late duplicates %d counted for %q, scored=%v", step, n, topic, scored)
		}
	}
	if bad := e.inspectBad.Load(); bad != nil {
		e.fail("%s", bad)
	}
	z := peerscore.InternalSizesForTest(s)
	if z.Peers != len(snaps) || z.IndexedPeers != len(snaps) || z.RecordsMap != z.Records {
		e.fail("after %s: internal books disagree: %+v (snapshots %d)", step, z, len(snaps))
	}

	// Who is known: every connected peer, and retained peers only.
	retained := 0
	for p := range e.connected {
		if snap, ok := snaps[p]; !ok || !snap.Connected {
			e.fail("after %s: connected peer %q missing or not connected (known=%v)", step, p, ok)
		}
	}
	for p, snap := range snaps {
		if !snap.Connected {
			retained++
			if !e.retained[p] {
				e.fail("after %s: peer %q is retained but never disconnected with a score <= 0", step, p)
			}
			if snap.RetainedUntil.IsZero() {
				e.fail("after %s: retained peer %q has no RetainedUntil", step, p)
			}
		} else if !snap.RetainedUntil.IsZero() {
			e.fail("after %s: connected peer %q has RetainedUntil %v", step, p, snap.RetainedUntil)
		}
		e.checkSnap(step, p, snap, snaps)
	}
	if st.Retained != retained {
		e.fail("after %s: Stats().Retained = %d, snapshots say %d", step, st.Retained, retained)
	}
	for _, p := range append(append([]peer.ID{}, fzPeers...), "stranger") {
		if _, ok := snaps[p]; ok {
			continue
		}
		if score := s.Score(p); score != 0 {
			e.fail("after %s: unknown peer %q scores %v", step, p, score)
		}
		if _, ok := s.Snapshot(p); ok {
			e.fail("after %s: peer %q not in Snapshots but Snapshot knows it", step, p)
		}
	}
}

// checkSnap verifies one peer's snapshot: nothing NaN, counters within
// [0, cap], every component what the parameters make of the counters, the
// parts adding up to the score, and Score agreeing with it.
func (e *fzEnv) checkSnap(step string, p peer.ID, snap peerscore.Snapshot, all map[peer.ID]peerscore.Snapshot) {
	e.t.Helper()
	bad := func(format string, args ...any) {
		e.t.Helper()
		e.fail("after %s: peer %q: %s\nsnapshot %+v", step, string(p), fmt.Sprintf(format, args...), snap)
	}
	score := e.s.Score(p)
	switch {
	case math.IsNaN(score) || math.IsNaN(snap.Score):
		bad("NaN score: Score %v, snapshot %v", score, snap.Score)
	case score != snap.Score:
		bad("Score %v != Snapshot.Score %v", score, snap.Score)
	}
	for name, v := range map[string]float64{"TopicScore": snap.TopicScore, "TopicScoreUncapped": snap.TopicScoreUncapped,
		"AppSpecificScore": snap.AppSpecificScore, "P5": snap.P5, "IPColocationFactor": snap.IPColocationFactor,
		"P6": snap.P6, "BehaviourPenalty": snap.BehaviourPenalty, "P7": snap.P7, "SlowPeerCounter": snap.SlowPeerCounter,
		"SlowPeer": snap.SlowPeer} {
		if math.IsNaN(v) {
			bad("%s is NaN", name)
		}
	}
	if snap.IPColocationFactor < 0 || snap.BehaviourPenalty < 0 || snap.SlowPeerCounter < 0 {
		bad("negative global counter")
	}
	if snap.P6 > 0 || snap.P7 > 0 || snap.SlowPeer > 0 {
		bad("positive penalty")
	}

	// The global components, from the parameters.
	gp := e.params
	raw := 0.0
	if gp.AppSpecificScore != nil {
		raw = gp.AppSpecificScore(p)
	}
	if math.IsNaN(raw) {
		raw = 0
	}
	p5 := raw * gp.AppSpecificWeight
	if math.IsNaN(p5) {
		p5 = 0
	}
	if !fzSame(raw, snap.AppSpecificScore) || !fzSame(p5, snap.P5) {
		bad("P5 is %v (raw %v), want %v (raw %v)", snap.P5, snap.AppSpecificScore, p5, raw)
	}
	if want := e.colocation(p, all); !fzSame(want, snap.IPColocationFactor) {
		bad("IPColocationFactor %v, want %v", snap.IPColocationFactor, want)
	}
	if want := fzFinite(snap.IPColocationFactor * gp.IPColocationFactorWeight); gp.IPColocationFactorWeight != 0 && !fzSame(want, snap.P6) {
		bad("P6 %v, want %v", snap.P6, want)
	}
	want7 := 0.0
	if gp.BehaviourPenaltyWeight != 0 && snap.BehaviourPenalty > gp.BehaviourPenaltyThreshold {
		x := snap.BehaviourPenalty - gp.BehaviourPenaltyThreshold
		want7 = fzFinite(x * x * gp.BehaviourPenaltyWeight)
	}
	if !fzSame(want7, snap.P7) {
		bad("P7 %v, want %v", snap.P7, want7)
	}
	wantSlow := 0.0
	if gp.SlowPeerWeight != 0 && snap.SlowPeerCounter > gp.SlowPeerThreshold {
		wantSlow = fzFinite((snap.SlowPeerCounter - gp.SlowPeerThreshold) * gp.SlowPeerWeight)
	}
	if !fzSame(wantSlow, snap.SlowPeer) {
		bad("SlowPeer %v, want %v", snap.SlowPeer, wantSlow)
	}

	// The topics.
	var uncapped float64
	for name, ts := range snap.Topics {
		tp, scored := e.topics[name]
		if !scored {
			bad("counters in topic %q, which is not scored", name)
		}
		e.checkTopic(bad, name, ts, tp)
		uncapped += ts.Score
	}
	if !fzSame(uncapped, snap.TopicScoreUncapped) && !(math.Abs(uncapped) > 1e300) {
		bad("TopicScoreUncapped %v, topics add up to %v", snap.TopicScoreUncapped, uncapped)
	}
	wantTopic := snap.TopicScoreUncapped
	if gp.TopicScoreCap > 0 && wantTopic > gp.TopicScoreCap {
		wantTopic = gp.TopicScoreCap
	}
	if wantTopic = fzFinite(wantTopic); !fzSame(wantTopic, snap.TopicScore) {
		bad("TopicScore %v, want %v (cap %v)", snap.TopicScore, wantTopic, gp.TopicScoreCap)
	}
	// P7 and the slow-peer penalty are each finite, and so is their sum.
	if sum := snap.TopicScore + snap.P5 + snap.P6 + fzFinite(snap.P7+snap.SlowPeer); !fzSame(sum, snap.Score) {
		bad("parts add up to %v, score %v", sum, snap.Score)
	}
}

// checkTopic verifies one topic's counters and components against the
// topic's current parameters.
func (e *fzEnv) checkTopic(bad func(string, ...any), name string, ts peerscore.TopicSnapshot, tp peerscore.TopicParams) {
	for field, c := range map[string]float64{"first": ts.FirstMessageDeliveries, "mesh": ts.MeshMessageDeliveries,
		"failure": ts.MeshFailurePenalty, "invalid": ts.InvalidMessageDeliveries} {
		if !(c >= 0) {
			bad("topic %q: %s counter %v below zero or NaN", name, field, c)
		}
	}
	if cap := fzCap(tp.FirstMessageDeliveriesCap); ts.FirstMessageDeliveries > cap {
		bad("topic %q: first deliveries %v above the cap %v", name, ts.FirstMessageDeliveries, cap)
	}
	if cap := fzCap(tp.MeshMessageDeliveriesCap); ts.MeshMessageDeliveries > cap {
		bad("topic %q: mesh deliveries %v above the cap %v", name, ts.MeshMessageDeliveries, cap)
	}
	if ts.TimeInMesh < 0 || (!ts.InMesh && ts.TimeInMesh != 0) {
		bad("topic %q: time in mesh %v (in mesh: %v)", name, ts.TimeInMesh, ts.InMesh)
	}
	if ts.TopicWeight != tp.TopicWeight {
		bad("topic %q: weight %v, want %v", name, ts.TopicWeight, tp.TopicWeight)
	}
	var p1, p2, p3, p3b, p4 float64
	if ts.InMesh && tp.TimeInMeshWeight != 0 && tp.TimeInMeshQuantum > 0 {
		q := float64(ts.TimeInMesh / tp.TimeInMeshQuantum)
		if q >= tp.TimeInMeshCap {
			q = tp.TimeInMeshCap
		}
		p1 = fzFinite(q * tp.TimeInMeshWeight)
	}
	if tp.FirstMessageDeliveriesWeight != 0 {
		p2 = fzFinite(ts.FirstMessageDeliveries * tp.FirstMessageDeliveriesWeight)
	}
	if ts.MeshDeliveriesActive && tp.MeshMessageDeliveriesWeight != 0 && ts.MeshMessageDeliveries < tp.MeshMessageDeliveriesThreshold {
		d := tp.MeshMessageDeliveriesThreshold - ts.MeshMessageDeliveries
		p3 = fzFinite(d * d * tp.MeshMessageDeliveriesWeight)
	}
	if tp.MeshFailurePenaltyWeight != 0 {
		p3b = fzFinite(ts.MeshFailurePenalty * tp.MeshFailurePenaltyWeight)
	}
	if tp.InvalidMessageDeliveriesWeight != 0 {
		p4 = fzFinite(ts.InvalidMessageDeliveries * ts.InvalidMessageDeliveries * tp.InvalidMessageDeliveriesWeight)
	}
	for _, c := range []struct {
		name      string
		want, got float64
	}{{"P1", p1, ts.P1}, {"P2", p2, ts.P2}, {"P3", p3, ts.P3}, {"P3b", p3b, ts.P3b}, {"P4", p4, ts.P4}} {
		if !fzSame(c.want, c.got) {
			bad("topic %q: %s %v, want %v", name, c.name, c.got, c.want)
		}
	}
	if ts.P1 < 0 || ts.P2 < 0 || ts.P3 > 0 || ts.P3b > 0 || ts.P4 > 0 {
		bad("topic %q: a component has the wrong sign: %+v", name, ts)
	}
	if !ts.InMesh && (ts.P1 != 0 || ts.P3 != 0 || ts.MeshDeliveriesActive) {
		bad("topic %q: P1/P3 outside the mesh: %+v", name, ts)
	}
	var total float64
	if tp.TopicWeight != 0 {
		total = fzFinite((ts.P1 + ts.P2 + ts.P3 + ts.P3b + ts.P4) * tp.TopicWeight)
	}
	if !fzSame(total, ts.Score) {
		bad("topic %q: score %v, parts times weight %v", name, ts.Score, total)
	}
}

// colocation recomputes P6's raw factor from every known peer's addresses.
func (e *fzEnv) colocation(p peer.ID, all map[peer.ID]peerscore.Snapshot) float64 {
	if e.params.IPColocationFactorWeight == 0 {
		return all[p].IPColocationFactor // not tracked when off; nothing to check
	}
	peersAt := map[string]map[peer.ID]bool{}
	for q, snap := range all {
		for _, ip := range snap.IPs {
			if peersAt[ip] == nil {
				peersAt[ip] = map[peer.ID]bool{}
			}
			peersAt[ip][q] = true
		}
	}
	var sum float64
	for _, ip := range all[p].IPs {
		if fzWhitelisted(e.params.IPColocationFactorWhitelist, ip) {
			continue
		}
		if n := len(peersAt[ip]); n > e.params.IPColocationFactorThreshold {
			x := float64(n - e.params.IPColocationFactorThreshold)
			sum += x * x
		}
	}
	return sum
}

func fzWhitelisted(list []*net.IPNet, addr string) bool {
	ip := net.ParseIP(addr)
	for _, n := range list {
		if n != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// checkAfterRefresh: Refresh forgets every retained peer whose time is up.
func (e *fzEnv) checkAfterRefresh() {
	now := time.Now()
	for p, snap := range e.s.Snapshots() {
		if !snap.Connected && now.After(snap.RetainedUntil) {
			e.fail("Refresh kept retained peer %q past its time (%v < now %v)", p, snap.RetainedUntil, now)
		}
	}
}

// finish disconnects everyone, lets time pass beyond SeenMsgTTL,
// RetainScore and the IWANT follow-up, and checks that the scorer holds
// nothing any more.
func (e *fzEnv) finish() {
	e.logf("finish")
	if e.loopRunning() {
		e.closeLoop()
	}
	for i := range fzPeers {
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
	for _, p := range fzPeers {
		if score := e.s.Score(p); score != 0 {
			e.fail("forgotten peer %q scores %v", p, score)
		}
	}
}

// fzRunEvents runs one event fuzz case.
func fzRunEvents(t *testing.T, data []byte) {
	synctest.Test(t, func(t *testing.T) {
		r := &fzBytes{b: data}
		e := fzNewEnv(t, r)
		defer func() { _ = e.s.Close() }() // no loop may outlive the bubble
		e.check("New")
		for steps := 0; r.more() && steps < 400; steps++ {
			e.step(r)
		}
		if fzTrace {
			for p, snap := range e.s.Snapshots() {
				e.logf("  %q score %v: %+v", p, snap.Score, snap)
			}
			e.logf("  stats %+v", e.s.Stats())
		}
		e.finish()
		if fzTrace {
			t.Logf("events:\n  %s", strings.Join(e.log, "\n  "))
		}
	})
}

// fzTrace (FZ_TRACE=1 in the environment) logs every decoded event, to
// read what a seed or a crasher does.
var fzTrace = os.Getenv("FZ_TRACE") != ""

// fzSeed encodes a case: the variant, the option flags and the events,
// each an opcode followed by its argument bytes.
func fzSeed(variant, opts byte, events ...[]byte) []byte {
	out := []byte{variant, opts}
	for _, ev := range events {
		out = append(out, ev...)
	}
	return out
}

func fzEv(op int, args ...byte) []byte { return append([]byte{byte(op)}, args...) }

// fzEventSeeds are meaningful cases, also written to testdata/fuzz/FuzzEvents.
func fzEventSeeds() map[string][]byte {
	lifeOfAMessage := [][]byte{
		fzEv(fzConnect, 0), fzEv(fzConnect, 1), fzEv(fzConnect, 2),
		fzEv(fzGraft, 0, 0), fzEv(fzGraft, 1, 0), fzEv(fzAdvance, 3), fzEv(fzAdvance, 3), fzEv(fzRefresh),
		fzEv(fzValidate, 0, 0), fzEv(fzDuplicate, 0, 1), fzEv(fzDeliver, 0, 0), fzEv(fzAdvance, 1),
		fzEv(fzDuplicate, 0, 2), fzEv(fzAdvance, 2), fzEv(fzDuplicate, 0, 1),
		fzEv(fzValidate, 1, 1), fzEv(fzDuplicate, 1, 0), fzEv(fzReject, 1, 1, 0), fzEv(fzDuplicate, 1, 2),
		fzEv(fzValidate, 6, 2), fzEv(fzDeliver, 6, 2),
		fzEv(fzAdvance, 3), fzEv(fzRefresh), fzEv(fzDisconnect, 1), fzEv(fzAdvance, 4), fzEv(fzRefresh),
	}
	router := [][]byte{
		fzEv(fzConnect, 0), fzEv(fzConnect, 3), fzEv(fzJoinLeave, 0, 0),
		// we ask p0 for m0 and m1 (IWANT), p0 delivers m0 only
		fzEv(fzSendRPC, 0, 0x01, 0x40, 2, 0, 1),
		fzEv(fzDeliver, 0, 0), fzEv(fzAdvance, 4), fzEv(fzRefresh),
		// p3 prunes us in t0 with a 60s backoff, then grafts at once (flood) and later
		fzEv(fzRecvRPC, 3, 0x01, 0x04, 0, 3), fzEv(fzRecvRPC, 3, 0x01, 0x01, 0),
		fzEv(fzAdvance, 4), fzEv(fzRecvRPC, 3, 0x01, 0x01, 0),
		// a throttled peer's promises are void
		fzEv(fzSendRPC, 3, 0x01, 0x40, 1, 2), fzEv(fzThrottle, 3), fzEv(fzAdvance, 4), fzEv(fzRefresh),
		// dropped RPCs make a slow peer
		fzEv(fzDropRPC, 0, 0x60), fzEv(fzDropRPC, 0, 0x61, 0x08, 0, 2), fzEv(fzAdvance, 3), fzEv(fzRefresh),
		// odd RPCs
		fzEv(fzOddRPC, 0, 0), fzEv(fzOddRPC, 1, 0), fzEv(fzOddRPC, 2, 0), fzEv(fzOddRPC, 3, 0),
		fzEv(fzOddRPC, 4, 0), fzEv(fzOddRPC, 5, 0), fzEv(fzJoinLeave, 0, 1),
	}
	badInput := [][]byte{
		fzEv(fzConnect, 0), fzEv(fzConnect, 4),
		fzEv(fzPenalty, 0, 0), fzEv(fzPenalty, 0, 1), fzEv(fzPenalty, 0, 2), fzEv(fzPenalty, 0, 9),
		fzEv(fzPenalty, 0, 7), fzEv(fzPenalty, 2, 3), fzEv(fzPenalty, 4, 4),
		fzEv(fzMalformed, 0, 0, 0), fzEv(fzMalformed, 1, 1, 0), fzEv(fzMalformed, 2, 2, 0, 0),
		fzEv(fzMalformed, 3, 3, 0), fzEv(fzMalformed, 4, 2, 0, 0), fzEv(fzMalformed, 5, 1, 0),
		fzEv(fzMalformed, 2, 4, 0),
		fzEv(fzSetTopic, 0, 5), fzEv(fzSetTopic, 0, 6), fzEv(fzSetTopic, 1, 7), fzEv(fzSetTopic, 2, 8),
		fzEv(fzSetTopic, 3, 9), fzEv(fzSetTopic, 0, 10), fzEv(fzSetTopic, 1, 11), fzEv(fzSetTopic, 0, 12),
		fzEv(fzSetTopic, 0, 13), fzEv(fzSetTopic, 2, 0), fzEv(fzGraft, 0, 2), fzEv(fzValidate, 4, 0),
		fzEv(fzDeliver, 4, 0), fzEv(fzDisconnect, 3), fzEv(fzAdvance, 6), fzEv(fzRefresh),
	}
	retention := [][]byte{
		fzEv(fzConnect, 0), fzEv(fzConnect, 1), fzEv(fzConnect, 2), fzEv(fzConnect, 3),
		fzEv(fzSetIPs, 0, 0x03), fzEv(fzSetIPs, 1, 0x01), fzEv(fzSetIPs, 2, 0x81), fzEv(fzSetIPs, 3, 0x1c),
		fzEv(fzGraft, 1, 0), fzEv(fzAdvance, 3), fzEv(fzAdvance, 3), fzEv(fzAdvance, 3), fzEv(fzRefresh),
		fzEv(fzValidate, 2, 1), fzEv(fzReject, 2, 1, 0), fzEv(fzDisconnect, 1), fzEv(fzDisconnect, 0),
		fzEv(fzAdvance, 3), fzEv(fzRefresh), fzEv(fzConnect, 1), fzEv(fzDisconnect, 1),
		fzEv(fzAdvance, 4), fzEv(fzRefresh), fzEv(fzAdvance, 5), fzEv(fzRefresh),
	}
	loop := [][]byte{
		fzEv(fzConnect, 0), fzEv(fzConnect, 1), fzEv(fzGraft, 0, 0), fzEv(fzGraft, 1, 1),
		fzEv(fzValidate, 0, 0), fzEv(fzDeliver, 0, 0), fzEv(fzAdvance, 4), fzEv(fzSendRPC, 1, 0x01, 0x40, 1, 3),
		fzEv(fzAdvance, 4), fzEv(fzLoop), fzEv(fzAdvance, 3), fzEv(fzLoop), fzEv(fzLoop),
	}
	return map[string][]byte{
		"life-of-a-message-full":       fzSeed(0, 0, lifeOfAMessage...),
		"life-of-a-message-sparse":     fzSeed(1, fzOptMsgIDFn, lifeOfAMessage...),
		"life-of-a-message-extreme":    fzSeed(2, fzOptSmallCap, lifeOfAMessage...),
		"life-of-a-message-huge":       fzSeed(3, fzOptAppNegative, lifeOfAMessage...),
		"router-penalties":             fzSeed(0, fzOptFastRouter, router...),
		"router-penalties-huge":        fzSeed(3, 0, router...),
		"router-off":                   fzSeed(0, fzOptNoRouter, router...),
		"bad-input-full":               fzSeed(0, 0, badInput...),
		"bad-input-extreme":            fzSeed(2, fzOptAppNegative, badInput...),
		"retention-colocation":         fzSeed(0, fzOptAppNegative, retention...),
		"retention-sparse":             fzSeed(1, fzOptAppNegative, retention...),
		"loop-with-inspect":            fzSeed(0, fzOptStartLoop|fzOptInspect|fzOptFastRouter, loop...),
		"loop-started-by-event-sparse": fzSeed(1, fzOptInspect, loop...),
		// two bugs, fixed, as the fuzzer (and a reading) found them
		"fixed-penalty-total-wrap": []byte("00*0200200"),
		"fixed-nan-behaviour-overflow": fzSeed(3, 0, fzEv(fzConnect, 2), fzEv(fzPenalty, 2, 7),
			fzEv(fzDropRPC, 2, 0x20)),
	}
}

func FuzzEvents(f *testing.F) {
	seeds := fzEventSeeds()
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(seeds[name])
	}
	f.Fuzz(fzRunEvents)
}
