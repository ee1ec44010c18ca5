package metrics_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/metrics"
)

// exampleParams scores two topics; a real node has its own topics and
// weights.
func exampleParams(topics ...string) *peerscore.Params {
	p := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
	}
	for _, topic := range topics {
		p.Topics[topic] = &peerscore.TopicParams{
			TopicWeight:                    1,
			TimeInMeshQuantum:              time.Second,
			InvalidMessageDeliveriesWeight: -100,
			InvalidMessageDeliveriesDecay:  peerscore.ScoreParameterDecay(time.Hour),
		}
	}
	return p
}

// The Collector reads the thresholds from the Scorer, which the router
// gets them from too. Serve the registry with promhttp.HandlerFor.
func Example() {
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80}
	scorer, err := peerscore.New(exampleParams("blocks", "transactions"), peerscore.WithThresholds(thresholds))
	if err != nil {
		log.Fatal(err)
	}
	c, err := metrics.New(scorer)
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	// http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range families {
		fmt.Println(mf.GetName(), strings.ToLower(mf.GetType().String()))
	}
	// Output:
	// peerscore_component_contribution gauge
	// peerscore_component_min gauge
	// peerscore_delivery_records gauge
	// peerscore_delivery_records_max gauge
	// peerscore_iwant_promises gauge
	// peerscore_late_duplicates_total counter
	// peerscore_peers gauge
	// peerscore_peers_known gauge
	// peerscore_peers_retained gauge
	// peerscore_peers_retained_max gauge
	// peerscore_penalties_total counter
	// peerscore_retained_evicted_total counter
	// peerscore_router_mismatches_total counter
	// peerscore_score histogram
	// peerscore_topic_component_contribution gauge
}

// Topics can be grouped under one label value, here the 64 attestation
// subnets of an Ethereum node under "beacon_attestation", so that the
// number of series does not grow with the number of topics.
func ExampleWithTopicLabelFunc() {
	var topics []string
	for subnet := range 64 {
		topics = append(topics, fmt.Sprintf("/eth2/00000000/beacon_attestation_%d/ssz_snappy", subnet))
	}
	topics = append(topics, "/eth2/00000000/beacon_block/ssz_snappy")
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80}
	scorer, err := peerscore.New(exampleParams(topics...), peerscore.WithThresholds(thresholds))
	if err != nil {
		log.Fatal(err)
	}

	kind := func(topic string) string { // "/eth2/<digest>/<kind>[_<subnet>]/<encoding>"
		parts := strings.Split(topic, "/")
		if len(parts) != 5 {
			return topic
		}
		k := parts[3]
		if i := strings.LastIndexByte(k, '_'); i > 0 && strings.Trim(k[i+1:], "0123456789") == "" {
			k = k[:i]
		}
		return k
	}
	c, err := metrics.New(scorer, metrics.WithTopicLabelFunc(kind))
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "peerscore_late_duplicates_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			fmt.Println(m.GetLabel()[0].GetName(), m.GetLabel()[0].GetValue())
		}
	}
	// Output:
	// topic beacon_attestation
	// topic beacon_block
}

// The histogram's buckets follow the thresholds.
func ExampleScoreBuckets() {
	fmt.Println(metrics.ScoreBuckets(&peerscore.Thresholds{
		GossipThreshold: -4000, PublishThreshold: -8000, GraylistThreshold: -16000,
		AcceptPXThreshold: 100, OpportunisticGraftThreshold: 5,
	}))
	// Output:
	// [-64000 -32000 -16000 -8000 -4000 -400 -40 0 5 100 200 400]
}
