package metrics

import (
	"fmt"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/reputation"
)

// DefaultMaxTopicLabels is how many distinct topic label values a Collector
// gives out unless WithMaxTopicLabels says otherwise.
const DefaultMaxTopicLabels = 32

// OtherTopicLabel is the topic label value shared by every topic beyond the
// WithMaxTopicLabels cap, so that the number of series stays bounded
// however many topics are scored.
const OtherTopicLabel = "other"

// Option configures a Collector in New.
type Option func(*config) error

type config struct {
	maxTopics  int
	topicLabel func(topic string) string
	gater      *ban.Gater
	rep        *reputation.Reputation
}

func defaultConfig() config {
	return config{maxTopics: DefaultMaxTopicLabels, topicLabel: func(topic string) string { return topic }}
}

// WithMaxTopicLabels caps the number of distinct values of the topic label
// at n; topics beyond the cap share the value OtherTopicLabel ("other").
// Values are given out first come, first served, and a topic keeps its
// value for the life of the Collector: the topics scored when New runs
// come first, in sorted order, then topics added later with
// Scorer.SetTopicParams, in sorted order within what each scrape finds new.
// n must not be negative; 0 puts every topic under "other". The default is
// DefaultMaxTopicLabels.
func WithMaxTopicLabels(n int) Option {
	return option.Check(n >= 0, fmt.Sprintf("WithMaxTopicLabels: %d is negative", n),
		func(c *config) { c.maxTopics = n })
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
func WithTopicLabelFunc(fn func(topic string) string) Option {
	return option.Check(fn != nil, "WithTopicLabelFunc: nil function",
		func(c *config) { c.topicLabel = fn })
}

// WithGater adds peerscore_bans{kind}, the bans in force in g (the
// ban.Gater a ban.Monitor or an operator bans peers in), by kind: peer
// IDs, single addresses and subnets. Each scrape lists g's bans once (ban.Gater.Bans), under g's read
// lock. Without it the metric is not exported.
func WithGater(g *ban.Gater) Option {
	return option.Check(g != nil, "WithGater: nil gater", func(c *config) { c.gater = g })
}

// WithReputation adds the series of rep, the application's opinion of its
// peers (package reputation), usually the one behind the Scorer's
// Params.AppSpecificScore: peerscore_reputation_peers (tracked now),
// peerscore_reputation_peers_frozen, peerscore_reputation_peers_max (the
// bound), peerscore_reputation_reports_total{action},
// peerscore_reputation_evicted_total (forgotten at the bound before
// decaying to nothing) and peerscore_reputation_untracked_total (reports
// about new peers refused because every tracked peer was frozen). Each
// scrape reads rep.Stats once, under rep's lock. Without it the series are
// not exported.
func WithReputation(rep *reputation.Reputation) Option {
	return option.Check(rep != nil, "WithReputation: nil Reputation",
		func(c *config) { c.rep = rep })
}
