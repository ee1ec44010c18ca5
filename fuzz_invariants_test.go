package peerscore_test

// The invariants FuzzEvents (fuzz_events_test.go) checks after every step.

import (
	"fmt"
	"math"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// The oracle states what the documentation promises and checks the engine
// against exact arithmetic (math/big), not against a copy of the engine's
// own clamps, so that a wrong clamp cannot agree with itself:
//
//   - a counter is never below zero, and never above its cap, where a NaN
//     cap caps nothing (as pubsub's comparison with NaN never holds);
//   - a component is the exact product of its factors, to rounding, held
//     within ±MaxFloat64 when the product is beyond;
//   - a sum of components is their exact sum, to rounding, held likewise
//     (or, for the score, the infinity of its sign).

// fuzzUnderCap reports whether counter c respects cap: a NaN cap caps
// nothing; any other cap, however negative, bounds c, which is also never
// below zero.
func fuzzUnderCap(c, cap float64) bool {
	return c >= 0 && (math.IsNaN(cap) || c <= cap || c == 0)
}

// fuzzProduct is the exact product of factors, and how far from it a float64
// computation in any order of its multiplications may land: one rounding
// of 2^-53 per multiplication.
func fuzzProduct(factors ...float64) fuzzSum {
	exact := fuzzBig(1)
	for _, x := range factors {
		exact.Mul(exact, fuzzBig(x))
	}
	tol := new(big.Float).SetPrec(fuzzPrec).Abs(exact)
	return fuzzSum{exact: exact, tol: tol.Mul(tol, fuzzBig(float64(len(factors))*0x1p-53))}
}

// fuzzClampOf is x held within ±MaxFloat64, for the few checks that compare
// one clamped value with another (a capped topic sum, say).
func fuzzClampOf(x float64) float64 {
	return math.Max(-math.MaxFloat64, math.Min(math.MaxFloat64, x))
}

// fuzzSame reports whether got is want up to rounding: a relative 1e-12, or
// the same infinity.
func fuzzSame(want, got float64) bool {
	if want == got {
		return true
	}
	if math.IsNaN(want) || math.IsNaN(got) || math.IsInf(want, 0) || math.IsInf(got, 0) {
		return false
	}
	return math.Abs(want-got) <= 1e-12*math.Max(math.Abs(want), math.Abs(got))
}

// fuzzPrec is enough bits for any sum of a few float64 values to be exact
// (they span 2^-1074 to 2^1024), and for its product with one more.
const fuzzPrec = 4400

func fuzzBig(x float64) *big.Float { return new(big.Float).SetPrec(fuzzPrec).SetFloat64(x) }

// fuzzSum is the exact value of a sum of finite terms times a weight, and how
// far from it a float64 computation may land: each addition and the
// product round by at most 2^-53 of a value no larger than the sum of the
// terms' magnitudes (times the weight's).
type fuzzSum struct{ exact, tol *big.Float }

func fuzzSumOf(weight float64, terms ...float64) fuzzSum {
	exact, abs := fuzzBig(0), fuzzBig(0)
	for _, x := range terms {
		exact.Add(exact, fuzzBig(x))
		abs.Add(abs, fuzzBig(math.Abs(x)))
	}
	exact.Mul(exact, fuzzBig(weight))
	abs.Mul(abs, fuzzBig(math.Abs(weight)))
	return fuzzSum{exact: exact, tol: abs.Mul(abs, fuzzBig(float64(len(terms)+1)*0x1p-53))}
}

// near reports whether got is within the tolerance of want.
func (s fuzzSum) near(got float64, want *big.Float) bool {
	diff := fuzzBig(got)
	diff.Sub(diff, want)
	return diff.Abs(diff).Cmp(s.tol) <= 0
}

// clamped reports whether got is the sum held within ±MaxFloat64: the rule
// of every component and partial sum of the score.
func (s fuzzSum) clamped(got float64) bool {
	if math.IsNaN(got) || math.IsInf(got, 0) {
		return false
	}
	want := new(big.Float).SetPrec(fuzzPrec).Set(s.exact)
	if hi := fuzzBig(math.MaxFloat64); want.Cmp(hi) > 0 {
		want = hi
	} else if lo := fuzzBig(-math.MaxFloat64); want.Cmp(lo) < 0 {
		want = lo
	}
	return s.near(got, want)
}

// saturated reports whether got is the sum, or the infinity of its sign
// when the sum is beyond ±MaxFloat64 (either at the border): the rule of
// the score, whose parts add up without overflowing on the way.
func (s fuzzSum) saturated(got float64) bool {
	switch {
	case math.IsNaN(got):
		return false
	case math.IsInf(got, 0):
		reach := new(big.Float).SetPrec(fuzzPrec).Abs(s.exact)
		reach.Add(reach, s.tol)
		return s.exact.Sign() == int(math.Copysign(1, got)) && reach.Cmp(fuzzBig(math.MaxFloat64)) >= 0
	}
	return s.near(got, s.exact)
}

// check verifies the invariants of the whole state after a step.
func (e *fuzzEnv) check(step string) {
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
	e.checkMetrics(step, snaps)
	for _, p := range append(append([]peer.ID{}, fuzzPeers...), "stranger") {
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

// checkMetrics gathers the Scorer's metrics through a real registry: no
// value may be NaN or infinite, however extreme the scores, and the
// histogram holds every peer, its sum the scores each held within
// ±MaxFloat64, added up and held there too.
func (e *fuzzEnv) checkMetrics(step string, snaps map[peer.ID]peerscore.Snapshot) {
	e.t.Helper()
	mfs, err := e.metrics.Gather()
	if err != nil {
		e.fail("after %s: gathering metrics: %v", step, err)
	}
	if bad := scoretest.NonFinite(mfs); len(bad) > 0 {
		e.fail("after %s: non-finite metrics:\n  %s", step, strings.Join(bad, "\n  "))
	}
	var scores []float64
	for _, snap := range snaps {
		scores = append(scores, fuzzClampOf(snap.Score)) // the metrics clamp infinite scores
	}
	for _, mf := range mfs {
		if mf.GetName() != "peerscore_score" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != uint64(len(snaps)) {
			e.fail("after %s: score histogram counts %d peers, %d known", step, h.GetSampleCount(), len(snaps))
		}
		if sum := fuzzSumOf(1, scores...); !sum.clamped(h.GetSampleSum()) {
			e.fail("after %s: score histogram sum %v, scores add up to %s", step, h.GetSampleSum(), sum.exact.Text('g', 17))
		}
		return
	}
	e.fail("after %s: no peerscore_score in the metrics", step)
}

// checkSnap verifies one peer's snapshot: nothing NaN, counters within
// [0, cap], every component what the parameters make of the counters, the
// parts adding up to the score, and Score agreeing with it.
func (e *fuzzEnv) checkSnap(step string, p peer.ID, snap peerscore.Snapshot, all map[peer.ID]peerscore.Snapshot) {
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
	if math.IsNaN(snap.AppSpecificScore) || math.IsNaN(snap.P5) {
		bad("P5 is NaN")
	}
	// Everything but the application's score, P5 and the score is finite,
	// however extreme the weights: counters and components saturate at
	// ±MaxFloat64.
	for name, v := range map[string]float64{"TopicScore": snap.TopicScore, "TopicScoreUncapped": snap.TopicScoreUncapped,
		"IPColocationFactor": snap.IPColocationFactor, "P6": snap.P6, "BehaviourPenalty": snap.BehaviourPenalty,
		"P7": snap.P7, "SlowPeerCounter": snap.SlowPeerCounter, "SlowPeer": snap.SlowPeer} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad("%s is %v", name, v)
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
	if !fuzzSame(raw, snap.AppSpecificScore) || !fuzzSame(p5, snap.P5) {
		bad("P5 is %v (raw %v), want %v (raw %v)", snap.P5, snap.AppSpecificScore, p5, raw)
	}
	if want := e.colocation(p, all); !fuzzSame(want, snap.IPColocationFactor) {
		bad("IPColocationFactor %v, want %v", snap.IPColocationFactor, want)
	}
	if want := fuzzProduct(snap.IPColocationFactor, gp.IPColocationFactorWeight); !want.clamped(snap.P6) {
		bad("P6 %v, want %s", snap.P6, want.exact.Text('g', 17))
	}
	want7 := fuzzProduct(0)
	if gp.BehaviourPenaltyWeight != 0 && snap.BehaviourPenalty > gp.BehaviourPenaltyThreshold {
		x := snap.BehaviourPenalty - gp.BehaviourPenaltyThreshold
		want7 = fuzzProduct(x, x, gp.BehaviourPenaltyWeight)
	}
	if !want7.clamped(snap.P7) {
		bad("P7 %v, want %s", snap.P7, want7.exact.Text('g', 17))
	}
	wantSlow := fuzzProduct(0)
	if gp.SlowPeerWeight != 0 && snap.SlowPeerCounter > gp.SlowPeerThreshold {
		wantSlow = fuzzProduct(snap.SlowPeerCounter-gp.SlowPeerThreshold, gp.SlowPeerWeight)
	}
	if !wantSlow.clamped(snap.SlowPeer) {
		bad("SlowPeer %v, want %s", snap.SlowPeer, wantSlow.exact.Text('g', 17))
	}

	// The topics. Their scores add up to TopicScoreUncapped, held within
	// ±MaxFloat64, whatever the partial sums do on the way.
	var topicScores []float64
	for name, ts := range snap.Topics {
		tp, scored := e.topics[name]
		if !scored {
			bad("counters in topic %q, which is not scored", name)
		}
		e.checkTopic(bad, name, ts, tp)
		topicScores = append(topicScores, ts.Score)
	}
	if sum := fuzzSumOf(1, topicScores...); !sum.clamped(snap.TopicScoreUncapped) {
		bad("TopicScoreUncapped %v, topics add up to %s", snap.TopicScoreUncapped, sum.exact.Text('g', 17))
	}
	wantTopic := snap.TopicScoreUncapped
	if gp.TopicScoreCap > 0 && wantTopic > gp.TopicScoreCap {
		wantTopic = gp.TopicScoreCap
	}
	if wantTopic = fuzzClampOf(wantTopic); !fuzzSame(wantTopic, snap.TopicScore) {
		bad("TopicScore %v, want %v (cap %v)", snap.TopicScore, wantTopic, gp.TopicScoreCap)
	}
	// The parts add up to the score: P7 and the slow-peer penalty, both
	// negative, saturate together; an infinite P5 makes the score; else
	// the score is the sum of the parts, or its infinity beyond
	// ±MaxFloat64, not the accident of a partial sum overflowing.
	behaviour := fuzzClampOf(snap.P7 + snap.SlowPeer) // both negative: they saturate together
	if math.IsInf(snap.P5, 0) {
		if snap.Score != snap.P5 {
			bad("P5 is %v but the score %v", snap.P5, snap.Score)
		}
	} else if sum := fuzzSumOf(1, snap.TopicScore, snap.P5, snap.P6, behaviour); !sum.saturated(snap.Score) {
		bad("parts add up to %s, score %v", sum.exact.Text('g', 17), snap.Score)
	}
}

// checkTopic verifies one topic's counters and components against the
// topic's current parameters.
func (e *fuzzEnv) checkTopic(bad func(string, ...any), name string, ts peerscore.TopicSnapshot, tp peerscore.TopicParams) {
	for field, c := range map[string]float64{"first": ts.FirstMessageDeliveries, "mesh": ts.MeshMessageDeliveries,
		"failure": ts.MeshFailurePenalty, "invalid": ts.InvalidMessageDeliveries} {
		if !(c >= 0) || math.IsInf(c, 0) {
			bad("topic %q: %s counter %v below zero, NaN or infinite", name, field, c)
		}
	}
	if cap := tp.FirstMessageDeliveriesCap; !fuzzUnderCap(ts.FirstMessageDeliveries, cap) {
		bad("topic %q: first deliveries %v above the cap %v", name, ts.FirstMessageDeliveries, cap)
	}
	if cap := tp.MeshMessageDeliveriesCap; !fuzzUnderCap(ts.MeshMessageDeliveries, cap) {
		bad("topic %q: mesh deliveries %v above the cap %v", name, ts.MeshMessageDeliveries, cap)
	}
	if ts.TimeInMesh < 0 || (!ts.InMesh && ts.TimeInMesh != 0) {
		bad("topic %q: time in mesh %v (in mesh: %v)", name, ts.TimeInMesh, ts.InMesh)
	}
	if ts.TopicWeight != tp.TopicWeight {
		bad("topic %q: weight %v, want %v", name, ts.TopicWeight, tp.TopicWeight)
	}
	p1, p2, p3, p3b, p4 := fuzzProduct(0), fuzzProduct(0), fuzzProduct(0), fuzzProduct(0), fuzzProduct(0)
	if ts.InMesh && tp.TimeInMeshWeight != 0 && tp.TimeInMeshQuantum > 0 {
		q := float64(ts.TimeInMesh / tp.TimeInMeshQuantum)
		if q >= tp.TimeInMeshCap {
			q = tp.TimeInMeshCap
		}
		p1 = fuzzProduct(q, tp.TimeInMeshWeight)
	}
	if tp.FirstMessageDeliveriesWeight != 0 {
		p2 = fuzzProduct(ts.FirstMessageDeliveries, tp.FirstMessageDeliveriesWeight)
	}
	if ts.MeshDeliveriesActive && tp.MeshMessageDeliveriesWeight != 0 && ts.MeshMessageDeliveries < tp.MeshMessageDeliveriesThreshold {
		d := tp.MeshMessageDeliveriesThreshold - ts.MeshMessageDeliveries
		p3 = fuzzProduct(d, d, tp.MeshMessageDeliveriesWeight)
	}
	if tp.MeshFailurePenaltyWeight != 0 {
		p3b = fuzzProduct(ts.MeshFailurePenalty, tp.MeshFailurePenaltyWeight)
	}
	if tp.InvalidMessageDeliveriesWeight != 0 {
		p4 = fuzzProduct(ts.InvalidMessageDeliveries, ts.InvalidMessageDeliveries, tp.InvalidMessageDeliveriesWeight)
	}
	for _, c := range []struct {
		name string
		want fuzzSum
		got  float64
	}{{"P1", p1, ts.P1}, {"P2", p2, ts.P2}, {"P3", p3, ts.P3}, {"P3b", p3b, ts.P3b}, {"P4", p4, ts.P4}} {
		if !c.want.clamped(c.got) {
			bad("topic %q: %s %v, want %s", name, c.name, c.got, c.want.exact.Text('g', 17))
		}
	}
	if ts.P1 < 0 || ts.P2 < 0 || ts.P3 > 0 || ts.P3b > 0 || ts.P4 > 0 {
		bad("topic %q: a component has the wrong sign: %+v", name, ts)
	}
	// Out of the mesh there is no P1; P3 can stay active there (pubsub's
	// reading, the default), but is never charged when not active.
	if (!ts.InMesh && ts.P1 != 0) || (!ts.MeshDeliveriesActive && ts.P3 != 0) {
		bad("topic %q: P1 outside the mesh or P3 while not active: %+v", name, ts)
	}
	for _, v := range []float64{ts.P1, ts.P2, ts.P3, ts.P3b, ts.P4} {
		if math.IsInf(v, 0) {
			bad("topic %q: infinite component: %+v", name, ts)
		}
	}
	// The topic's score is its parts times its weight, held within
	// ±MaxFloat64, whatever the partial sums do on the way.
	total := fuzzSumOf(tp.TopicWeight, ts.P1, ts.P2, ts.P3, ts.P3b, ts.P4)
	if tp.TopicWeight == 0 && ts.Score != 0 || !total.clamped(ts.Score) {
		bad("topic %q: score %v, parts times weight %s", name, ts.Score, total.exact.Text('g', 17))
	}
}

// colocation recomputes P6's raw factor from every known peer's addresses.
func (e *fuzzEnv) colocation(p peer.ID, all map[peer.ID]peerscore.Snapshot) float64 {
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
		if fuzzWhitelisted(e.params.IPColocationFactorWhitelist, ip) {
			continue
		}
		if n := len(peersAt[ip]); n > e.params.IPColocationFactorThreshold {
			x := float64(n - e.params.IPColocationFactorThreshold)
			sum += x * x
		}
	}
	return sum
}

func fuzzWhitelisted(list []*net.IPNet, addr string) bool {
	ip := net.ParseIP(addr)
	for _, n := range list {
		if n != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// checkAfterRefresh: Refresh forgets every retained peer whose time is up.
func (e *fuzzEnv) checkAfterRefresh() {
	now := time.Now()
	for p, snap := range e.s.Snapshots() {
		if !snap.Connected && now.After(snap.RetainedUntil) {
			e.fail("Refresh kept retained peer %q past its time (%v < now %v)", p, snap.RetainedUntil, now)
		}
	}
}
