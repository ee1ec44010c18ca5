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

// fuzzVariants are the parameter sets of the event fuzzer (byte 0 of the
// input). All are valid; some are extreme.
var fuzzVariants = []struct {
	name   string
	params func(shift float64) *peerscore.Params
}{
	{"full", fuzzParamsFull},
	{"sparse", fuzzParamsSparse},
	{"extreme-app", fuzzParamsExtremeApp},
	{"huge", fuzzParamsHuge},
	{"inf", fuzzParamsInf},
	{"inf-mixed", fuzzParamsInfMixed},
	// Keep the count a divisor of 48, so that the byte '0' in the corpus
	// keeps picking "full".
}

// fuzzApp returns an AppSpecificScore giving the peers of fuzzPeers the values
// vals, in order, plus shift.
func fuzzApp(shift float64, vals ...float64) func(peer.ID) float64 {
	return func(p peer.ID) float64 {
		for i, q := range fuzzPeers {
			if q == p && i < len(vals) {
				return vals[i] + shift
			}
		}
		return shift
	}
}

func fuzzTopicFull() *peerscore.TopicParams {
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

func fuzzTopicLight() *peerscore.TopicParams {
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

// fuzzTopicSparse sets only some components and gives the unused ones the
// odd values validation lets through when their weight is zero: a negative
// mesh delivery cap (the engine makes it 0), a decay factor of 7 (made 0),
// and a mesh delivery threshold that still charges P3b.
func fuzzTopicSparse() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation:         true,
		TopicWeight:                  1,
		FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 3,
		MeshMessageDeliveriesDecay: 7, MeshMessageDeliveriesCap: -1, MeshMessageDeliveriesThreshold: 3,
		MeshFailurePenaltyWeight: -1, MeshFailurePenaltyDecay: 0.5,
		InvalidMessageDeliveriesDecay: 0.5,
	}
}

// fuzzTopicNaNCap has a zero topic weight, a NaN first delivery cap (no cap)
// with a zero decay, and a negative time in mesh quantum, all on
// zero-weight components.
func fuzzTopicNaNCap() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation: true,
		TimeInMeshQuantum:    -time.Second, TimeInMeshCap: math.NaN(),
		FirstMessageDeliveriesCap:      math.NaN(),
		InvalidMessageDeliveriesWeight: -1, InvalidMessageDeliveriesDecay: 0.99,
	}
}

// fuzzTopicHuge has weights and caps near the float64 limits.
func fuzzTopicHuge() *peerscore.TopicParams {
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

// fuzzTopicInf has every weight at ±1e308 and every cap and threshold at
// the float64 limit: every component saturates at once.
func fuzzTopicInf() *peerscore.TopicParams {
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

// fuzzTopicInfGood has only the positive components, at the float64
// limits; fuzzTopicInfBoth has every component at ±MaxFloat64 and a topic
// weight of 0.5, so that its components cancel and overflow on the way to
// a sum that is then halved.
func fuzzTopicInfGood() *peerscore.TopicParams {
	return &peerscore.TopicParams{
		SkipAtomicValidation: true,
		TopicWeight:          math.MaxFloat64,
		TimeInMeshWeight:     1e308, TimeInMeshQuantum: time.Millisecond, TimeInMeshCap: 1e308,
		FirstMessageDeliveriesWeight: math.MaxFloat64, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 1e308,
	}
}

func fuzzTopicInfBoth() *peerscore.TopicParams {
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

func fuzzParamsFull(shift float64) *peerscore.Params {
	_, ten, _ := net.ParseCIDR("10.0.0.0/8")
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fuzzTopicFull(), "t1": fuzzTopicLight()},
		TopicScoreCap:               8,
		AppSpecificScore:            fuzzApp(shift, 2, -1, 0, 0.5, -3),
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

// fuzzParamsSparse: SkipAtomicValidation with most groups left at zero: the
// decay interval and SeenMsgTTL take their defaults (1s, 2m), DecayToZero
// is 0 (nothing snaps to zero), no application score.
func fuzzParamsSparse(shift float64) *peerscore.Params {
	p := &peerscore.Params{
		SkipAtomicValidation:   true,
		Topics:                 map[string]*peerscore.TopicParams{"t0": fuzzTopicSparse(), "t1": fuzzTopicNaNCap()},
		BehaviourPenaltyWeight: -1, BehaviourPenaltyDecay: 0.5,
		RetainScore: time.Minute,
	}
	if shift != 0 {
		p.AppSpecificScore, p.AppSpecificWeight = fuzzApp(shift), 1
	}
	return p
}

// fuzzParamsExtremeApp: the application answers NaN, ±Inf and ±1e308.
func fuzzParamsExtremeApp(shift float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics:               map[string]*peerscore.TopicParams{"t0": fuzzTopicFull(), "t1": fuzzTopicSparse()},
		TopicScoreCap:        1,
		AppSpecificScore:     fuzzApp(shift, math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1e308),
		AppSpecificWeight:    1,
		DecayInterval:        time.Second, DecayToZero: 0.5,
		SeenMsgTTL: time.Second,
	}
}

// fuzzParamsHuge: weights near the float64 limits everywhere.
func fuzzParamsHuge(shift float64) *peerscore.Params {
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fuzzTopicHuge(), "t1": fuzzTopicFull()},
		TopicScoreCap:               1e308,
		AppSpecificScore:            fuzzApp(shift, 1e308, -1, math.Inf(1), 0, -1e308),
		AppSpecificWeight:           1e300,
		IPColocationFactorWeight:    -1e300,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1e300, BehaviourPenaltyDecay: 0.999,
		SlowPeerWeight: -1e300, SlowPeerDecay: 0.999,
		DecayInterval: time.Second, DecayToZero: 1e-300,
		RetainScore: time.Hour, SeenMsgTTL: 2 * time.Minute,
	}
}

// fuzzParamsInf: weights of ±1e308 everywhere, caps and thresholds at the
// limits Validate allows, no topic cap and DecayToZero as small as it
// goes. P5 is 1e308 times the application's score: ±Inf for most peers.
func fuzzParamsInf(shift float64) *peerscore.Params {
	return &peerscore.Params{
		Topics:                      map[string]*peerscore.TopicParams{"t0": fuzzTopicInf(), "t1": fuzzTopicFull()},
		AppSpecificScore:            fuzzApp(shift, 2, -1, 0, 0.5, -3),
		AppSpecificWeight:           1e308,
		IPColocationFactorWeight:    -1e308,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1e308, BehaviourPenaltyDecay: 0.999,
		SlowPeerWeight: -1e308, SlowPeerDecay: 0.999,
		DecayInterval: time.Second, DecayToZero: math.SmallestNonzeroFloat64,
		RetainScore: time.Hour, SeenMsgTTL: 2 * time.Minute,
	}
}

// fuzzParamsInfMixed: one topic saturating up, one both ways, a topic cap of
// MaxFloat64, an infinite negative AppSpecificWeight (so P5 is -Inf, +Inf
// or, for an application score of 0 or NaN, 0), and penalty weights of
// -MaxFloat64.
func fuzzParamsInfMixed(shift float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation:        true,
		Topics:                      map[string]*peerscore.TopicParams{"t0": fuzzTopicInfGood(), "t1": fuzzTopicInfBoth()},
		TopicScoreCap:               math.MaxFloat64,
		AppSpecificScore:            fuzzApp(shift, 0, 1, -1, math.NaN(), 1e-308),
		AppSpecificWeight:           math.Inf(-1),
		IPColocationFactorWeight:    -math.MaxFloat64,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -math.MaxFloat64, BehaviourPenaltyDecay: 0.5,
		SlowPeerWeight: -math.MaxFloat64, SlowPeerDecay: 0.5,
		DecayInterval: time.Second, DecayToZero: 0.01,
		RetainScore: time.Minute, SeenMsgTTL: time.Minute,
	}
}

// fuzzTopicVariants are what SetTopicParams is called with: valid ones, nil,
// and invalid ones, which must be refused with nothing changed.
var fuzzTopicVariants = []func() *peerscore.TopicParams{
	fuzzTopicFull, fuzzTopicLight, fuzzTopicSparse, fuzzTopicNaNCap, fuzzTopicHuge,
	func() *peerscore.TopicParams { return nil },
	func() *peerscore.TopicParams { tp := fuzzTopicFull(); tp.TopicWeight = -1; return tp },
	func() *peerscore.TopicParams { tp := fuzzTopicFull(); tp.TopicWeight = math.NaN(); return tp },
	func() *peerscore.TopicParams { tp := fuzzTopicFull(); tp.InvalidMessageDeliveriesDecay = 1; return tp },
	func() *peerscore.TopicParams {
		tp := fuzzTopicFull()
		tp.FirstMessageDeliveriesCap = math.Inf(1)
		return tp
	},
	func() *peerscore.TopicParams {
		tp := fuzzTopicFull()
		tp.MeshMessageDeliveriesActivation = 0
		return tp
	},
	func() *peerscore.TopicParams { tp := fuzzTopicFull(); tp.TimeInMeshQuantum = 0; return tp },
	func() *peerscore.TopicParams { tp := fuzzTopicFull(); tp.MeshMessageDeliveriesWindow = -1; return tp },
	func() *peerscore.TopicParams {
		tp := fuzzTopicSparse()
		tp.MeshFailurePenaltyDecay = math.NaN()
		return tp
	},
	fuzzTopicInf, fuzzTopicInfGood, fuzzTopicInfBoth,
}

func fuzzStr(list []string, i int) *string {
	if i >= len(list) {
		return nil
	}
	s := list[i]
	return &s
}

// fuzzRPC decodes an RPC: published messages (what DropRPC counts), and a
// control message, or none, with GRAFTs, PRUNEs (with or without a
// backoff), IHAVEs, IWANTs and IDONTWANTs over arbitrary topics and IDs.
func fuzzRPC(r *fuzzBytes) *pubsub.RPC {
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
		ctl.Graft = append(ctl.Graft, &pb.ControlGraft{TopicID: fuzzStr(fuzzRPCTopics, r.n(len(fuzzRPCTopics)+1))})
	}
	for range (counts >> 2) & 3 {
		pr := &pb.ControlPrune{TopicID: fuzzStr(fuzzRPCTopics, r.n(len(fuzzRPCTopics)+1))}
		if i := r.n(len(fuzzBackoffs) + 1); i < len(fuzzBackoffs) {
			b := fuzzBackoffs[i]
			pr.Backoff = &b
		}
		ctl.Prune = append(ctl.Prune, pr)
	}
	ids := func() []string {
		var out []string
		for range r.n(4) {
			out = append(out, fuzzRPCIDs[r.n(len(fuzzRPCIDs))])
		}
		return out
	}
	for range (counts >> 4) & 3 {
		ctl.Ihave = append(ctl.Ihave, &pb.ControlIHave{TopicID: fuzzStr(fuzzRPCTopics, r.n(len(fuzzRPCTopics)+1)), MessageIDs: ids()})
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
