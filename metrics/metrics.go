package metrics

import (
	"errors"
	"math"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/option"
)

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

// Collector is a prometheus.Collector of one Scorer's metrics, listed in
// the package documentation. Create it with New and register it on any
// prometheus.Registerer; it is safe for concurrent scrapes.
type Collector struct {
	scorer     *peerscore.Scorer
	thresholds peerscore.Thresholds
	buckets    []float64
	topics     *topicLabeler
	gater      *ban.Gater       // nil without WithGater
	reputation *reputationDescs // nil without WithReputation

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
	maxRecords        *prometheus.Desc
	maxRetained       *prometheus.Desc
	evicted           *prometheus.Desc
	promises          *prometheus.Desc
	routerMismatches  *prometheus.Desc
	banned            *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a collector of s's metrics, whose bands and histogram buckets
// follow the thresholds s was given (peerscore.WithThresholds), the ones
// the router acts on. s must have thresholds.
//
// A scrape reads every peer's Snapshot (Scorer.Snapshots, which holds the
// Scorer's lock for a slice of peers at a time), takes the lock once for
// Stats and once for Params (the topic list), and calls
// Params.AppSpecificScore once per peer outside it (and, with WithGater,
// lists the Gater's bans once): cheap at any usual scrape interval, and
// never holding up the router for long.
func New(s *peerscore.Scorer, opts ...Option) (*Collector, error) {
	if s == nil {
		return nil, errors.New("peerscore/metrics: New: nil Scorer")
	}
	t := s.Thresholds()
	if t == nil {
		return nil, errors.New("peerscore/metrics: New: the Scorer has no thresholds (give peerscore.New WithThresholds)")
	}
	cfg := defaultConfig()
	if err := option.Apply("peerscore/metrics", &cfg, opts); err != nil {
		return nil, err
	}
	c := &Collector{
		scorer:     s,
		thresholds: *t,
		buckets:    ScoreBuckets(t),
		topics:     newTopicLabeler(cfg.maxTopics, cfg.topicLabel),
		gater:      cfg.gater,
		reputation: newReputationDescs(cfg.rep),

		score: prometheus.NewDesc("peerscore_score",
			"Peers' scores (score points), every known peer including retained ones. "+
				"Bucket bounds are the router's thresholds and multiples of them (see peerscore/metrics.ScoreBuckets).",
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
		maxRecords: prometheus.NewDesc("peerscore_delivery_records_max",
			"The bound on message delivery records (peerscore.WithMaxDeliveryRecords); at it the oldest record is dropped early.",
			nil, nil),
		maxRetained: prometheus.NewDesc("peerscore_peers_retained_max",
			"The bound on retained peers (peerscore.WithMaxRetainedPeers); at it the least negative is forgotten early.",
			nil, nil),
		evicted: prometheus.NewDesc("peerscore_retained_evicted_total",
			"Retained peers forgotten before their RetainScore passed, to stay within the bound on retained peers.",
			nil, nil),
		promises: prometheus.NewDesc("peerscore_iwant_promises",
			"IWANT promises outstanding: messages peers advertised, we asked for, and they have yet to deliver.",
			nil, nil),
		routerMismatches: prometheus.NewDesc("peerscore_router_mismatches_total",
			"Router checks (one per period and detector) that found the GossipSub router scoring with something "+
				"besides peerscore's score, e.g. after Topic.SetScoreParams or a later pubsub.WithPeerScore. "+
				"Anything above zero is a misconfiguration; the scorer's Error log says which.",
			nil, nil),
		banned: prometheus.NewDesc("peerscore_bans",
			"Bans in force in the ban.Gater given with WithGater, by kind: peer (a peer ID), ip (one address) or subnet.",
			[]string{"kind"}, nil),
	}
	c.topics.update(c.scoredTopics()) // the configured topics get their labels first, in sorted order
	return c, nil
}

// scoredTopics lists the topics the Scorer scores now.
func (c *Collector) scoredTopics() []string {
	topics := c.scorer.Params().Topics
	names := make([]string, 0, len(topics))
	for name := range topics {
		names = append(names, name)
	}
	return names
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
func ScoreBuckets(t *peerscore.Thresholds) []float64 {
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

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.score, c.peers, c.known, c.retained, c.contribution, c.minimum, c.topicContribution,
		c.penalties, c.lateDuplicates, c.deliveryRecords, c.maxRecords, c.maxRetained, c.evicted,
		c.promises, c.routerMismatches,
	} {
		ch <- d
	}
	if c.gater != nil {
		ch <- c.banned
	}
	if c.reputation != nil {
		c.reputation.describe(ch)
	}
}

// topicTotals are what one topic label value adds up.
type topicTotals struct {
	components [numTopicComponents]float64
	late       uint64
}

// Collect computes the metrics from the Scorer's current state and sends
// them. It is safe to call concurrently, including with the Scorer's events.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snaps := c.scorer.Snapshots()
	stats := c.scorer.Stats()
	// Topics only ever get added, so every topic in snaps and stats is
	// among those scored now.
	labels := c.topics.update(c.scoredTopics())

	perTopic := make(map[string]*topicTotals, len(labels.values)+1)
	for _, v := range labels.values {
		perTopic[v] = &topicTotals{}
	}
	totals := func(topic string) *topicTotals {
		v := c.topics.labelOf(labels, topic)
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
		counts    = make([]uint64, len(c.buckets)+1) // the last is +Inf
		scoreSum  float64
		nRetained int
	)
	for i := range low {
		low[i] = math.Inf(1)
	}
	acc := newSums(snaps)
	th := &c.thresholds
	for _, snap := range snaps {
		var comp [numComponents]float64
		for name, ts := range snap.Topics {
			w := ts.TopicWeight
			parts := [numTopicComponents]float64{ts.P1 * w, ts.P2 * w, ts.P3 * w, ts.P3b * w, ts.P4 * w}
			tt := totals(name)
			for i, v := range parts {
				comp[i] += finite(v) // a topic component has one sign in every topic: no cancellation
				acc.add(&tt.components[i], v)
			}
		}
		comp[compTopicCap] = snap.TopicScore - snap.TopicScoreUncapped
		comp[compP5], comp[compP6], comp[compP7], comp[compSlowPeer] = snap.P5, snap.P6, snap.P7, snap.SlowPeer
		for i, v := range comp {
			v = finite(v)
			acc.add(&sum[i], v)
			low[i] = math.Min(low[i], v)
		}

		score := snap.Score // infinite scores are counted in the lowest bucket or in +Inf
		acc.add(&scoreSum, score)
		counts[sort.SearchFloat64s(c.buckets, score)]++
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

	cumulative := make(map[float64]uint64, len(c.buckets))
	var running uint64
	for i, b := range c.buckets {
		running += counts[i]
		cumulative[b] = running
	}
	ch <- prometheus.MustNewConstHistogram(c.score, uint64(len(snaps)), acc.value(scoreSum), cumulative)
	for i, band := range bandNames {
		ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, bands[i], band)
	}
	ch <- prometheus.MustNewConstMetric(c.known, prometheus.GaugeValue, float64(len(snaps)))
	ch <- prometheus.MustNewConstMetric(c.retained, prometheus.GaugeValue, float64(nRetained))
	for i, name := range componentNames {
		if len(snaps) == 0 {
			low[i] = 0
		}
		ch <- prometheus.MustNewConstMetric(c.contribution, prometheus.GaugeValue, acc.value(sum[i]), name)
		ch <- prometheus.MustNewConstMetric(c.minimum, prometheus.GaugeValue, low[i], name)
	}
	for v, tt := range perTopic {
		for i, comp := range tt.components {
			ch <- prometheus.MustNewConstMetric(c.topicContribution, prometheus.GaugeValue, acc.value(comp), v, componentNames[i])
		}
		ch <- prometheus.MustNewConstMetric(c.lateDuplicates, prometheus.CounterValue, float64(tt.late), v)
	}
	for r, n := range stats.Penalties { // every reason, zero or not
		ch <- prometheus.MustNewConstMetric(c.penalties, prometheus.CounterValue, float64(n), string(r))
	}
	ch <- prometheus.MustNewConstMetric(c.deliveryRecords, prometheus.GaugeValue, float64(stats.DeliveryRecords))
	ch <- prometheus.MustNewConstMetric(c.maxRecords, prometheus.GaugeValue, float64(stats.MaxDeliveryRecords))
	ch <- prometheus.MustNewConstMetric(c.maxRetained, prometheus.GaugeValue, float64(stats.MaxRetainedPeers))
	ch <- prometheus.MustNewConstMetric(c.evicted, prometheus.CounterValue, float64(stats.RetainedEvicted))
	ch <- prometheus.MustNewConstMetric(c.promises, prometheus.GaugeValue, float64(stats.Promises))
	ch <- prometheus.MustNewConstMetric(c.routerMismatches, prometheus.CounterValue, float64(stats.RouterMismatches))
	if c.gater != nil {
		for kind, n := range banKinds(c.gater.Bans()) {
			ch <- prometheus.MustNewConstMetric(c.banned, prometheus.GaugeValue, float64(n), kind)
		}
	}
	if c.reputation != nil {
		c.reputation.collect(ch)
	}
}

// banKinds counts bans by kind, every kind present even at zero so that a
// dashboard's lines do not vanish: a peer ID, one address (a prefix of
// the address's full length) or a subnet.
func banKinds(bans []ban.Entry) map[string]int {
	out := map[string]int{"peer": 0, "ip": 0, "subnet": 0}
	for _, b := range bans {
		switch {
		case b.Peer != "":
			out["peer"]++
		case b.Prefix.Bits() == b.Prefix.Addr().BitLen():
			out["ip"]++
		default:
			out["subnet"]++
		}
	}
	return out
}
