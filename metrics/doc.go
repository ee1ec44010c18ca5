// Package metrics exports a peerscore.Scorer's scores, their components and
// its running totals to Prometheus.
//
// A Collector is a prometheus.Collector. Everything it exports is computed
// when the registry is scraped, from the Scorer's Snapshots and Stats;
// between scrapes it costs nothing. Create it with New on a Scorer given
// thresholds (peerscore.WithThresholds, the ones the router acts on),
// register it, and serve the registry with promhttp:
//
//	scorer, err := peerscore.New(params, peerscore.WithThresholds(thresholds))
//	opts, err := scorer.GossipSubOptions()
//	// ... pubsub.NewGossipSub(ctx, h, opts...)
//	c, err := metrics.New(scorer, metrics.WithMaxTopicLabels(16))
//	if err != nil {
//		return err
//	}
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # The metrics
//
// All are prefixed peerscore_. Scores are in score points, the unit of the
// score function. The score-derived series cover every peer the Scorer
// knows, retained ones included, as pubsub's score inspection does.
//
//	peerscore_score                                   histogram of peers' scores, buckets from ScoreBuckets
//	peerscore_peers{band}                             gauge: peers by score band (see below)
//	peerscore_peers_known                             gauge: peers the Scorer knows, retained ones included
//	peerscore_peers_retained                          gauge: disconnected peers kept for their score ≤ 0
//	peerscore_component_contribution{component}       gauge: a component's contribution, summed over peers
//	peerscore_component_min{component}                gauge: the lowest contribution of a component by any peer
//	peerscore_topic_component_contribution{topic,component}
//	                                                  gauge: a topic component's contribution, summed over peers
//	peerscore_penalties_total{reason}                 counter: penalties charged, by peerscore.PenaltyReason
//	peerscore_late_duplicates_total{topic}            counter: copies from mesh peers too late for mesh credit
//	peerscore_delivery_records                        gauge: message delivery records held
//	peerscore_delivery_records_max                    gauge: their bound (peerscore.WithMaxDeliveryRecords)
//	peerscore_peers_retained_max                      gauge: the bound on retained peers (peerscore.WithMaxRetainedPeers)
//	peerscore_retained_evicted_total                  counter: retained peers forgotten early to stay within it
//	peerscore_iwant_promises                          gauge: IWANT promises outstanding
//	peerscore_router_mismatches_total                 counter: router checks that found the router scoring on its own
//	peerscore_bans{kind}                              gauge: bans in force in a ban.Gater, by kind: peer, ip, subnet (only with WithGater)
//
// With WithReputation, the application's reputation of its peers (package
// reputation) too:
//
//	peerscore_reputation_peers                        gauge: peers tracked, reported and not yet decayed to nothing
//	peerscore_reputation_peers_frozen                 gauge: of them, frozen (reputation.WithFreeze)
//	peerscore_reputation_peers_max                    gauge: the bound on tracked peers (reputation.WithMaxPeers)
//	peerscore_reputation_reports_total{action}        counter: reports by action (low, mid, high, fatal, useful)
//	peerscore_reputation_evicted_total                counter: peers forgotten at the bound before decaying to nothing
//	peerscore_reputation_untracked_total              counter: reports about new peers refused, every tracked peer frozen
//
// Every gauge and the histogram describe the peers as they are at the
// scrape, not a history: read the histogram as it is (for example
// histogram_quantile(0.1, peerscore_score_bucket) for the 10th percentile
// score), not through rate(); its sum is usually negative.
//
// Bands: above_zero counts scores > 0 and below_zero scores < 0 (a score of
// exactly 0 is in neither); below_gossip, below_publish and below_graylist
// count scores strictly below the Scorer's GossipThreshold,
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
// beyond the cap are added up under OtherTopicLabel ("other"), which
// appears once a topic lands there. Every labelled scored topic has its
// series from the first scrape on, zero until something happens.
//
// Penalties count what peerscore.Stats.Penalties counts: the amount added
// to the counter for invalid messages, broken promises, GRAFT backoff
// violations, repeated extensions, slow peers and Scorer.AddPenalty
// (reason add_penalty), and the number of charges for mesh delivery
// deficits and IP colocation. reason is the PenaltyReason. The
// reputation's reports are not penalties of the scorer's: they are
// peerscore_reputation_reports_total.
//
// Router mismatches count what peerscore.Stats.RouterMismatches counts:
// anything above zero means the router does not score with peerscore's
// score alone (see peerscore.WithRouterCheck); alert on it.
//
// # Dashboard and alerts
//
// The package's source tree ships a Grafana dashboard of these metrics,
// dashboards/peerscore.json, and Prometheus alerting rules,
// alerts/peerscore-rules.yml (router mismatches, many peers below the
// graylist threshold, a surge of invalid messages, delivery records near
// their bound, retained peers evicted early); dashboards/README.md says
// how to import them. A test
// scrapes a real Collector and checks that every metric and label value
// they name exists.
//
// # Several scorers
//
// The metric names are fixed, so one registry takes one Collector; to
// export several scorers to one registry, give each its own constant label:
//
//	prometheus.WrapRegistererWith(prometheus.Labels{"network": "mainnet"}, reg).MustRegister(mainnet)
//	prometheus.WrapRegistererWith(prometheus.Labels{"network": "testnet"}, reg).MustRegister(testnet)
package metrics
