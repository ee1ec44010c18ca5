package peerscore

import (
	"math"
	"net"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/peerscore/peerscore/internal/bounded"
)

// globalRules are the validated Params in the form the engine uses. Validate
// accepts some values pubsub would later trip over (a zero DecayInterval in
// SkipAtomicValidation mode, decay factors outside (0, 1) on components
// whose weight is zero); compiling them here keeps the engine free of
// special cases and of panics.
type globalRules struct {
	topicScoreCap float64

	appScore  func(peer.ID) float64
	appWeight float64

	colocationWeight    float64
	colocationThreshold int
	whitelist           []*net.IPNet

	behaviourWeight, behaviourThreshold, behaviourDecay float64
	slowWeight, slowThreshold, slowDecay                float64
	slowWrite                                           time.Duration // 0: off

	decayInterval time.Duration
	decayToZero   float64
	retainScore   time.Duration
	seenMsgTTL    time.Duration
}

// topicRules are one topic's validated TopicParams, compiled likewise.
type topicRules struct {
	name   string
	index  int32
	params TopicParams // as configured, for reporting

	weight float64

	timeInMeshWeight  float64
	timeInMeshQuantum time.Duration
	timeInMeshCap     float64

	firstWeight, firstDecay, firstCap float64

	meshWeight, meshDecay, meshCap, meshThreshold float64
	meshWindow, meshActivation                    time.Duration

	failureWeight, failureDecay float64

	invalidWeight, invalidDecay float64
}

func compileGlobal(p *Params) globalRules {
	g := globalRules{
		topicScoreCap:       p.TopicScoreCap,
		appScore:            p.AppSpecificScore,
		appWeight:           p.AppSpecificWeight,
		colocationWeight:    p.IPColocationFactorWeight,
		colocationThreshold: p.IPColocationFactorThreshold,
		behaviourWeight:     p.BehaviourPenaltyWeight,
		behaviourThreshold:  p.BehaviourPenaltyThreshold,
		behaviourDecay:      decayFactor(p.BehaviourPenaltyDecay),
		slowWeight:          p.SlowPeerWeight,
		slowThreshold:       p.SlowPeerThreshold,
		slowDecay:           decayFactor(p.SlowPeerDecay),
		slowWrite:           p.SlowPeerWriteThreshold,
		decayInterval:       p.DecayInterval,
		decayToZero:         p.DecayToZero,
		retainScore:         p.RetainScore,
		seenMsgTTL:          p.SeenMsgTTL,
	}
	if g.slowWeight == 0 {
		g.slowWrite = 0 // slow writes count only towards a weighted penalty
	}
	if g.appScore == nil {
		g.appScore = func(peer.ID) float64 { return 0 }
	}
	if g.decayInterval <= 0 {
		g.decayInterval = defaultDecayInterval
	}
	if g.seenMsgTTL == 0 {
		g.seenMsgTTL = pubsub.TimeCacheDuration
	}
	for _, n := range copyNets(p.IPColocationFactorWhitelist) {
		if n != nil { // pubsub would panic on a nil network; we skip it
			g.whitelist = append(g.whitelist, n)
		}
	}
	return g
}

func compileTopic(name string, index int32, tp *TopicParams) *topicRules {
	return &topicRules{
		name:              name,
		index:             index,
		params:            *tp,
		weight:            tp.TopicWeight,
		timeInMeshWeight:  tp.TimeInMeshWeight,
		timeInMeshQuantum: tp.TimeInMeshQuantum,
		timeInMeshCap:     tp.TimeInMeshCap,
		firstWeight:       tp.FirstMessageDeliveriesWeight,
		firstDecay:        decayFactor(tp.FirstMessageDeliveriesDecay),
		firstCap:          counterCap(tp.FirstMessageDeliveriesCap),
		meshWeight:        tp.MeshMessageDeliveriesWeight,
		meshDecay:         decayFactor(tp.MeshMessageDeliveriesDecay),
		meshCap:           counterCap(tp.MeshMessageDeliveriesCap),
		meshThreshold:     tp.MeshMessageDeliveriesThreshold,
		meshWindow:        tp.MeshMessageDeliveriesWindow,
		meshActivation:    tp.MeshMessageDeliveriesActivation,
		failureWeight:     tp.MeshFailurePenaltyWeight,
		failureDecay:      decayFactor(tp.MeshFailurePenaltyDecay),
		invalidWeight:     tp.InvalidMessageDeliveriesWeight,
		invalidDecay:      decayFactor(tp.InvalidMessageDeliveriesDecay),
	}
}

// decayFactor passes valid factors through. Validate only lets an invalid
// one through on a component whose weight is zero; treating it as 0 clears
// that unused counter at each decay instead of letting it grow or turn NaN.
func decayFactor(f float64) float64 {
	if f >= 0 && f <= 1 {
		return f
	}
	return 0
}

// counterCap passes valid caps through. Validate only lets an invalid one
// through on a component whose weight is zero. A NaN cap caps nothing, as
// in pubsub; a negative one becomes 0 so counters never go below zero.
func counterCap(c float64) float64 {
	switch {
	case math.IsNaN(c):
		return math.Inf(1)
	case c < 0:
		return 0
	}
	return c
}

// finite keeps a score component finite, so that no sum of components can
// become NaN: NaN counts as 0, infinities saturate.
func finite(x float64) float64 { return bounded.Finite(x) }

// sumScaled adds up n values, each finite, as if float64 had room for the
// partial sums: every value is scaled down by a power of two at least n,
// which is exact (but for subnormal values, far too small to matter when
// this is needed), so no partial sum can overflow, and the sum is scaled
// back up, to ±Inf only if it really is beyond ±MaxFloat64. Scaling by a
// power of two commutes with rounding, so where the plain sum does not
// overflow this gives the same bits. It is the fallback of sums whose
// plain form overflowed: MaxFloat64 + MaxFloat64 - MaxFloat64 is +Inf,
// not MaxFloat64.
func sumScaled(n int, at func(i int) float64) float64 {
	scale := bounded.Scale(n)
	var sum float64
	for i := range n {
		sum += at(i) * scale
	}
	return sum / scale
}
