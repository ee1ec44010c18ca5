package peerscore_test

// FuzzParams: Params, TopicParams and Thresholds built from fuzz bytes,
// special values included (NaN, ±Inf, ±0, negative, huge, zero and
// negative durations, SkipAtomicValidation both ways, nil topics and
// whitelist entries). Validate must never panic nor change what it checks;
// what it refuses, New refuses with a ParamError; what it accepts, New
// must accept, and then a run of events, Refresh, Score, Snapshots,
// SetTopicParams, Save and Load, GossipSubOptions, Metrics and the
// background loop (Start, time passing several DecayIntervals, Close),
// all inside a synctest bubble, must not panic, and no score may be NaN.
//
// FuzzScoreParameterDecay: ScoreParameterDecayWithBase never panics and
// equals pubsub's wherever pubsub's does not panic (a zero base).
//
// Longer runs:
//
//	go test -run '^$' -fuzz '^FuzzParams$' -fuzztime 10m .
//	go test -run '^$' -fuzz '^FuzzScoreParameterDecay$' -fuzztime 2m .

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
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

// fuzzParamFloats are the special values a float field takes from one byte below
// 200; bytes from 200 up read the next eight bytes as raw float64 bits.
var fuzzParamFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 0.01, 0.99, 0.9, 2, 10, -10, 100, 1e6, -1e6,
	1e300, -1e300, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
	math.NaN(), math.Inf(1), math.Inf(-1), 0.9999999999999999, 1e-300, 3600, 6, 1.5, -0.5, -100,
	1e308, -1e308, // appended: the seeds' selector bytes keep their values
}

// fuzzParamDurations likewise, for time.Duration fields.
var fuzzParamDurations = []time.Duration{
	0, -1, 1, time.Millisecond, 999 * time.Millisecond, time.Second, 2 * time.Second, time.Minute,
	2 * time.Minute, time.Hour, 24 * time.Hour, math.MaxInt64, math.MinInt64, -time.Second, 10 * time.Second,
}

func fuzzParamFloat(r *fuzzBytes) float64 {
	if sel := r.u8(); sel < 200 {
		return fuzzParamFloats[int(sel)%len(fuzzParamFloats)]
	}
	return math.Float64frombits(r.u64())
}

func fuzzParamDur(r *fuzzBytes) time.Duration {
	if sel := r.u8(); sel < 200 {
		return fuzzParamDurations[int(sel)%len(fuzzParamDurations)]
	}
	return time.Duration(r.u64())
}

func fuzzParamBool(r *fuzzBytes) bool { return r.u8()&1 == 1 }

var fuzzParamTopicNames = []string{"a", "b", "", "\xff\xfe", "a/very/long/topic/name"}

func fuzzParamTopicParams(r *fuzzBytes) *peerscore.TopicParams {
	if r.n(8) == 0 {
		return nil
	}
	return &peerscore.TopicParams{
		SkipAtomicValidation:            fuzzParamBool(r),
		TopicWeight:                     fuzzParamFloat(r),
		TimeInMeshWeight:                fuzzParamFloat(r),
		TimeInMeshQuantum:               fuzzParamDur(r),
		TimeInMeshCap:                   fuzzParamFloat(r),
		FirstMessageDeliveriesWeight:    fuzzParamFloat(r),
		FirstMessageDeliveriesDecay:     fuzzParamFloat(r),
		FirstMessageDeliveriesCap:       fuzzParamFloat(r),
		MeshMessageDeliveriesWeight:     fuzzParamFloat(r),
		MeshMessageDeliveriesDecay:      fuzzParamFloat(r),
		MeshMessageDeliveriesCap:        fuzzParamFloat(r),
		MeshMessageDeliveriesThreshold:  fuzzParamFloat(r),
		MeshMessageDeliveriesWindow:     fuzzParamDur(r),
		MeshMessageDeliveriesActivation: fuzzParamDur(r),
		MeshFailurePenaltyWeight:        fuzzParamFloat(r),
		MeshFailurePenaltyDecay:         fuzzParamFloat(r),
		InvalidMessageDeliveriesWeight:  fuzzParamFloat(r),
		InvalidMessageDeliveriesDecay:   fuzzParamFloat(r),
	}
}

func fuzzParamNet(cidr string) *net.IPNet {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err)
	}
	return n
}

// fuzzParamParams decodes Params. The application score is one of: none, a
// constant, one value for p0 and another for everyone else, or two values
// in turn (an application that changes its mind between calls).
func fuzzParamParams(r *fuzzBytes) *peerscore.Params {
	p := &peerscore.Params{SkipAtomicValidation: fuzzParamBool(r)}
	if n := r.n(4); n > 0 || r.u8()&1 == 0 {
		p.Topics = map[string]*peerscore.TopicParams{}
		for range n {
			p.Topics[fuzzParamTopicNames[r.n(len(fuzzParamTopicNames))]] = fuzzParamTopicParams(r)
		}
	}
	p.TopicScoreCap = fuzzParamFloat(r)
	switch mode := r.n(4); mode {
	case 1:
		v := fuzzParamFloat(r)
		p.AppSpecificScore = func(peer.ID) float64 { return v }
	case 2:
		v0, v := fuzzParamFloat(r), fuzzParamFloat(r)
		p.AppSpecificScore = func(id peer.ID) float64 {
			if id == "p0" {
				return v0
			}
			return v
		}
	case 3:
		v0, v1 := fuzzParamFloat(r), fuzzParamFloat(r)
		var mu sync.Mutex // the scorer calls it outside its lock, from several goroutines
		var calls int
		p.AppSpecificScore = func(peer.ID) float64 {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls%2 == 0 {
				return v0
			}
			return v1
		}
	}
	p.AppSpecificWeight = fuzzParamFloat(r)
	p.IPColocationFactorWeight = fuzzParamFloat(r)
	p.IPColocationFactorThreshold = int(int8(r.u8()))
	for range r.n(3) {
		p.IPColocationFactorWhitelist = append(p.IPColocationFactorWhitelist,
			[]*net.IPNet{nil, fuzzParamNet("10.0.0.0/8"), fuzzParamNet("::/0"), fuzzParamNet("0.0.0.0/0")}[r.n(4)])
	}
	p.BehaviourPenaltyWeight = fuzzParamFloat(r)
	p.BehaviourPenaltyThreshold = fuzzParamFloat(r)
	p.BehaviourPenaltyDecay = fuzzParamFloat(r)
	p.DecayInterval = fuzzParamDur(r)
	p.DecayToZero = fuzzParamFloat(r)
	p.RetainScore = fuzzParamDur(r)
	p.SlowPeerWeight = fuzzParamFloat(r)
	p.SlowPeerThreshold = fuzzParamFloat(r)
	p.SlowPeerDecay = fuzzParamFloat(r)
	p.SeenMsgTTL = fuzzParamDur(r)
	return p
}

func fuzzParamThresholds(r *fuzzBytes) *peerscore.Thresholds {
	if r.n(16) == 0 {
		return nil
	}
	return &peerscore.Thresholds{
		SkipAtomicValidation:        fuzzParamBool(r),
		GossipThreshold:             fuzzParamFloat(r),
		PublishThreshold:            fuzzParamFloat(r),
		GraylistThreshold:           fuzzParamFloat(r),
		AcceptPXThreshold:           fuzzParamFloat(r),
		OpportunisticGraftThreshold: fuzzParamFloat(r),
	}
}

// fuzzParamString renders params for comparison: %v would print the topics'
// addresses, not their contents.
func fuzzParamString(p *peerscore.Params) string {
	if p == nil {
		return "<nil>"
	}
	c := *p
	c.Topics = nil
	c.AppSpecificScore = nil
	var b bytes.Buffer
	fmt.Fprintf(&b, "%+v app=%v topics=%v:", c, p.AppSpecificScore != nil, p.Topics == nil)
	names := make([]string, 0, len(p.Topics))
	for name := range p.Topics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if tp := p.Topics[name]; tp != nil {
			fmt.Fprintf(&b, " %q=%+v", name, *tp)
		} else {
			fmt.Fprintf(&b, " %q=nil", name)
		}
	}
	for _, n := range p.IPColocationFactorWhitelist {
		fmt.Fprintf(&b, " net=%v", n)
	}
	return b.String()
}

// fuzzParamCheckParamError checks an error from Validate or New for bad params.
func fuzzParamCheckParamError(t *testing.T, what string, p *peerscore.Params, err error) {
	t.Helper()
	if !errors.Is(err, peerscore.ErrInvalidParams) {
		t.Fatalf("%s: error %v does not match ErrInvalidParams", what, err)
	}
	var pe *peerscore.ParamError
	if !errors.As(err, &pe) || pe.Field == "" || pe.Rule == "" {
		t.Fatalf("%s: error %v is not a ParamError with a field and a rule", what, err)
	}
	if pe.Topic != "" {
		if _, ok := p.Topics[pe.Topic]; !ok {
			t.Fatalf("%s: error %v names topic %q, which is not in the params", what, err, pe.Topic)
		}
	}
}

// fuzzParamCheckScores checks that no score is NaN, that every counter and every
// component but P5 is finite, and that Score agrees with Snapshot.
func fuzzParamCheckScores(t *testing.T, what string, s *peerscore.Scorer) {
	t.Helper()
	for p, snap := range s.Snapshots() {
		score := s.Score(p)
		if math.IsNaN(score) || math.IsNaN(snap.Score) || math.IsNaN(snap.P5) {
			t.Fatalf("%s: peer %s: NaN score (Score %v): %+v", what, string(p), score, snap)
		}
		for _, v := range []float64{snap.TopicScore, snap.TopicScoreUncapped, snap.IPColocationFactor, snap.P6,
			snap.BehaviourPenalty, snap.P7, snap.SlowPeerCounter, snap.SlowPeer} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: peer %s: NaN or infinite counter or component: %+v", what, string(p), snap)
			}
		}
		for name, ts := range snap.Topics {
			for _, v := range []float64{ts.P1, ts.P2, ts.P3, ts.P3b, ts.P4, ts.Score} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: peer %s topic %q: NaN or infinite component: %+v", what, string(p), name, ts)
				}
			}
			for _, c := range []float64{ts.FirstMessageDeliveries, ts.MeshMessageDeliveries, ts.MeshFailurePenalty,
				ts.InvalidMessageDeliveries} {
				if !(c >= 0) || math.IsInf(c, 0) {
					t.Fatalf("%s: peer %s topic %q: NaN, infinite or negative counter: %+v", what, string(p), name, ts)
				}
			}
		}
	}
	for _, p := range []peer.ID{"p0", "p1", "p2", "unknown"} {
		if score := s.Score(p); math.IsNaN(score) {
			t.Fatalf("%s: Score(%s) is NaN", what, string(p))
		}
	}
}

// fuzzParamMsg is a message on topic with ID id from peer from.
func fuzzParamMsg(topic, id string, from peer.ID) *pubsub.Message {
	tp := topic
	return &pubsub.Message{Message: &pb.Message{Topic: &tp, From: []byte("author"), Seqno: []byte(id)}, ID: id, ReceivedFrom: from}
}

// fuzzParamTraffic runs every kind of event over the params' topics and one
// unscored topic.
func fuzzParamTraffic(s *peerscore.Scorer, topics []string, round int) {
	peers := []peer.ID{"p0", "p1", "p2"}
	for i, topic := range topics {
		s.Tracer().Join(topic)
		s.Tracer().Graft("p0", topic)
		s.Tracer().Graft("p1", topic)
		for k := range 3 {
			id := fmt.Sprintf("r%d-t%d-m%d", round, i, k)
			m := fuzzParamMsg(topic, id, "p0")
			s.Tracer().ValidateMessage(m)
			s.Tracer().DuplicateMessage(fuzzParamMsg(topic, id, "p1"))
			s.Tracer().DeliverMessage(m)
			s.Tracer().DuplicateMessage(fuzzParamMsg(topic, id, "p2"))
			bad := fuzzParamMsg(topic, id+"-bad", "p2")
			s.Tracer().ValidateMessage(bad)
			s.Tracer().DuplicateMessage(fuzzParamMsg(topic, id+"-bad", "p1"))
			s.Tracer().RejectMessage(bad, pubsub.RejectValidationFailed)
		}
		iwant := &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: []string{"never-" + topic}}}}}}
		s.Tracer().SendRPC(iwant, "p1")
		backoff := uint64(1)
		scoretest.PruneThenGraft(s, "p2", topic, &backoff)
		for _, p := range peers {
			s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{}, {}}}}, p)
		}
		if round > 0 {
			s.Tracer().Prune("p1", topic)
		}
	}
	for _, p := range peers {
		s.AddPenalty(p, 1+round)
	}
	s.AddPenalty("p2", math.MaxInt32)
}

// fuzzParamLoopSleep is how long a case lets the loop run: three decay intervals
// (at most three hours) and a second.
func fuzzParamLoopSleep(p *peerscore.Params) time.Duration {
	interval := p.DecayInterval
	if interval <= 0 {
		interval = time.Second
	}
	return 3*min(interval, time.Hour) + time.Second
}

// fuzzParamRun runs one params fuzz case.
func fuzzParamRun(t *testing.T, data []byte) {
	r := &fuzzBytes{b: data}
	p := fuzzParamParams(r)
	thresholds := fuzzParamThresholds(r)
	var opts []peerscore.Option
	if r.n(4) == 0 {
		opts = append(opts, peerscore.WithMaxDeliveryRecords(1+r.n(8)))
	}
	if r.n(4) == 0 {
		opts = append(opts, peerscore.WithoutRouterPenalties())
	}
	if r.n(4) == 0 {
		gp := pubsub.DefaultGossipSubParams()
		gp.HeartbeatInterval, gp.IWantFollowupTime, gp.PruneBackoff, gp.GraftFloodThreshold = fuzzParamDur(r), fuzzParamDur(r), fuzzParamDur(r), fuzzParamDur(r)
		if floor := fuzzParamLoopSleep(p) / 2000; gp.HeartbeatInterval > 0 && gp.HeartbeatInterval < floor {
			gp.HeartbeatInterval = floor // more heartbeats only make the case slow
		}
		opts = append(opts, peerscore.WithGossipSubParams(gp))
		if gp.HeartbeatInterval <= 0 || gp.IWantFollowupTime <= 0 || gp.PruneBackoff <= 0 {
			if _, err := peerscore.New(p, opts...); err == nil && p.Validate() == nil {
				t.Fatalf("WithGossipSubParams accepted non-positive timings %v %v %v", gp.HeartbeatInterval, gp.IWantFollowupTime, gp.PruneBackoff)
			}
			opts = opts[:len(opts)-1]
		}
	}

	// Validate never panics, never changes p, and says the same twice.
	before := fuzzParamString(p)
	err := p.Validate()
	if after := fuzzParamString(p); after != before {
		t.Fatalf("Validate changed the params:\nbefore %s\nafter  %s", before, after)
	}
	// The verdict is deterministic. (Which error is reported is not, when
	// several topics are invalid: Validate, like pubsub, walks a map.)
	if err2 := p.Validate(); (err == nil) != (err2 == nil) || len(p.Topics) <= 1 && fmt.Sprint(err) != fmt.Sprint(err2) {
		t.Fatalf("Validate is not deterministic: %v, then %v", err, err2)
	}
	for name, tp := range p.Topics {
		if terr := tp.Validate(); terr != nil && err == nil {
			t.Fatalf("Params.Validate accepted topic %q, which TopicParams.Validate refuses: %v", name, terr)
		}
	}
	_ = p.ToPubsub()
	if fuzzTrace {
		t.Logf("params %s\nValidate: %v\nthresholds %+v: %v\noptions %d", fuzzParamString(p), err, thresholds, thresholds.Validate(), len(opts))
	}
	if err != nil {
		fuzzParamCheckParamError(t, "Validate", p, err)
		s, nerr := peerscore.New(p, opts...)
		if nerr == nil || s != nil {
			t.Fatalf("New accepted params Validate refuses (%v)", err)
		}
		fuzzParamCheckParamError(t, "New", p, nerr)
		return
	}
	terr := thresholds.Validate()
	// Valid thresholds are the Scorer's, where the metrics read them.
	scorerOpts := slices.Clip(opts)
	if terr == nil {
		scorerOpts = append(scorerOpts, peerscore.WithThresholds(thresholds))
	}

	synctest.Test(t, func(t *testing.T) {
		s, err := peerscore.New(p, scorerOpts...)
		if err != nil {
			t.Fatalf("New refused params Validate accepts: %v\nparams %s", err, fuzzParamString(p))
		}
		defer func() { _ = s.Close() }()
		topics := []string{"unscored"}
		for name := range p.Topics {
			topics = append(topics, name)
		}
		sort.Strings(topics)
		for _, id := range []peer.ID{"p0", "p1", "p2"} {
			s.Tracer().OnNewOutboundStream(id, "/meshsub/1.1.0")
			peerscore.SetIPsForTest(s, id, []string{"192.0.2.1", "10.1.2.3"})
		}
		fuzzParamTraffic(s, topics, 0)
		fuzzParamCheckScores(t, "after events", s)
		s.Refresh()
		fuzzParamCheckScores(t, "after Refresh", s)

		// Thresholds: accepted exactly when valid, everywhere. With valid
		// thresholds, which s has, the metrics are gathered now and later.
		gather := func(string) {}
		if withT, werr := peerscore.New(p, append(slices.Clip(opts), peerscore.WithThresholds(thresholds))...); (werr == nil) != (terr == nil) {
			t.Fatalf("WithThresholds(%+v) = %v, Validate says %v", thresholds, werr, terr)
		} else if werr == nil {
			if _, gerr := withT.GossipSubOptions(); gerr != nil {
				t.Fatalf("GossipSubOptions with valid thresholds %+v: %v", thresholds, gerr)
			}
		}
		if m, merr := metrics.New(s); (merr == nil) != (terr == nil) {
			t.Fatalf("metrics.New with thresholds %+v: %v, Validate says %v", thresholds, merr, terr)
		} else if merr == nil {
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(m)
			gather = func(what string) {
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatalf("%s: gathering metrics: %v", what, err)
				}
				if bad := scoretest.NonFinite(mfs); len(bad) > 0 {
					t.Fatalf("%s: non-finite metrics:\n  %s", what, strings.Join(bad, "\n  "))
				}
			}
			gather("after events")
		}

		// The loop, for a few decay intervals.
		s.Start(context.Background())
		s.Start(context.Background())
		time.Sleep(fuzzParamLoopSleep(p))
		synctest.Wait()
		fuzzParamCheckScores(t, "with the loop running", s)
		gather("with the loop running")
		fuzzParamTraffic(s, topics, 1)
		time.Sleep(fuzzParamLoopSleep(p) / 3)
		synctest.Wait()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		fuzzParamCheckScores(t, "after Close", s)

		// Parameters that were accepted once are accepted again.
		for name, tp := range p.Topics {
			if err := s.SetTopicParams(name, tp); err != nil {
				t.Fatalf("SetTopicParams(%q) refused what New accepted: %v", name, err)
			}
		}
		fuzzParamCheckScores(t, "after SetTopicParams", s)

		// What Save writes, Load reads back.
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			t.Fatalf("Save: %v", err)
		}
		s2, err := peerscore.New(p, opts...)
		if err != nil {
			t.Fatalf("second New: %v", err)
		}
		if err := s2.Load(bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatalf("Load of what Save wrote: %v\n%s", err, buf.String())
		}
		fuzzParamCheckScores(t, "after Load", s2)

		// Everyone leaves.
		for _, id := range []peer.ID{"p0", "p1", "p2"} {
			s.Tracer().OnClosedOutboundStream(id)
		}
		s.Refresh()
		fuzzParamCheckScores(t, "after disconnects", s)
		gather("after disconnects")
		_ = s.Stats()
	})
}

func fuzzParamSeed(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// fuzzParamIdx returns the selector byte of a special value.
func fuzzParamIdx(v float64) byte {
	for i, f := range fuzzParamFloats {
		if f == v && math.Signbit(f) == math.Signbit(v) || math.IsNaN(f) && math.IsNaN(v) {
			return byte(i)
		}
	}
	panic(fmt.Sprint("no special value ", v))
}

func fuzzParamDurIdx(d time.Duration) byte {
	for i, x := range fuzzParamDurations {
		if x == d {
			return byte(i)
		}
	}
	panic(fmt.Sprint("no special duration ", d))
}

// fuzzParamTopicBytes encodes a topic's fields (after its non-nil selector).
func fuzzParamTopicBytes(skip bool, tw, w1 float64, q time.Duration, cap1, w2, d2, cap2, w3, d3, cap3, thr3 float64,
	win, act time.Duration, w3b, d3b, w4, d4 float64) []byte {
	b := []byte{1, 0}
	if skip {
		b[1] = 1
	}
	b = append(b, fuzzParamIdx(tw), fuzzParamIdx(w1), fuzzParamDurIdx(q), fuzzParamIdx(cap1), fuzzParamIdx(w2), fuzzParamIdx(d2), fuzzParamIdx(cap2),
		fuzzParamIdx(w3), fuzzParamIdx(d3), fuzzParamIdx(cap3), fuzzParamIdx(thr3), fuzzParamDurIdx(win), fuzzParamDurIdx(act), fuzzParamIdx(w3b), fuzzParamIdx(d3b),
		fuzzParamIdx(w4), fuzzParamIdx(d4))
	return b
}

// fuzzParamParamsSeeds are meaningful cases, also in testdata/fuzz/FuzzParams.
func fuzzParamParamsSeeds() map[string][]byte {
	validTopic := fuzzParamTopicBytes(false, 1, 0.01, time.Second, 3600, 1, 0.9, 100, -1, 0.9, 100, 6,
		time.Millisecond, 2*time.Second, -1, 0.9, -10, 0.99)
	hugeTopic := fuzzParamTopicBytes(false, 1e300, 1e300, 1, math.MaxFloat64, 1e300, 0.9999999999999999, math.MaxFloat64,
		-1e300, 0.5, math.MaxFloat64, 1e300, time.Hour, time.Second, -1e300, 0.9999999999999999, -math.MaxFloat64, 0.9999999999999999)
	infTopic := func(weight float64) []byte {
		return fuzzParamTopicBytes(false, weight, 1e308, 1, math.MaxFloat64, 1e308, 0.9999999999999999, math.MaxFloat64,
			-1e308, 0.5, math.MaxFloat64, math.MaxFloat64, time.Hour, time.Second, -1e308, 0.9999999999999999, -1e308, 0.9999999999999999)
	}
	oddTopic := fuzzParamTopicBytes(true, 0, 0, -time.Second, math.NaN(), 0, math.Inf(1), math.NaN(), 0, 2, -1, math.Inf(1),
		0, 0, -1, 0.5, 0, 0.5)
	// global fields after the topics: cap, app mode (+values), app weight,
	// IP weight, IP threshold, whitelist count (+entries), P7 weight,
	// threshold, decay, decay interval, decay to zero, retain, slow weight,
	// threshold, decay, SeenMsgTTL; then thresholds and options.
	global := func(skip bool, cap float64, app []byte, appW, ipW float64, ipT int8, wl []byte, w7, t7, d7 float64,
		interval time.Duration, zero float64, retain time.Duration, ws, ts, ds float64, ttl time.Duration) []byte {
		b := []byte{fuzzParamIdx(cap)}
		b = append(b, app...)
		b = append(b, fuzzParamIdx(appW), fuzzParamIdx(ipW), byte(ipT))
		b = append(b, wl...)
		b = append(b, fuzzParamIdx(w7), fuzzParamIdx(t7), fuzzParamIdx(d7), fuzzParamDurIdx(interval), fuzzParamIdx(zero), fuzzParamDurIdx(retain),
			fuzzParamIdx(ws), fuzzParamIdx(ts), fuzzParamIdx(ds), fuzzParamDurIdx(ttl))
		_ = skip
		return b
	}
	thresholds := []byte{1, 0, fuzzParamIdx(-10), fuzzParamIdx(-100), fuzzParamIdx(-1e6), fuzzParamIdx(10), fuzzParamIdx(1)}
	noOpts := []byte{1, 1, 1}
	return map[string][]byte{
		// atomic, all valid, typical values
		"typical": fuzzParamSeed([]byte{0, 1}, []byte{0}, validTopic,
			global(false, 100, []byte{1, fuzzParamIdx(1)}, 1, -10, 2, []byte{1, 1}, -1, 6, 0.9, time.Second, 0.01, time.Hour, 0, 0, 0, 2*time.Minute),
			thresholds, noOpts),
		// skip validation, nothing set: DecayInterval 0 runs the loop at 1s
		"skip-empty": fuzzParamSeed([]byte{1, 0, 0},
			global(true, 0, []byte{0}, 0, 0, 0, []byte{0}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			[]byte{0}, noOpts),
		// skip validation, odd zero-weight values, app +Inf/NaN
		"skip-odd": fuzzParamSeed([]byte{1, 2}, []byte{1}, oddTopic, []byte{2}, validTopic,
			global(true, 0, []byte{2, fuzzParamIdx(math.Inf(1)), fuzzParamIdx(math.NaN())}, 1, 0, 0, []byte{2, 0, 1}, -1, 0, 0.5,
				time.Second, 0.01, math.MaxInt64, 0, 0, 0, -time.Second),
			thresholds, []byte{0, 3, 0, 0}),
		// huge weights everywhere, app ±1e300 alternating, retain forever
		"huge": fuzzParamSeed([]byte{0, 1}, []byte{0}, hugeTopic,
			global(false, math.MaxFloat64, []byte{3, fuzzParamIdx(1e300), fuzzParamIdx(-1e300)}, 1e300, -1e300, 1, []byte{0},
				-1e300, 0, 0.9999999999999999, time.Hour, 1e-300, math.MaxInt64, 0, 0, 0, math.MaxInt64),
			thresholds, noOpts),
		// weights of ±1e308, caps and thresholds at the limits, two topics
		// (weights 1e308 and 0.5), P5 = ±Inf (p0 +1e308, others -1e308, weight
		// 1e308), and thresholds at ±MaxFloat64 and ±1e308 for the metrics
		"inf": fuzzParamSeed([]byte{0, 2}, []byte{0}, infTopic(1e308), []byte{1}, infTopic(0.5),
			global(false, 0, []byte{2, fuzzParamIdx(1e308), fuzzParamIdx(-1e308)}, 1e308, -1e308, 1, []byte{0},
				-1e308, 0, 0.9999999999999999, time.Second, 1e-300, time.Hour, -1e308, 0, 0.5, 2*time.Minute),
			[]byte{1, 0, fuzzParamIdx(-1e308), fuzzParamIdx(-math.MaxFloat64), fuzzParamIdx(-math.MaxFloat64), fuzzParamIdx(math.MaxFloat64), fuzzParamIdx(1e308)},
			noOpts),
		// invalid: NaN topic weight
		"invalid-topic": fuzzParamSeed([]byte{0, 1}, []byte{0},
			fuzzParamTopicBytes(false, math.NaN(), 0.01, time.Second, 3600, 1, 0.9, 100, -1, 0.9, 100, 6, 0, 2*time.Second, -1, 0.9, -10, 0.99),
			global(false, 100, []byte{1, fuzzParamIdx(1)}, 1, -10, 2, []byte{0}, -1, 6, 0.9, time.Second, 0.01, time.Hour, 0, 0, 0, 0),
			thresholds, noOpts),
		// invalid: atomic without an application score
		"invalid-no-app": fuzzParamSeed([]byte{0, 0, 0},
			global(false, 0, []byte{0}, 0, 0, 0, []byte{0}, 0, 0, 0, time.Second, 0.01, 0, 0, 0, 0, 0),
			thresholds, noOpts),
		// the NaN fixed in TestOverflowBehaviourTermOverflowNaN: app +Inf, huge
		// P7 and slow-peer weights; fuzzParamTraffic charges p2 both
		"fixed-nan-behaviour-overflow": fuzzParamSeed([]byte{1, 0, 0},
			global(true, 0, []byte{1, fuzzParamIdx(math.Inf(1))}, 1, 0, 0, []byte{0}, -1e300, 0, 0.5, time.Second, 0.01,
				time.Minute, -1e300, 0, 0.5, 0),
			thresholds, noOpts),
		// a nil topic
		"nil-topic": fuzzParamSeed([]byte{1, 1}, []byte{0, 0},
			global(true, 0, []byte{0}, 0, 0, 0, []byte{0}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), []byte{0}, noOpts),
	}
}

func FuzzParams(f *testing.F) {
	seeds := fuzzParamParamsSeeds()
	names := make([]string, 0, len(seeds))
	for name := range seeds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f.Add(seeds[name])
	}
	f.Fuzz(fuzzParamRun)
}

func FuzzScoreParameterDecay(f *testing.F) {
	f.Add(int64(time.Minute), int64(time.Second), 0.01)
	f.Add(int64(0), int64(time.Second), 0.01)
	f.Add(int64(time.Second), int64(0), 0.01)
	f.Add(int64(math.MinInt64), int64(-1), 0.5)
	f.Add(int64(math.MaxInt64), int64(1), math.NaN())
	f.Add(int64(-time.Hour), int64(time.Second), 2.0)
	f.Add(int64(time.Hour), int64(time.Second), math.Inf(1))
	f.Fuzz(func(t *testing.T, decay, base int64, zero float64) {
		got := peerscore.ScoreParameterDecayWithBase(time.Duration(decay), time.Duration(base), zero)
		if base == 0 {
			if !math.IsNaN(got) {
				t.Fatalf("zero base: got %v, want NaN", got)
			}
			return
		}
		want := pubsub.ScoreParameterDecayWithBase(time.Duration(decay), time.Duration(base), zero)
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("ScoreParameterDecayWithBase(%d, %d, %v) = %v, pubsub says %v", decay, base, zero, got, want)
		}
		if base > 0 && decay >= base && zero > 0 && zero < 1 && !(got > 0 && got < 1) {
			t.Fatalf("ScoreParameterDecayWithBase(%d, %d, %v) = %v, not a decay factor", decay, base, zero, got)
		}
	})
}
