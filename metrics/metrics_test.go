package metrics_test

// Tests of the Collector: a registry is scraped after real tracer events
// and the values are checked by hand and against Snapshots.

import (
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
	"github.com/peerscore/peerscore/reputation"
)

// thresholds: gossip -10, publish -20, graylist -40, opportunistic graft
// 2, accept PX 10. Their histogram bounds are
// -160 -80 -40 -20 -10 -1 -0.1 0 2 10 20 40.
func thresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{
		GossipThreshold:             -10,
		PublishThreshold:            -20,
		GraylistThreshold:           -40,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 2,
	}
}

// params scores three topics and every global component. Decay factors
// are 0.5 and every weight a power of two (or small integer), so every
// expected value below is exact.
//
//	alpha (weight 1): P1 0.25/quantum of 1s; P2 weight 1; P3 weight -1,
//	                  threshold 4, window 10ms, activation 1s; P3b weight -1
//	beta  (weight 1): P4 weight -2
//	gamma (weight 2): P2 weight 0.5, no P3 (window 0)
//	topic cap 3.5; P5 = 20 for peer A, weight 1; P6 -3 above 1 peer per IP;
//	P7 -1 above 2; slow peer -1 above 0.
func params() *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{
			"alpha": {
				SkipAtomicValidation:            true,
				TopicWeight:                     1,
				TimeInMeshWeight:                0.25,
				TimeInMeshQuantum:               time.Second,
				TimeInMeshCap:                   10,
				FirstMessageDeliveriesWeight:    1,
				FirstMessageDeliveriesDecay:     0.5,
				FirstMessageDeliveriesCap:       100,
				MeshMessageDeliveriesWeight:     -1,
				MeshMessageDeliveriesDecay:      0.5,
				MeshMessageDeliveriesCap:        100,
				MeshMessageDeliveriesThreshold:  4,
				MeshMessageDeliveriesWindow:     10 * time.Millisecond,
				MeshMessageDeliveriesActivation: time.Second,
				MeshFailurePenaltyWeight:        -1,
				MeshFailurePenaltyDecay:         0.5,
			},
			"beta": {
				SkipAtomicValidation:           true,
				TopicWeight:                    1,
				InvalidMessageDeliveriesWeight: -2,
				InvalidMessageDeliveriesDecay:  0.5,
			},
			"gamma": {
				SkipAtomicValidation:         true,
				TopicWeight:                  2,
				FirstMessageDeliveriesWeight: 0.5,
				FirstMessageDeliveriesDecay:  0.5,
				FirstMessageDeliveriesCap:    100,
			},
		},
		TopicScoreCap: 3.5,
		AppSpecificScore: func(p peer.ID) float64 {
			if p == "A" {
				return 20
			}
			return 0
		},
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -3,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   2,
		BehaviourPenaltyDecay:       0.5,
		SlowPeerWeight:              -1,
		SlowPeerDecay:               0.5,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 time.Hour,
	}
}

func iwant(ids ...string) *pubsub.RPC {
	return &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: ids}}}}}
}

// colocated is the network of runScenario's scorer: a host on which G and
// H are connected from one IP address. Build it outside the synctest
// bubble.
type colocated struct {
	host host.Host
	g, h peer.ID
}

func newColocated(t *testing.T) colocated {
	t.Helper()
	observer, ids := scoretest.Mocknet(t, "/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.2/tcp/2")
	return colocated{host: observer, g: ids[0], h: ids[1]}
}

// runScenario drives a scorer on net through real tracer events; call it
// inside a synctest bubble. It reads P3 as the specification does
// (WithSpecP3: a pruned peer owes P3b, no longer P3), which the hand
// computation follows. Final scores, by hand:
//
//	A  23.5  alpha P1 1 + P2 3 + P3 -1, gamma P2 0.5·2 = 1; topics 4 capped
//	         to 3.5 (topic_cap -0.5); P5 20
//	B  -16   pruned from alpha owing 4 deliveries: P3b -16 (P1, P3 gone)
//	C  -23   alpha P1 1 + P3 -16; beta P4 2²·-2 = -8
//	D  -64   AddPenalty 10: P7 (10-2)²·-1
//	E   0    one broken promise (below the P7 threshold); then disconnected
//	         and retained
//	F  -2    2 messages dropped on their way to it: slow peer -2
//	G  -3    shares an IP with H: P6 1·-3
//	H  -3    likewise
func runScenario(t *testing.T, net colocated) *peerscore.Scorer {
	t.Helper()
	s := newScorer(t, peerscore.WithHost(net.host), peerscore.WithSpecP3())
	scoretest.Connect(s, "A", "B", "C", "D", "E", "F", net.g)
	scoretest.Connect(s, net.h) // crowded: one ip_colocation charge
	for _, p := range []peer.ID{"A", "B", "C"} {
		s.Tracer().Graft(p, "alpha")
	}
	s.Tracer().Graft("B", "gamma")
	s.Tracer().SendRPC(iwant("wanted"), "E") // E promises "wanted" within 3s, and never delivers

	// At 4s: P1 is 4 quanta for A, B and C, P3 is active in alpha, and
	// E's promise is broken.
	time.Sleep(4 * time.Second)
	s.Refresh()

	scoretest.DeliverN(s, "alpha", "a", "A", 3) // A: 3 first deliveries, 3 mesh deliveries
	scoretest.Deliver(s, scoretest.Msg("gamma", "g-0", "A"))
	for i := range 2 { // C: two invalid messages
		msg := scoretest.Msg("beta", fmt.Sprintf("b-%d", i), "C")
		s.Tracer().ValidateMessage(msg)
		s.Tracer().RejectMessage(msg, pubsub.RejectValidationFailed)
	}
	s.AddPenalty("D", 10)
	s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Publish: []*pb.Message{{Data: []byte("x")}, {Data: []byte("y")}}}}, "F")

	// A second later, B echoes a message in each of its meshes: too late
	// for mesh credit in both.
	time.Sleep(time.Second)
	s.Tracer().DuplicateMessage(scoretest.As(scoretest.Msg("alpha", "a-0", "A"), "B"))
	s.Tracer().DuplicateMessage(scoretest.As(scoretest.Msg("gamma", "g-0", "A"), "B"))
	s.Tracer().Prune("B", "alpha") // owes 4 mesh deliveries: P3b 16
	s.Tracer().OnClosedOutboundStream("E")
	s.Tracer().SendRPC(iwant("pending"), "A") // outstanding at the scrape
	return s
}

// newScorer creates a scorer with params and thresholds, or fails the test.
func newScorer(t *testing.T, opts ...peerscore.Option) *peerscore.Scorer {
	t.Helper()
	return scoretest.New(t, params(), append(opts, peerscore.WithThresholds(thresholds()))...)
}

// newRegistry registers a new Collector of s on a new registry.
func newRegistry(t *testing.T, s *peerscore.Scorer, opts ...metrics.Option) (*metrics.Collector, *prometheus.Registry) {
	t.Helper()
	c, err := metrics.New(s, opts...)
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return c, reg
}

// TestCollectScenario scrapes after runScenario and checks every metric
// against the values worked out by hand.
func TestCollectScenario(t *testing.T) {
	net := newColocated(t)
	synctest.Test(t, func(t *testing.T) {
		s := runScenario(t, net)
		// Sanity: the engine agrees with the hand-computed scores.
		for p, want := range map[peer.ID]float64{"A": 23.5, "B": -16, "C": -23, "D": -64, "E": 0, "F": -2, net.g: -3, net.h: -3} {
			require.Equalf(t, want, s.Score(p), "score of %s", p)
		}

		m, reg := newRegistry(t, s)
		sc := scoretest.Gather(t, reg)

		// Histogram: D -64 ≤ -40; C -23 ≤ -20; B -16 ≤ -10; F, G, H ≤ -1;
		// E ≤ 0; A ≤ 40.
		h := sc.Metric(t, "peerscore_score").GetHistogram()
		require.Equal(t, uint64(8), h.GetSampleCount())
		require.Equal(t, -87.5, h.GetSampleSum())
		wantBuckets := []struct {
			le    float64
			count uint64
		}{{-160, 0}, {-80, 0}, {-40, 1}, {-20, 2}, {-10, 3}, {-1, 6}, {-0.1, 6}, {0, 7}, {2, 7}, {10, 7}, {20, 7}, {40, 8}}
		require.Len(t, h.GetBucket(), len(wantBuckets))
		for i, b := range h.GetBucket() {
			require.Equalf(t, wantBuckets[i].le, b.GetUpperBound(), "bucket %d bound", i)
			require.Equalf(t, wantBuckets[i].count, b.GetCumulativeCount(), "bucket le=%v", b.GetUpperBound())
		}

		for band, want := range map[string]float64{
			"above_zero": 1, "below_zero": 6, "below_gossip": 3, "below_publish": 2, "below_graylist": 1,
		} {
			require.Equalf(t, want, sc.Value(t, "peerscore_peers", "band", band), "band %s", band)
		}
		require.Equal(t, 8.0, sc.Value(t, "peerscore_peers_known"))
		require.Equal(t, 1.0, sc.Value(t, "peerscore_peers_retained"))

		// Component contributions and minima, by hand.
		for comp, want := range map[string][2]float64{ // sum, min
			"p1": {2, 0}, "p2": {4, 0}, "p3": {-17, -16}, "p3b": {-16, -16}, "p4": {-8, -8},
			"topic_cap": {-0.5, -0.5}, "p5": {20, 0}, "p6": {-6, -3}, "p7": {-64, -64}, "slow_peer": {-2, -2},
		} {
			require.Equalf(t, want[0], sc.Value(t, "peerscore_component_contribution", "component", comp), "sum of %s", comp)
			require.Equalf(t, want[1], sc.Value(t, "peerscore_component_min", "component", comp), "min of %s", comp)
		}

		// Per topic, weighted by the topic weight (gamma's P2 of 0.5 counts 1).
		for topic, want := range map[string][5]float64{ // p1 p2 p3 p3b p4
			"alpha": {2, 3, -17, -16, 0},
			"beta":  {0, 0, 0, 0, -8},
			"gamma": {0, 1, 0, 0, 0},
		} {
			for i, comp := range []string{"p1", "p2", "p3", "p3b", "p4"} {
				require.Equalf(t, want[i], sc.Value(t, "peerscore_topic_component_contribution", "topic", topic, "component", comp),
					"topic %s component %s", topic, comp)
			}
		}
		require.Equal(t, []string{"alpha", "beta", "gamma"}, sc.LabelValues("peerscore_topic_component_contribution", "topic"),
			"under the default cap every topic has its own label and there is no other")

		require.Equal(t, 1.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "alpha"))
		require.Equal(t, 0.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "beta"))
		require.Equal(t, 1.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "gamma"))

		for reason, want := range map[peerscore.PenaltyReason]float64{
			peerscore.PenaltyInvalidMessage:     2,
			peerscore.PenaltyBrokenPromise:      1,
			peerscore.PenaltyGraftBackoff:       0,
			peerscore.PenaltyMeshDeficit:        1,
			peerscore.PenaltyIPColocation:       1,
			peerscore.PenaltySlowPeer:           2,
			peerscore.PenaltyRepeatedExtensions: 0,
			peerscore.PenaltyAddPenalty:         10, // AddPenalty(D, 10): the amount
		} {
			require.Equalf(t, want, sc.Value(t, "peerscore_penalties_total", "reason", string(reason)), "penalties for %s", reason)
		}
		require.Len(t, sc["peerscore_penalties_total"].GetMetric(), len(s.Stats().Penalties))

		require.Equal(t, 6.0, sc.Value(t, "peerscore_delivery_records"), "a-0..2, g-0, b-0..1")
		require.Equal(t, 1.0, sc.Value(t, "peerscore_iwant_promises"))

		// And independently of the hand computation: the components agree
		// with the snapshots, and everything adds up to the scores.
		checkAgainstSnapshots(t, s, sc)

		problems, err := testutil.CollectAndLint(m)
		require.NoError(t, err)
		require.Empty(t, problems)
	})
}

// checkAgainstSnapshots recomputes the component totals and the bands from
// Snapshots and compares them with a scrape taken with no event since.
func checkAgainstSnapshots(t *testing.T, s *peerscore.Scorer, sc scoretest.Scrape) {
	t.Helper()
	sums := map[string]float64{}
	var scoreSum float64
	var below [3]float64
	th := thresholds()
	for _, snap := range s.Snapshots() {
		for _, ts := range snap.Topics {
			sums["p1"] += ts.P1 * ts.TopicWeight
			sums["p2"] += ts.P2 * ts.TopicWeight
			sums["p3"] += ts.P3 * ts.TopicWeight
			sums["p3b"] += ts.P3b * ts.TopicWeight
			sums["p4"] += ts.P4 * ts.TopicWeight
		}
		sums["topic_cap"] += snap.TopicScore - snap.TopicScoreUncapped
		sums["p5"] += snap.P5
		sums["p6"] += snap.P6
		sums["p7"] += snap.P7
		sums["slow_peer"] += snap.SlowPeer
		scoreSum += snap.Score
		for i, level := range []float64{th.GossipThreshold, th.PublishThreshold, th.GraylistThreshold} {
			if snap.Score < level {
				below[i]++
			}
		}
	}
	var total float64
	for comp, want := range sums {
		got := sc.Value(t, "peerscore_component_contribution", "component", comp)
		require.InDeltaf(t, want, got, 1e-9, "component %s against Snapshots", comp)
		total += got
	}
	require.InDelta(t, scoreSum, total, 1e-9, "the components add up to the scores")
	require.InDelta(t, scoreSum, sc.Metric(t, "peerscore_score").GetHistogram().GetSampleSum(), 1e-9)
	for i, band := range []string{"below_gossip", "below_publish", "below_graylist"} {
		require.Equalf(t, below[i], sc.Value(t, "peerscore_peers", "band", band), "band %s against Snapshots", band)
	}
}

// TestCollectEmptyScorer: every family is there before any peer, minima
// are 0, and the output lints clean.
func TestCollectEmptyScorer(t *testing.T) {
	s := newScorer(t)
	m, reg := newRegistry(t, s)
	sc := scoretest.Gather(t, reg)
	require.Len(t, sc, 15, "every metric family but peerscore_bans, which needs WithGater")
	require.Equal(t, float64(1<<19), sc.Value(t, "peerscore_delivery_records_max"), "the default bound")
	require.Equal(t, float64(1<<13), sc.Value(t, "peerscore_peers_retained_max"), "the default bound")
	require.Equal(t, 0.0, sc.Value(t, "peerscore_retained_evicted_total"))
	require.Equal(t, uint64(0), sc.Metric(t, "peerscore_score").GetHistogram().GetSampleCount())
	require.Equal(t, 0.0, sc.Value(t, "peerscore_peers", "band", "below_zero"))
	require.Equal(t, 0.0, sc.Value(t, "peerscore_component_min", "component", "p7"))
	require.Equal(t, 0.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "alpha"))
	require.Equal(t, 0.0, sc.Value(t, "peerscore_router_mismatches_total"))
	problems, err := testutil.CollectAndLint(m)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// TestScoreBuckets pins the bucket rule.
func TestScoreBuckets(t *testing.T) {
	eth := &peerscore.Thresholds{
		GossipThreshold: -4000, PublishThreshold: -8000, GraylistThreshold: -16000,
		AcceptPXThreshold: 100, OpportunisticGraftThreshold: 5,
	}
	require.Equal(t, []float64{-64000, -32000, -16000, -8000, -4000, -400, -40, 0, 5, 100, 200, 400}, metrics.ScoreBuckets(eth))
	require.Equal(t, []float64{-160, -80, -40, -20, -10, -1, -0.1, 0, 2, 10, 20, 40}, metrics.ScoreBuckets(thresholds()))
	// Thresholds left at zero merge into the zero bound.
	require.Equal(t, []float64{0}, metrics.ScoreBuckets(&peerscore.Thresholds{SkipAtomicValidation: true}))
	require.Equal(t, []float64{0}, metrics.ScoreBuckets(nil))
	require.Equal(t, []float64{-40, -20, -10, -1, -0.1, 0},
		metrics.ScoreBuckets(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -10, GraylistThreshold: -10}))
	b := metrics.ScoreBuckets(&peerscore.Thresholds{GraylistThreshold: -math.MaxFloat64, PublishThreshold: -1, GossipThreshold: -1})
	require.Equal(t, -math.MaxFloat64, b[0], "overflowing multiples are dropped")
}

// TestNewErrors: New refuses a Scorer it cannot work with and bad
// options, with one prefix, and skips nil options.
func TestNewErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		s    *peerscore.Scorer
		opts []metrics.Option
		want string
	}{
		"nil Scorer":     {nil, nil, "peerscore/metrics: New: nil Scorer"},
		"no thresholds":  {scoretest.New(t, params()), nil, "peerscore/metrics: New: the Scorer has no thresholds (give peerscore.New WithThresholds)"},
		"negative cap":   {newScorer(t), []metrics.Option{metrics.WithMaxTopicLabels(-1)}, "peerscore/metrics: WithMaxTopicLabels: -1 is negative"},
		"nil label func": {newScorer(t), []metrics.Option{metrics.WithTopicLabelFunc(nil)}, "peerscore/metrics: WithTopicLabelFunc: nil function"},
		"nil gater":      {newScorer(t), []metrics.Option{metrics.WithGater(nil)}, "peerscore/metrics: WithGater: nil gater"},
	} {
		c, err := metrics.New(tc.s, tc.opts...)
		require.EqualErrorf(t, err, tc.want, "%s", name)
		require.Nilf(t, c, "%s: a Collector came back with the error", name)
	}
	c, err := metrics.New(newScorer(t), nil, metrics.WithMaxTopicLabels(1), nil)
	require.NoError(t, err, "nil options are skipped")
	require.NotNil(t, c)
}

// TestOneCollectorPerRegistry: a second Collector registers as a duplicate,
// unless constant labels tell them apart, on every one of them.
func TestOneCollectorPerRegistry(t *testing.T) {
	s := newScorer(t)
	c1, reg := newRegistry(t, s)
	c2, err := metrics.New(s)
	require.NoError(t, err)
	require.Error(t, reg.Register(c2))

	reg = prometheus.NewRegistry()
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"network": "a"}, reg).Register(c1))
	require.NoError(t, prometheus.WrapRegistererWith(prometheus.Labels{"network": "b"}, reg).Register(c2))
	sc := scoretest.Gather(t, reg)
	require.Len(t, sc["peerscore_peers_known"].GetMetric(), 2)
}

// TestCollectConcurrentScrapes scrapes while events, refreshes and new
// topics arrive: no race, no inconsistent registry, and the topic label
// cap holds.
func TestCollectConcurrentScrapes(t *testing.T) {
	s := newScorer(t)
	const maxTopics = 4
	_, reg := newRegistry(t, s, metrics.WithMaxTopicLabels(maxTopics))
	peers := []peer.ID{"P0", "P1", "P2", "P3"}
	scoretest.Connect(s, peers...)

	var wg sync.WaitGroup
	for w, p := range peers {
		wg.Go(func() {
			for i := range 50 {
				topic := []string{"alpha", "beta", "gamma"}[i%3]
				s.Tracer().Graft(p, topic)
				scoretest.Deliver(s, scoretest.Msg(topic, fmt.Sprintf("w%d-%d", w, i), p))
				msg := scoretest.Msg("beta", fmt.Sprintf("bad-w%d-%d", w, i), p)
				s.Tracer().ValidateMessage(msg)
				s.Tracer().RejectMessage(msg, pubsub.RejectValidationFailed)
				s.AddPenalty(p, 1)
				if i%10 == 0 {
					s.Refresh()
					assert.NoError(t, s.SetTopicParams(fmt.Sprintf("new-%d-%d", w, i), &peerscore.TopicParams{
						SkipAtomicValidation: true, TopicWeight: 1,
					}))
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 20 {
				mfs, err := reg.Gather()
				if !assert.NoError(t, err) {
					return
				}
				for _, mf := range mfs {
					if mf.GetName() == "peerscore_late_duplicates_total" {
						assert.LessOrEqual(t, len(mf.GetMetric()), maxTopics+1, "topic label cap")
					}
				}
			}
		})
	}
	wg.Wait()
	sc := scoretest.Gather(t, reg)
	// The configured topics took the first three labels; whichever new
	// topic a scrape found first (scheduling decides) took the fourth, and
	// the rest share "other".
	labels := sc.LabelValues("peerscore_late_duplicates_total", "topic")
	require.Len(t, labels, maxTopics+1)
	require.Equal(t, []string{"alpha", "beta", "gamma"}, labels[:3])
	require.True(t, strings.HasPrefix(labels[3], "new-"), labels[3])
	require.Equal(t, "other", labels[4])
	require.Equal(t, float64(4*50), sc.Value(t, "peerscore_penalties_total", "reason", "invalid_message"))
}

// TestCollectBounds: the bounds on delivery records and retained peers are
// exported next to the counts, and a retained peer pushed out by the bound
// is counted.
func TestCollectBounds(t *testing.T) {
	s := newScorer(t, peerscore.WithMaxDeliveryRecords(4), peerscore.WithMaxRetainedPeers(1))
	_, reg := newRegistry(t, s)
	scoretest.Connect(s, "X", "Y", "Z")
	for i := range 6 {
		scoretest.Deliver(s, scoretest.Msg("alpha", fmt.Sprintf("m-%d", i), "Z"))
	}
	s.AddPenalty("X", 5) // both below zero, so both are retained on disconnect
	s.AddPenalty("Y", 9)
	s.Tracer().OnClosedOutboundStream("X")
	s.Tracer().OnClosedOutboundStream("Y") // one retained peer too many: X, the least negative, goes

	sc := scoretest.Gather(t, reg)
	require.Equal(t, 4.0, sc.Value(t, "peerscore_delivery_records"))
	require.Equal(t, 4.0, sc.Value(t, "peerscore_delivery_records_max"))
	require.Equal(t, 1.0, sc.Value(t, "peerscore_peers_retained"))
	require.Equal(t, 1.0, sc.Value(t, "peerscore_peers_retained_max"))
	require.Equal(t, 1.0, sc.Value(t, "peerscore_retained_evicted_total"))
	_, kept := s.Snapshot("Y")
	require.True(t, kept, "the worst offender is kept")
	scoretest.RequireUnknown(t, s, "X")
}

// TestCollectBans: with WithGater, peerscore_bans counts the bans by kind
// in force in a real Gater, and stops counting a ban once it ends.
func TestCollectBans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScorer(t)
		g := ban.NewGater()
		c, reg := newRegistry(t, s, metrics.WithGater(g))
		bans := func() map[string]float64 {
			m := scoretest.Gather(t, reg)
			out := map[string]float64{}
			for _, kind := range []string{"peer", "ip", "subnet"} {
				out[kind] = m.Value(t, "peerscore_bans", "kind", kind)
			}
			return out
		}
		require.Equal(t, map[string]float64{"peer": 0, "ip": 0, "subnet": 0}, bans())

		require.NoError(t, g.Ban("A", time.Now().Add(time.Minute)))
		require.NoError(t, g.Ban("B", time.Now().Add(time.Hour)))
		require.NoError(t, g.Ban("C", time.Now().Add(time.Hour)))
		g.Unban("C")
		require.NoError(t, g.BanIP(netip.MustParseAddr("192.0.2.7"), time.Now().Add(time.Hour)))
		require.NoError(t, g.BanIP(netip.MustParseAddr("2001:db8::7"), time.Now().Add(time.Hour)))
		require.NoError(t, g.BanSubnet(netip.MustParsePrefix("198.51.100.0/24"), time.Now().Add(time.Minute)))
		require.Equal(t, map[string]float64{"peer": 2, "ip": 2, "subnet": 1}, bans())

		time.Sleep(2 * time.Minute) // A's and the subnet's bans end
		require.Equal(t, map[string]float64{"peer": 1, "ip": 2, "subnet": 0}, bans())

		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		require.Empty(t, problems)
	})
}

// The defect: the application's reputation had no metrics, and
// peerscore_penalties_total{reason="application"} counted only AddPenalty,
// which read as if it counted the reputation's reports. The reason is
// add_penalty now, and with WithReputation the reputation is exported:
// its tracked and frozen peers, bound, reports by action, evictions and
// refused reports.
func TestCollectReputation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScorer(t)
		rep, err := reputation.New(reputation.WithMaxPeers(2), reputation.WithFreeze(-50, time.Hour),
			reputation.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		c, reg := newRegistry(t, s, metrics.WithReputation(rep))
		scoretest.Connect(s, "D")
		s.AddPenalty("D", 3)
		rep.Report("A", reputation.Fatal, "wrong network")
		rep.Report("B", reputation.Low, "slow")
		rep.Report("B", reputation.Low, "slow")
		rep.Report("C", reputation.High, "invalid block") // evicts B, the mildest
		rep.Report("A", reputation.Mid, "again")

		sc := scoretest.Gather(t, reg)
		require.Equal(t, 3.0, sc.Value(t, "peerscore_penalties_total", "reason", "add_penalty"))
		require.NotContains(t, sc.LabelValues("peerscore_penalties_total", "reason"), "application")
		require.Equal(t, 2.0, sc.Value(t, "peerscore_reputation_peers"))
		require.Equal(t, 1.0, sc.Value(t, "peerscore_reputation_peers_frozen"))
		require.Equal(t, 2.0, sc.Value(t, "peerscore_reputation_peers_max"))
		require.Equal(t, 1.0, sc.Value(t, "peerscore_reputation_evicted_total"))
		require.Equal(t, 0.0, sc.Value(t, "peerscore_reputation_untracked_total"))
		for action, want := range map[string]float64{"low": 2, "mid": 1, "high": 1, "fatal": 1, "useful": 0} {
			require.Equal(t, want, sc.Value(t, "peerscore_reputation_reports_total", "action", action), action)
		}
		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		require.Empty(t, problems)

		_, err = metrics.New(s, metrics.WithReputation(nil))
		require.ErrorContains(t, err, "WithReputation: nil Reputation")
	})
}
