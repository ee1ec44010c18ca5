package peerscore_test

// Parameter sets and RPC shapes for FuzzEvents (fuzz_events_test.go).

import (
	"math"
	"net"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
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
	{"inf", fzParamsInf},
	{"inf-mixed", fzParamsInfMixed},
	// Keep the count a divisor of 48, so that the byte '0' in the corpus
	// keeps picking "full".
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

// fzTopicInf has every weight at ±1e308 and every cap and threshold at
// the float64 limit: every component saturates at once.
func fzTopicInf() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		TopicWeight:      1e308,
		TimeInMeshWeight: 1e308, TimeInMeshQuantum: time.Nanosecond, TimeInMeshCap: math.MaxFloat64,
		FirstMessageDeliveriesWeight: 1e308, FirstMessageDeliveriesDecay: 0.999999, FirstMessageDeliveriesCap: math.MaxFloat64,
		MeshMessageDeliveriesWeight: -1e308, MeshMessageDeliveriesDecay: 0.5, MeshMessageDeliveriesCap: math.MaxFloat64,
		MeshMessageDeliveriesThreshold: math.MaxFloat64, MeshMessageDeliveriesWindow: time.Hour,
		MeshMessageDeliveriesActivation: time.Second,
		MeshFailurePenaltyWeight:        -1e308, MeshFailurePenaltyDecay: 0.999,
		InvalidMessageDeliveriesWeight: -1e308, InvalidMessageDeliveriesDecay: 0.999999,
	}
}

// fzTopicInfGood has only the positive components, at the float64
// limits; fzTopicInfBoth has every component at ±MaxFloat64 and a topic
// weight of 0.5, so that its components cancel and overflow on the way to
// a sum that is then halved.
func fzTopicInfGood() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation: true,
		TopicWeight:          math.MaxFloat64,
		TimeInMeshWeight:     1e308, TimeInMeshQuantum: time.Millisecond, TimeInMeshCap: 1e308,
		FirstMessageDeliveriesWeight: math.MaxFloat64, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 1e308,
	}
}

func fzTopicInfBoth() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation: true,
		TopicWeight:          0.5,
		TimeInMeshWeight:     math.MaxFloat64, TimeInMeshQuantum: time.Millisecond, TimeInMeshCap: 1e308,
		FirstMessageDeliveriesWeight: math.MaxFloat64, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 1e308,
		MeshMessageDeliveriesWeight: -math.MaxFloat64, MeshMessageDeliveriesDecay: 0.9, MeshMessageDeliveriesCap: 3,
		MeshMessageDeliveriesThreshold: 1e308, MeshMessageDeliveriesActivation: time.Second,
		MeshFailurePenaltyWeight: -1e308, MeshFailurePenaltyDecay: 0.5,
		InvalidMessageDeliveriesWeight: -math.MaxFloat64, InvalidMessageDeliveriesDecay: 0.5,
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

// fzParamsInf: weights of ±1e308 everywhere, caps and thresholds at the
// limits Validate allows, no topic cap and DecayToZero as small as it
// goes. P5 is 1e308 times the application's score: ±Inf for most peers.
func fzParamsInf(shift float64) *peerscore.Params {
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fzTopicInf(), "t1": fzTopicFull()},
		AppSpecificScore:            fzApp(shift, 2, -1, 0, 0.5, -3),
		AppSpecificWeight:           1e308,
		IPColocationFactorWeight:    -1e308,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1e308, BehaviourPenaltyDecay: 0.999,
		SlowPeerWeight: -1e308, SlowPeerDecay: 0.999,
		DecayInterval: time.Second, DecayToZero: math.SmallestNonzeroFloat64,
		RetainScore: time.Hour, SeenMsgTTL: 2 * time.Minute,
	}
}

// fzParamsInfMixed: one topic saturating up, one both ways, a topic cap of
// MaxFloat64, an infinite negative AppSpecificWeight (so P5 is -Inf, +Inf
// or, for an application score of 0 or NaN, 0), and penalty weights of
// -MaxFloat64.
func fzParamsInfMixed(shift float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation:        true,
		Topics:                      map[string]*peerscore.TopicParams{"t0": fzTopicInfGood(), "t1": fzTopicInfBoth()},
		TopicScoreCap:               math.MaxFloat64,
		AppSpecificScore:            fzApp(shift, 0, 1, -1, math.NaN(), 1e-308),
		AppSpecificWeight:           math.Inf(-1),
		IPColocationFactorWeight:    -math.MaxFloat64,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -math.MaxFloat64, BehaviourPenaltyDecay: 0.5,
		SlowPeerWeight: -math.MaxFloat64, SlowPeerDecay: 0.5,
		DecayInterval: time.Second, DecayToZero: 0.01,
		RetainScore: time.Minute, SeenMsgTTL: time.Minute,
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
	fzTopicInf, fzTopicInfGood, fzTopicInfBoth,
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
