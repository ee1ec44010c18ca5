package peerscore

import (
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The score function, in the order the package documentation teaches it:
// per topic P1 to P4 (breakdown), weighted and summed over topics, the
// topic cap, then P5, P6, P7 and the slow-peer penalty, and the total
// (addParts).
//
// The order of the additions is part of the function. Floating-point
// addition is not associative, and the scores must equal pubsub's on the
// same events (the parity test compares them after every event, to 1e-9
// relative: pubsub adds a peer's topics in map order, which varies from
// run to run), so every sum here adds its terms in pubsub's order: a topic's
// components P1+P2+P3+P3b+P4, then times the topic weight; the topics in
// the order the peer met them; and the total as topics + P5 + P6 + P7
// (with the slow-peer penalty, which pubsub lacks, added to P7, an exact
// zero when it is off). Every score the Scorer reports (Score, Snapshot,
// inspections, events, Save's ranking) is added up by addParts alone.
//
// What is cached: a peer's topic sum and its P7 (with the slow-peer
// penalty) change only with the peer's own events and Refresh, which
// republish them (publish, in scorer.go); Score reads them without a lock.
// P5 is the application's, called live; P6 moves with other peers, read
// live from the address counts (ipcolocation.go).

// Score returns p's score now: 0 for a peer the scorer does not know. It
// takes no lock and allocates nothing; the only work beyond reading the
// cached parts is the call to AppSpecificScore.
//
// The score is never NaN, but it can be +Inf or -Inf: when
// AppSpecificScore says so, or when the parts, with weights near the
// float64 limits, add up to more than ±MaxFloat64 (each part on its own is
// kept within ±MaxFloat64). pubsub's score is ±Inf there too, and an
// infinite score compares as it should with every threshold, which are
// finite: clamping it to ±MaxFloat64 would let a peer at -Inf pass a
// GraylistThreshold of -MaxFloat64 that it fails in pubsub.
func (s *Scorer) Score(p peer.ID) float64 {
	ps := s.peers.Get(p)
	if ps == nil {
		return 0
	}
	// total's body, written out: one call less on the router's hot path.
	topics, behaviour := ps.cache.load()
	return addParts(topics, s.appTerm(p), s.colocationTerm(ps), behaviour)
}

// total is ps's score given its weighted P5, read without a lock.
func (s *Scorer) total(ps *peerState, app float64) float64 {
	topics, behaviour := ps.cache.load()
	return addParts(topics, app, s.colocationTerm(ps), behaviour)
}

// topicParts are a topic's components, weighted, for one peer.
type topicParts struct {
	p1, p2, p3, p3b, p4 float64
	total               float64 // (p1+p2+p3+p3b+p4) * topic weight
}

// breakdown computes the topic's score for ts. Components with a zero weight
// are skipped rather than multiplied, which gives pubsub's value wherever
// pubsub has one and avoids its division by a zero quantum and its 0*Inf.
func (r *topicRules) breakdown(ts *topicStats) topicParts {
	var t topicParts
	if ts.inMesh && r.timeInMeshWeight != 0 {
		t.p1 = finite(ts.p1 * r.timeInMeshWeight)
	}
	if r.firstWeight != 0 {
		t.p2 = finite(ts.first * r.firstWeight)
	}
	if ts.meshActive && r.meshWeight != 0 && ts.mesh < r.meshThreshold {
		deficit := r.meshThreshold - ts.mesh
		t.p3 = finite(squareTimes(deficit, r.meshWeight))
	}
	if r.failureWeight != 0 && ts.failure != 0 {
		t.p3b = finite(ts.failure * r.failureWeight)
	}
	if r.invalidWeight != 0 && ts.invalid != 0 {
		t.p4 = finite(squareTimes(ts.invalid, r.invalidWeight))
	}
	if r.weight != 0 {
		t.total = weighTopic(t.p1+t.p2+t.p3+t.p3b+t.p4, &t, r.weight)
	}
	return t
}

// weighTopic returns the topic's score: sum, the sum of t's components,
// times the topic weight, within ±MaxFloat64. The components are finite
// but can overflow on the way to a sum that does not (P1 and P2 at
// MaxFloat64, P4 at -MaxFloat64): then they are added and weighed again
// at an eighth of their size, as sumScaled does.
func weighTopic(sum float64, t *topicParts, weight float64) float64 {
	if math.IsInf(sum, 0) {
		const eighth = 0.125
		sum = t.p1*eighth + t.p2*eighth + t.p3*eighth + t.p3b*eighth + t.p4*eighth
		return finite(sum * weight / eighth)
	}
	return finite(sum * weight)
}

// timeInMeshValue returns P1 for a time in mesh, and the time in mesh at
// which it next changes, so that Refresh divides only when it must.
func timeInMeshValue(r *topicRules, meshTime time.Duration) (float64, time.Duration) {
	if r.timeInMeshQuantum <= 0 {
		return 0, math.MaxInt64
	}
	quanta := meshTime / r.timeInMeshQuantum
	if float64(quanta) >= r.timeInMeshCap {
		return r.timeInMeshCap, math.MaxInt64
	}
	next := (quanta + 1) * r.timeInMeshQuantum
	if next/r.timeInMeshQuantum != quanta+1 { // overflow: never reached
		next = math.MaxInt64
	}
	return float64(quanta), next
}

// topicsTerm sums the topics' contributions and applies TopicScoreCap, which
// limits only a positive sum.
func (s *Scorer) topicsTerm(ps *peerState) float64 {
	var sum float64
	for i := range ps.topics {
		sum += ps.topics[i].score
	}
	if math.IsInf(sum, 0) { // maybe only on the way: see sumScaled
		sum = sumScaled(len(ps.topics), func(i int) float64 { return ps.topics[i].score })
	}
	return s.capTopicSum(sum)
}

func (s *Scorer) capTopicSum(sum float64) float64 {
	if s.rules.topicScoreCap > 0 && sum > s.rules.topicScoreCap {
		sum = s.rules.topicScoreCap
	}
	return finite(sum)
}

// appTerm is the weighted P5.
func (s *Scorer) appTerm(p peer.ID) float64 {
	_, weighted := appComponent(s.rules.appScore(p), s.rules.appWeight)
	return weighted
}

// appComponent cleans an application score and weighs it. NaN (from the
// application, or a zero weight times an infinite score) counts as 0, so no
// score is ever NaN.
func appComponent(raw, weight float64) (clean, weighted float64) {
	if raw != raw {
		raw = 0
	}
	weighted = raw * weight
	if weighted != weighted {
		weighted = 0
	}
	return raw, weighted
}

// colocationTerm is the weighted P6, read live from the address counts.
// Safe without a lock.
func (s *Scorer) colocationTerm(ps *peerState) float64 {
	if s.rules.colocationWeight == 0 {
		return 0 // P6 off: inlined, no call on Score's path
	}
	return s.colocationWeighted(ps)
}

func (s *Scorer) colocationWeighted(ps *peerState) float64 {
	return finite(colocationFactor(ps.addrs(), s.rules.colocationThreshold) * s.rules.colocationWeight)
}

// behaviourTerm is the weighted P7 plus the slow-peer penalty. With the
// slow-peer penalty off it adds an exact zero, keeping pubsub's value.
func (s *Scorer) behaviourTerm(ps *peerState) float64 {
	p7, slow := s.behaviourParts(ps)
	return finite(p7 + slow)
}

func (s *Scorer) behaviourParts(ps *peerState) (p7, slow float64) {
	return s.behaviourWeighted(ps), finite(s.slowValue(ps) * s.rules.slowWeight)
}

// behaviourWeighted is the weighted P7: the squared excess of the counter
// over the threshold, times the weight.
func (s *Scorer) behaviourWeighted(ps *peerState) float64 {
	if s.rules.behaviourWeight == 0 || ps.behaviour <= s.rules.behaviourThreshold {
		return 0
	}
	excess := ps.behaviour - s.rules.behaviourThreshold
	return finite(squareTimes(excess, s.rules.behaviourWeight))
}

// squareTimes is x²·w, computed as pubsub does, (x·x)·w, to the same bits.
// Where x·x alone would overflow although x²·w does not (a huge counter, a
// tiny weight), pubsub's product is ±Inf; here the factors are multiplied
// with their exponents apart (exact, as scaling by a power of two is), so
// that the component is the true product, held within ±MaxFloat64 only
// when the product itself is beyond it.
func squareTimes(x, w float64) float64 {
	p := x * x * w
	if p-p == 0 {
		return p // finite: the common case
	}
	fx, ex := math.Frexp(x)
	fw, ew := math.Frexp(w)
	return math.Ldexp(fx*fx*fw, 2*ex+ew)
}

// slowValue is the slow-peer penalty: linear in the counter's excess over
// the threshold, since every dropped message costs the network the same.
func (s *Scorer) slowValue(ps *peerState) float64 {
	if s.rules.slowWeight == 0 || ps.slow <= s.rules.slowThreshold {
		return 0
	}
	return ps.slow - s.rules.slowThreshold
}

// addParts adds up a score's parts. Every score the scorer reports is
// added up here, in pubsub's order (topics, P5, P6, P7), so that they agree
// with each other exactly (the fuzz invariants compare Score and
// Snapshot.Score with ==), and with pubsub to 1e-9 relative, which is what
// the parity test checks: pubsub sums a peer's topics in map order, which
// varies from run to run, and floating-point addition is not associative,
// so its topic sum, and the total with it, may differ from ours in the
// last bits.
// Only P5 can be infinite, so the total is never NaN. The others are
// finite, but their sum can overflow on the way to a total that does not
// (topics of MaxFloat64 plus P5 of MaxFloat64 plus P7 of -MaxFloat64); then
// the parts are added again at a quarter of their size, as sumScaled does,
// so that a score is ±Inf only when the parts really add up to that.
func addParts(topics, app, colocation, behaviour float64) float64 {
	sum := topics + app + colocation + behaviour
	if sum-sum != 0 && app-app == 0 { // the sum is ±Inf (it cannot be NaN), P5 is finite
		return addPartsScaled(topics, app, colocation, behaviour)
	}
	return sum
}

// addPartsScaled is addParts' rare path, apart so that addParts inlines.
func addPartsScaled(topics, app, colocation, behaviour float64) float64 {
	const q = 0.25
	return (topics*q + app*q + colocation*q + behaviour*q) / q
}
