package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/peerscore/peerscore/reputation"
)

// reputationDescs are the series of WithReputation.
type reputationDescs struct {
	rep                                             *reputation.Reputation
	peers, frozen, max, reports, evicted, untracked *prometheus.Desc
}

func newReputationDescs(rep *reputation.Reputation) *reputationDescs {
	if rep == nil {
		return nil
	}
	return &reputationDescs{
		rep: rep,
		peers: prometheus.NewDesc("peerscore_reputation_peers",
			"Peers the application's reputation tracks: reported, and not yet decayed to nothing.", nil, nil),
		frozen: prometheus.NewDesc("peerscore_reputation_peers_frozen",
			"Tracked peers whose value is frozen (reputation.WithFreeze).", nil, nil),
		max: prometheus.NewDesc("peerscore_reputation_peers_max",
			"The bound on tracked peers (reputation.WithMaxPeers).", nil, nil),
		reports: prometheus.NewDesc("peerscore_reputation_reports_total",
			"Reports the application made about its peers, by action (low, mid, high, fatal, useful).",
			[]string{"action"}, nil),
		evicted: prometheus.NewDesc("peerscore_reputation_evicted_total",
			"Tracked peers forgotten at the bound, the mildest first, before their value decayed to nothing.", nil, nil),
		untracked: prometheus.NewDesc("peerscore_reputation_untracked_total",
			"Reports about new peers not kept because every tracked peer was frozen.", nil, nil),
	}
}

func (d *reputationDescs) describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{d.peers, d.frozen, d.max, d.reports, d.evicted, d.untracked} {
		ch <- desc
	}
}

func (d *reputationDescs) collect(ch chan<- prometheus.Metric) {
	st := d.rep.Stats()
	ch <- prometheus.MustNewConstMetric(d.peers, prometheus.GaugeValue, float64(st.Tracked))
	ch <- prometheus.MustNewConstMetric(d.frozen, prometheus.GaugeValue, float64(st.Frozen))
	ch <- prometheus.MustNewConstMetric(d.max, prometheus.GaugeValue, float64(st.MaxPeers))
	ch <- prometheus.MustNewConstMetric(d.evicted, prometheus.CounterValue, float64(st.Evicted))
	ch <- prometheus.MustNewConstMetric(d.untracked, prometheus.CounterValue, float64(st.Untracked))
	for action, n := range st.Reports { // every action, zero or not
		ch <- prometheus.MustNewConstMetric(d.reports, prometheus.CounterValue, float64(n), action.String())
	}
}
