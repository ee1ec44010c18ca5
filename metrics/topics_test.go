package metrics_test

// Tests of the topic label: the cap, the label function, and topics the
// Scorer starts scoring after New.

import (
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

// TestTopicLabelCap: with a cap of 2, alpha and beta (first in sorted
// order) keep their names and gamma's series are labelled "other"; the
// labels stay put across scrapes, and a topic added later goes to "other"
// too.
func TestTopicLabelCap(t *testing.T) {
	net := newColocated(t)
	synctest.Test(t, func(t *testing.T) {
		s := runScenario(t, net)
		_, reg := newRegistry(t, s, metrics.WithMaxTopicLabels(2))

		for range 2 { // stable across scrapes
			sc := scoretest.Gather(t, reg)
			require.Equal(t, []string{"alpha", "beta", "other"}, sc.LabelValues("peerscore_topic_component_contribution", "topic"))
			require.Equal(t, []string{"alpha", "beta", "other"}, sc.LabelValues("peerscore_late_duplicates_total", "topic"))
			require.Equal(t, 1.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "other"), "gamma's late duplicate")
			require.Equal(t, 1.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "alpha"))
			require.Equal(t, 1.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "other", "component", "p2"),
				"gamma's weighted P2")
			require.Equal(t, -8.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "beta", "component", "p4"))
		}

		// A topic scored later ("aaa" sorts first, but came last) does not
		// displace anyone: it adds to "other".
		require.NoError(t, s.SetTopicParams("aaa", &peerscore.TopicParams{
			SkipAtomicValidation: true, TopicWeight: 1,
			FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 10,
		}))
		scoretest.DeliverN(s, "aaa", "x", "D", 2)
		sc := scoretest.Gather(t, reg)
		require.Equal(t, []string{"alpha", "beta", "other"}, sc.LabelValues("peerscore_topic_component_contribution", "topic"))
		require.Equal(t, 3.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "other", "component", "p2"),
			"gamma's 1 and aaa's 2")
	})
}

// TestTopicLabelFunc groups topics with a label function: the cap
// counts label values, not topics, and invalid UTF-8 is made valid.
func TestTopicLabelFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := func() *peerscore.TopicParams {
			return &peerscore.TopicParams{
				SkipAtomicValidation: true, TopicWeight: 1,
				FirstMessageDeliveriesWeight: 1, FirstMessageDeliveriesDecay: 0.5, FirstMessageDeliveriesCap: 100,
			}
		}
		topics := map[string]*peerscore.TopicParams{
			"/eth2/00/beacon_attestation_0/ssz_snappy": first(),
			"/eth2/00/beacon_attestation_1/ssz_snappy": first(),
			"/eth2/00/beacon_attestation_2/ssz_snappy": first(),
			"/eth2/00/beacon_block/ssz_snappy":         first(),
			"/eth2/00/voluntary_exit/ssz_snappy":       first(),
			"bad\xff":                                  first(),
		}
		s := scoretest.New(t, scoretest.Params(topics), peerscore.WithThresholds(thresholds()))
		scoretest.Connect(s, "A")
		for name := range topics {
			scoretest.DeliverN(s, name, name, "A", 1)
		}
		kind := func(topic string) string {
			parts := strings.Split(topic, "/")
			if len(parts) < 4 {
				return topic
			}
			k := parts[3]
			if i := strings.LastIndexByte(k, '_'); i > 0 && strings.Trim(k[i+1:], "0123456789") == "" {
				k = k[:i]
			}
			return k
		}
		// Sorted topics: the attestations (one value), then beacon_block,
		// then voluntary_exit, which is over the cap of 2; "bad\xff" sorts
		// last and is over it too.
		_, reg := newRegistry(t, s, metrics.WithMaxTopicLabels(2), metrics.WithTopicLabelFunc(kind))
		sc := scoretest.Gather(t, reg)
		require.Equal(t, []string{"beacon_attestation", "beacon_block", "other"},
			sc.LabelValues("peerscore_topic_component_contribution", "topic"))
		require.Equal(t, 3.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "beacon_attestation", "component", "p2"))
		require.Equal(t, 1.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "beacon_block", "component", "p2"))
		require.Equal(t, 2.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "other", "component", "p2"))

		// With room for everything, the invalid topic name is repaired.
		_, reg = newRegistry(t, s, metrics.WithTopicLabelFunc(kind))
		sc = scoretest.Gather(t, reg)
		require.Equal(t, []string{"bad\uFFFD", "beacon_attestation", "beacon_block", "voluntary_exit"},
			sc.LabelValues("peerscore_topic_component_contribution", "topic"))

		// A cap of 0 puts everything under "other".
		_, reg = newRegistry(t, s, metrics.WithMaxTopicLabels(0))
		sc = scoretest.Gather(t, reg)
		require.Equal(t, []string{"other"}, sc.LabelValues("peerscore_late_duplicates_total", "topic"))
		require.Equal(t, 6.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "other", "component", "p2"))
	})
}

// TestTopicLabelsForTopicsAddedLater: topics the Scorer starts scoring
// after New get labels at the next scrape, in sorted order among
// themselves, while there is room under the cap; each labelled topic has its
// series at once, zero until something happens.
func TestTopicLabelsForTopicsAddedLater(t *testing.T) {
	s := newScorer(t) // alpha, beta, gamma
	_, reg := newRegistry(t, s, metrics.WithMaxTopicLabels(5))
	for _, topic := range []string{"zeta", "delta", "epsilon"} {
		require.NoError(t, s.SetTopicParams(topic, &peerscore.TopicParams{SkipAtomicValidation: true, TopicWeight: 1}))
	}
	want := []string{"alpha", "beta", "delta", "epsilon", "gamma", "other"}
	for range 2 { // and they keep them
		sc := scoretest.Gather(t, reg)
		require.Equal(t, want, sc.LabelValues("peerscore_topic_component_contribution", "topic"))
		require.Equal(t, want, sc.LabelValues("peerscore_late_duplicates_total", "topic"))
		require.Equal(t, 0.0, sc.Value(t, "peerscore_topic_component_contribution", "topic", "delta", "component", "p1"))
		require.Equal(t, 0.0, sc.Value(t, "peerscore_late_duplicates_total", "topic", "other"))
	}
}
