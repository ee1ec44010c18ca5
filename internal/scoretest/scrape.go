package scoretest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// Scrape is a gathered registry, by metric family name.
type Scrape map[string]*dto.MetricFamily

// Gather gathers g or fails the test.
func Gather(t testing.TB, g prometheus.Gatherer) Scrape {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	out := Scrape{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// Metric returns the series of family name whose labels are exactly
// labels (name, value pairs), failing if there is none.
func (sc Scrape) Metric(t testing.TB, name string, labels ...string) *dto.Metric {
	t.Helper()
	mf, ok := sc[name]
	require.Truef(t, ok, "no metric family %s", name)
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if maps.Equal(got, want) {
			return m
		}
	}
	require.Failf(t, "no series", "%s%v", name, want)
	return nil
}

// Value returns the value of a gauge or counter series.
func (sc Scrape) Value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	m := sc.Metric(t, name, labels...)
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	require.Failf(t, "not a gauge or counter", "%s", name)
	return 0
}

// LabelValues lists the values label takes in family name, sorted; none if
// the family is missing.
func (sc Scrape) LabelValues(name, label string) []string {
	seen := map[string]bool{}
	for _, m := range sc[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				seen[lp.GetValue()] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// NonFinite lists every value of a gathered registry that is NaN or
// infinite: gauges, counters, untyped values and histogram sums, and
// histogram bucket bounds that are NaN or -Inf (a +Inf bound is the
// histogram's last bucket, not a value; bucket counts are integers).
func NonFinite(mfs []*dto.MetricFamily) []string {
	var bad []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			values := map[string]float64{}
			switch {
			case m.Gauge != nil:
				values["value"] = m.Gauge.GetValue()
			case m.Counter != nil:
				values["value"] = m.Counter.GetValue()
			case m.Untyped != nil:
				values["value"] = m.Untyped.GetValue()
			case m.Histogram != nil:
				values["sum"] = m.Histogram.GetSampleSum()
				for i, b := range m.Histogram.GetBucket() {
					if bound := b.GetUpperBound(); !math.IsInf(bound, 1) {
						values[fmt.Sprintf("bucket %d bound", i)] = bound
					}
				}
			}
			for what, v := range values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					bad = append(bad, fmt.Sprintf("%s%v %s = %v", mf.GetName(), m.GetLabel(), what, v))
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}
