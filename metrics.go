package peerscore

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxTopicLabels is how many distinct topic label values Metrics
// gives out unless WithMaxTopicLabels says otherwise.
const DefaultMaxTopicLabels = 32

// OtherTopicLabel is the topic label value shared by every topic beyond the
// WithMaxTopicLabels cap, so that the number of series stays bounded
// however many topics are scored.
const OtherTopicLabel = "other"

// MetricsOption configures Metrics in NewMetrics.
type MetricsOption func(*metricsConfig) error

type metricsConfig struct {
	maxTopics  int
	topicLabel func(topic string) string
}

// WithMaxTopicLabels caps the number of distinct values of the topic label
// at n; topics beyond the cap share the value OtherTopicLabel ("other").
// Values are given out first come, first served, and a topic keeps its
// value for the life of the Metrics: the topics scored when NewMetrics runs
// come first, in sorted order, then topics added later with
// SetTopicParams, in sorted order within what each scrape finds new. n
// must not be negative; 0 puts every topic under "other". The default is
// DefaultMaxTopicLabels.
func WithMaxTopicLabels(n int) MetricsOption {
	return func(c *metricsConfig) error {
		if n < 0 {
			return fmt.Errorf("peerscore: WithMaxTopicLabels: %d is negative", n)
		}
		c.maxTopics = n
		return nil
	}
}

// WithTopicLabelFunc sets how a topic name becomes a topic label value
// before the WithMaxTopicLabels cap applies: topics mapped to the same value
// are added up in one series, and the cap counts values, not topics. Use
// it to name topics briefly or to group them, e.g. every
// "/eth2/<digest>/beacon_attestation_<n>/ssz_snappy" under
// "beacon_attestation". fn is called once per topic, never while the
// Scorer's lock is held; returning "" (or "other") sends the topic to
// OtherTopicLabel. Invalid UTF-8 is replaced, as Prometheus requires. The
// default is the topic name itself.
func WithTopicLabelFunc(fn func(topic string) string) MetricsOption {
	return func(c *metricsConfig) error {
		if fn == nil {
			return errors.New("peerscore: WithTopicLabelFunc: nil function")
		}
		c.topicLabel = fn
		return nil
	}
}

// Component label values, in the order the score adds them up. topic_cap is
// what TopicScoreCap took off (zero or negative), so that the components of
// a peer add up to its score.
var componentNames = [...]string{"p1", "p2", "p3", "p3b", "p4", "topic_cap", "p5", "p6", "p7", "slow_peer"}

const (
	compP1 = iota
	compP2
	compP3
	compP3b
	compP4
	compTopicCap
	compP5
	compP6
	compP7
	compSlowPeer
	numComponents
)

// numTopicComponents are the components a topic has: P1 to P4 and P3b.
const numTopicComponents = compP4 + 1

// Band label values of peerscore_peers.
var bandNames = [...]string{"above_zero", "below_zero", "below_gossip", "below_publish", "below_graylist"}

// Metrics is a prometheus.Collector that exports a Scorer's scores, their
// components and its running totals. Everything is computed when the
// registry is scraped, from Scorer.Snapshots and Scorer.Stats; between
// scrapes Metrics costs nothing. Create it with NewMetrics and register it
// on any prometheus.Registerer.
//
// The metrics, all prefixed peerscore_ (scores are in score points, the
// unit of the score function; the score-derived series cover every peer
// the Scorer knows, retained ones included, as pubsub's score inspection
// does):
//
//	peerscore_score                                   histogram of peers' scores, buckets from ScoreBuckets
//	peerscore_peers{band}                             gauge: peers by score band (see below)
//	peerscore_peers_known                             gauge: peers the Scorer knows, retained ones included
//	peerscore_peers_retained                          gauge: disconnected peers kept for their score ≤ 0
//	peerscore_component_contribution{component}       gauge: a component's contribution, summed over peers
//	peerscore_component_min{component}                gauge: the lowest contribution of a component by any peer
//	peerscore_topic_component_contribution{topic,component}
//	                                                  gauge: a topic component's contribution, summed over peers
//	peerscore_penalties_total{reason}                 counter: penalties charged, by PenaltyReason
//	peerscore_late_duplicates_total{topic}            counter: copies from mesh peers too late for mesh credit
//	peerscore_delivery_records                        gauge: message delivery records held
//	peerscore_iwant_promises                          gauge: IWANT promises outstanding
//	peerscore_router_mismatches_total                 counter: router checks that found the router scoring on its own
//
// Every gauge and the histogram describe the peers as they are at the
// scrape, not a history: read the histogram as it is (for example
// histogram_quantile(0.1, peerscore_score_bucket) for the 10th percentile
// score), not through rate(); its sum is usually negative.
//
// Bands: above_zero counts scores > 0 and below_zero scores < 0 (a score of
// exactly 0 is in neither); below_gossip, below_publish and below_graylist
// count scores strictly below the Thresholds' GossipThreshold,
// PublishThreshold and GraylistThreshold, where the router acts. The below
// bands are cumulative: a graylisted peer is counted in all four.
//
// Components: p1, p2, p3, p3b and p4 are the topic components weighted by
// their own weight and by their topic's TopicWeight, so that all are in
// score points; topic_cap is what TopicScoreCap took off a peer's topic
// sum (zero or negative); p5, p6 and p7 are the weighted P5 to P7 and
// slow_peer the slow-peer penalty. A peer's components add up to its score,
// so the contributions add up to the sum of the peerscore_score histogram.
// With no peers, peerscore_component_min is 0.
//
// No value is ever NaN or infinite. With weights near the float64 limits a
// score can be ±Inf and sums can go beyond ±MaxFloat64: every score and
// component then counts as ±MaxFloat64 in the sums and minima, and every
// sum is held within ±MaxFloat64 (an infinite score still lands in the
// lowest bucket or in +Inf).
//
// Topic labels are capped (WithMaxTopicLabels, WithTopicLabelFunc): topics
// beyond the cap are added up under "other", which appears once a topic
// lands there. Every labelled scored topic has its series from the first
// scrape on, zero until something happens.
//
// Penalties count what Stats.Penalties counts: the amount added to the
// counter for invalid messages, broken promises, GRAFT backoff violations,
// repeated extensions, slow peers and AddPenalty, and the number of charges for mesh delivery
// deficits and IP colocation. reason is PenaltyReason.String().
//
// Router mismatches count what Stats.RouterMismatches counts: anything
// above zero means the router does not score with peerscore's score alone
// (see WithRouterCheck); alert on it.
type Metrics struct {
	scorer     *Scorer
	thresholds Thresholds
	buckets    []float64
	topics     *topicLabeler

	score             *prometheus.Desc
	peers             *prometheus.Desc
	known             *prometheus.Desc
	retained          *prometheus.Desc
	contribution      *prometheus.Desc
	minimum           *prometheus.Desc
	topicContribution *prometheus.Desc
	penalties         *prometheus.Desc
	lateDuplicates    *prometheus.Desc
	deliveryRecords   *prometheus.Desc
	promises          *prometheus.Desc
	routerMismatches  *prometheus.Desc
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns a collector of s's metrics, whose bands and histogram
// buckets follow t, the thresholds the router is given (t is validated and
// copied). Register it on any prometheus.Registerer:
//
//	thresholds := &peerscore.Thresholds{
//		GossipThreshold: -4000, PublishThreshold: -8000, GraylistThreshold: -16000,
//		AcceptPXThreshold: 100, OpportunisticGraftThreshold: 5,
//	}
//	opts, err := scorer.GossipSubOptions(thresholds)
//	// ... pubsub.NewGossipSub(ctx, h, opts...)
//	m, err := peerscore.NewMetrics(scorer, thresholds, peerscore.WithMaxTopicLabels(16))
//	if err != nil {
//		return err
//	}
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(m)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The metric names are fixed, so one registry takes one Metrics; to export
// several scorers to one registry, give each its own constant label:
//
//	prometheus.WrapRegistererWith(prometheus.Labels{"network": "mainnet"}, reg).MustRegister(mainnet)
//	prometheus.WrapRegistererWith(prometheus.Labels{"network": "testnet"}, reg).MustRegister(testnet)
//
// A scrape takes the Scorer's lock once for Snapshots and once for Stats,
// each for a copy of the state, and calls Params.AppSpecificScore once per
// peer outside it: cheap at any usual scrape interval.
func NewMetrics(s *Scorer, t *Thresholds, opts ...MetricsOption) (*Metrics, error) {
	if s == nil {
		return nil, errors.New("peerscore: NewMetrics: nil Scorer")
	}
	if t == nil {
		return nil, errors.New("peerscore: NewMetrics: nil Thresholds")
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("peerscore: NewMetrics: %w", err)
	}
	cfg := metricsConfig{maxTopics: DefaultMaxTopicLabels, topicLabel: func(topic string) string { return topic }}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	m := &Metrics{
		scorer:     s,
		thresholds: *t,
		buckets:    ScoreBuckets(t),
		topics:     newTopicLabeler(cfg.maxTopics, cfg.topicLabel),

		score: prometheus.NewDesc("peerscore_score",
			"Peers' scores (score points), every known peer including retained ones. "+
				"Bucket bounds are the router's thresholds and multiples of them (see peerscore.ScoreBuckets).",
			nil, nil),
		peers: prometheus.NewDesc("peerscore_peers",
			"Peers by score band: above_zero (> 0), below_zero (< 0), below_gossip, below_publish, below_graylist "+
				"(strictly below that threshold). The below bands are cumulative.",
			[]string{"band"}, nil),
		known: prometheus.NewDesc("peerscore_peers_known",
			"Peers the scorer knows, retained ones included.", nil, nil),
		retained: prometheus.NewDesc("peerscore_peers_retained",
			"Disconnected peers kept, frozen, for their score of zero or less until RetainScore passes.", nil, nil),
		contribution: prometheus.NewDesc("peerscore_component_contribution",
			"Contribution of a score component, summed over peers (score points). Topic components (p1 to p4) are "+
				"weighted by their topic's TopicWeight; topic_cap is what TopicScoreCap took off.",
			[]string{"component"}, nil),
		minimum: prometheus.NewDesc("peerscore_component_min",
			"Lowest contribution of a score component by any one peer (score points); 0 with no peers.",
			[]string{"component"}, nil),
		topicContribution: prometheus.NewDesc("peerscore_topic_component_contribution",
			"Contribution of a topic's score component, weighted by the TopicWeight and summed over peers "+
				"(score points). Topics beyond the label cap are under topic=\"other\".",
			[]string{"topic", "component"}, nil),
		penalties: prometheus.NewDesc("peerscore_penalties_total",
			"Penalties charged to peers since the scorer started, by reason.",
			[]string{"reason"}, nil),
		lateDuplicates: prometheus.NewDesc("peerscore_late_duplicates_total",
			"Copies of valid messages from mesh peers that came after MeshMessageDeliveriesWindow and earned "+
				"no mesh delivery credit, by topic. Topics beyond the label cap are under topic=\"other\".",
			[]string{"topic"}, nil),
		deliveryRecords: prometheus.NewDesc("peerscore_delivery_records",
			"Message delivery records held (bounded by SeenMsgTTL and WithMaxDeliveryRecords).", nil, nil),
		promises: prometheus.NewDesc("peerscore_iwant_promises",
			"IWANT promises outstanding: messages peers advertised, we asked for, and they have yet to deliver.",
			nil, nil),
		routerMismatches: prometheus.NewDesc("peerscore_router_mismatches_total",
			"Router checks (one per period and detector) that found the GossipSub router scoring with something "+
				"besides peerscore's score, e.g. after Topic.SetScoreParams or a later pubsub.WithPeerScore. "+
				"Anything above zero is a misconfiguration; the scorer's Error log says which.",
			nil, nil),
	}
	m.topics.update(s) // the configured topics get their labels first, in sorted order
	return m, nil
}

// ScoreBuckets returns the upper bounds of the peerscore_score histogram's
// buckets for thresholds t. With G, P and Q the graylist, publish and
// gossip thresholds, O the opportunistic graft threshold and A the accept PX
// threshold, the bounds are
//
//	4G, 2G, G, P, Q, Q/10, Q/100, 0, O, A, 2A, 4A
//
// sorted, with duplicates (thresholds left at zero, say) merged and
// non-finite values dropped: the thresholds themselves, room below the
// graylist, decades between the gossip threshold and zero where mildly
// penalised peers sit, and room above accept PX for trusted peers. As in
// every Prometheus histogram a bucket counts scores less than or equal to
// its bound, whereas the router's thresholds act on scores strictly below
// them: a peer exactly at the graylist threshold is counted in bucket
// le=G but is not graylisted (peerscore_peers counts the bands exactly).
// A nil t gives the bounds of all-zero thresholds: [0].
func ScoreBuckets(t *Thresholds) []float64 {
	var g, p, q, o, a float64
	if t != nil {
		g, p, q = t.GraylistThreshold, t.PublishThreshold, t.GossipThreshold
		o, a = t.OpportunisticGraftThreshold, t.AcceptPXThreshold
	}
	candidates := []float64{4 * g, 2 * g, g, p, q, q / 10, q / 100, 0, o, a, 2 * a, 4 * a}
	out := make([]float64, 0, len(candidates))
	for _, b := range candidates {
		if math.IsNaN(b) || math.IsInf(b, 0) {
			continue
		}
		out = append(out, b+0) // +0 turns -0 into 0
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Describe sends the descriptors of every metric Metrics exports.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.score, m.peers, m.known, m.retained, m.contribution, m.minimum, m.topicContribution,
		m.penalties, m.lateDuplicates, m.deliveryRecords, m.promises, m.routerMismatches,
	} {
		ch <- d
	}
}

// topicTotals are what one topic label value adds up.
type topicTotals struct {
	components [numTopicComponents]float64
	late       uint64
}

// Collect computes the metrics from the Scorer's current state and sends
// them. It is safe to call concurrently, including with the Scorer's events.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	snaps := m.scorer.Snapshots()
	stats := m.scorer.Stats()
	// Topics only ever get added, so every topic in snaps and stats is
	// among those update finds.
	labels := m.topics.update(m.scorer)

	perTopic := make(map[string]*topicTotals, len(labels.values)+1)
	for _, v := range labels.values {
		perTopic[v] = &topicTotals{}
	}
	totals := func(topic string) *topicTotals {
		v := m.topics.labelOf(labels, topic)
		tt, ok := perTopic[v]
		if !ok {
			tt = &topicTotals{}
			perTopic[v] = tt
		}
		return tt
	}

	var (
		sum, low  [numComponents]float64
		bands     [len(bandNames)]float64
		counts    = make([]uint64, len(m.buckets)+1) // the last is +Inf
		scoreSum  float64
		nRetained int
	)
	for i := range low {
		low[i] = math.Inf(1)
	}
	sums := newMetricSums(snaps)
	th := &m.thresholds
	for _, snap := range snaps {
		var c [numComponents]float64
		for name, ts := range snap.Topics {
			w := ts.TopicWeight
			parts := [numTopicComponents]float64{ts.P1 * w, ts.P2 * w, ts.P3 * w, ts.P3b * w, ts.P4 * w}
			tt := totals(name)
			for i, v := range parts {
				c[i] += finite(v) // a topic component has one sign in every topic: no cancellation
				sums.add(&tt.components[i], v)
			}
		}
		c[compTopicCap] = snap.TopicScore - snap.TopicScoreUncapped
		c[compP5], c[compP6], c[compP7], c[compSlowPeer] = snap.P5, snap.P6, snap.P7, snap.SlowPeer
		for i, v := range c {
			v = finite(v)
			sums.add(&sum[i], v)
			low[i] = math.Min(low[i], v)
		}

		score := snap.Score // infinite scores are counted in the lowest bucket or in +Inf
		sums.add(&scoreSum, score)
		counts[sort.SearchFloat64s(m.buckets, score)]++
		if score > 0 {
			bands[0]++
		}
		if score < 0 {
			bands[1]++
		}
		if score < th.GossipThreshold {
			bands[2]++
		}
		if score < th.PublishThreshold {
			bands[3]++
		}
		if score < th.GraylistThreshold {
			bands[4]++
		}
		if !snap.Connected {
			nRetained++
		}
	}
	for topic, n := range stats.LateDuplicates {
		totals(topic).late += n
	}

	cumulative := make(map[float64]uint64, len(m.buckets))
	var running uint64
	for i, b := range m.buckets {
		running += counts[i]
		cumulative[b] = running
	}
	ch <- prometheus.MustNewConstHistogram(m.score, uint64(len(snaps)), sums.value(scoreSum), cumulative)
	for i, band := range bandNames {
		ch <- prometheus.MustNewConstMetric(m.peers, prometheus.GaugeValue, bands[i], band)
	}
	ch <- prometheus.MustNewConstMetric(m.known, prometheus.GaugeValue, float64(len(snaps)))
	ch <- prometheus.MustNewConstMetric(m.retained, prometheus.GaugeValue, float64(nRetained))
	for i, name := range componentNames {
		if len(snaps) == 0 {
			low[i] = 0
		}
		ch <- prometheus.MustNewConstMetric(m.contribution, prometheus.GaugeValue, sums.value(sum[i]), name)
		ch <- prometheus.MustNewConstMetric(m.minimum, prometheus.GaugeValue, low[i], name)
	}
	for v, tt := range perTopic {
		for i, comp := range tt.components {
			ch <- prometheus.MustNewConstMetric(m.topicContribution, prometheus.GaugeValue, sums.value(comp), v, componentNames[i])
		}
		ch <- prometheus.MustNewConstMetric(m.lateDuplicates, prometheus.CounterValue, float64(tt.late), v)
	}
	for r, n := range stats.Penalties { // every reason, zero or not
		ch <- prometheus.MustNewConstMetric(m.penalties, prometheus.CounterValue, float64(n), string(r))
	}
	ch <- prometheus.MustNewConstMetric(m.deliveryRecords, prometheus.GaugeValue, float64(stats.DeliveryRecords))
	ch <- prometheus.MustNewConstMetric(m.promises, prometheus.GaugeValue, float64(stats.Promises))
	ch <- prometheus.MustNewConstMetric(m.routerMismatches, prometheus.CounterValue, float64(stats.RouterMismatches))
}

// metricSums adds up the values of a scrape so that no metric is ever NaN
// or infinite. Scores can be ±Inf, and components near ±MaxFloat64 can add
// up beyond it: +Inf + -Inf would be NaN here, and an infinite series
// would make NaN of any query adding series up as soon as another has the
// opposite infinity. So every value is clamped to ±MaxFloat64 before it is
// added, the sums are kept at a scale where they cannot overflow (see
// sumScaled; values of usual size give exactly the plain sum's bits), and
// each sum is clamped to ±MaxFloat64 when it is read.
type metricSums struct{ scale float64 }

// newMetricSums is sized for snaps: no sum adds more than one value per
// peer and topic, plus one per peer.
func newMetricSums(snaps map[peer.ID]Snapshot) metricSums {
	n := len(snaps)
	for _, snap := range snaps {
		n += len(snap.Topics)
	}
	return metricSums{scale: math.Ldexp(1, -bits.Len(uint(n)))}
}

func (m metricSums) add(acc *float64, v float64) { *acc += finite(v) * m.scale }

func (m metricSums) value(acc float64) float64 { return finite(acc / m.scale) }

// topicLabeler gives topics their label values, capped. Its state is
// published copy-on-write, so a scrape reads it without a lock.
type topicLabeler struct {
	max int
	fn  func(string) string

	mu      sync.Mutex // serialises writers
	current atomic.Pointer[topicLabels]
}

// topicLabels is one immutable state of a topicLabeler.
type topicLabels struct {
	seen   int               // how many of the Scorer's topics (in creation order) are labelled
	byName map[string]string // topic -> label value
	values []string          // label values given out, OtherTopicLabel included once a topic has it
	given  int               // values counted against the cap
}

func newTopicLabeler(max int, fn func(string) string) *topicLabeler {
	l := &topicLabeler{max: max, fn: fn}
	l.current.Store(&topicLabels{byName: map[string]string{}})
	return l
}

// update labels the topics s has added since the last call, in sorted
// order, and returns the current state.
func (l *topicLabeler) update(s *Scorer) *topicLabels {
	cur := l.current.Load()
	if s.topicCount() == cur.seen {
		return cur
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur = l.current.Load()
	fresh, n := s.topicNamesFrom(cur.seen)
	if len(fresh) == 0 {
		return cur
	}
	slices.Sort(fresh)
	next := cur.clone()
	next.seen = n
	for _, topic := range fresh {
		l.assign(next, topic)
	}
	l.current.Store(next)
	return next
}

// labelOf returns topic's label value in state, labelling it if it is
// not there yet (which update makes impossible for a scored topic; this
// keeps an unexpected topic from escaping the cap).
func (l *topicLabeler) labelOf(state *topicLabels, topic string) string {
	if v, ok := state.byName[topic]; ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.current.Load()
	if v, ok := cur.byName[topic]; ok {
		return v
	}
	next := cur.clone()
	v := l.assign(next, topic)
	l.current.Store(next)
	return v
}

// assign gives topic a label value in state, which the caller owns.
func (l *topicLabeler) assign(state *topicLabels, topic string) string {
	v := strings.ToValidUTF8(l.fn(topic), "\uFFFD")
	if v == "" {
		v = OtherTopicLabel
	}
	if v != OtherTopicLabel && !slices.Contains(state.values, v) {
		if state.given >= l.max {
			v = OtherTopicLabel
		} else {
			state.given++
			state.values = append(state.values, v)
		}
	}
	if v == OtherTopicLabel && !slices.Contains(state.values, v) {
		state.values = append(state.values, v)
	}
	state.byName[topic] = v
	return v
}

func (t *topicLabels) clone() *topicLabels {
	c := &topicLabels{seen: t.seen, given: t.given, byName: make(map[string]string, len(t.byName)+1)}
	for k, v := range t.byName {
		c.byName[k] = v
	}
	c.values = slices.Clone(t.values)
	return c
}

// topicCount is how many topics s scores.
func (s *Scorer) topicCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byIdx)
}

// topicNamesFrom returns the names of the topics s started scoring after the
// first from, and how many topics it scores.
func (s *Scorer) topicNamesFrom(from int) ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, r := range s.byIdx[min(from, len(s.byIdx)):] {
		names = append(names, r.name)
	}
	return names, len(s.byIdx)
}
