package peerscore_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// BenchmarkScrapeRouterLatency is a metrics scrape (Snapshots, as the
// metrics collector, scorehttp and WithInspect call it) of 10,000 peers,
// each in the mesh of all 64 topics, while the router's event loop keeps
// receiving events: a PRUNE and a GRAFT of a peer every 50 µs or so, each
// timed. ns/op is one scrape. It reports each event's latency at the
// 99.9th percentile with no scrape running (quiet-p99.9-us) and during
// back-to-back scrapes (scrape-p99.9-us), the longest event during them
// (scrape-max-us), and the longest the scorer's lock was held at a time
// by a scrape (max-hold-us, from one extra scrape that times its holds).
// The events are spaced, as a router's are, so that the share of them
// that meets a scrape's lock is the share of time the scrape holds it.
//
//	go test -run '^$' -bench ScrapeRouterLatency -benchtime 20x .
func BenchmarkScrapeRouterLatency(b *testing.B) {
	s, topics := benchScorer(b)
	peers := benchPopulate(s, 10000, len(topics), topics)

	quiet := routerEvents(s, peers, topics, func(n int) bool { return n < 20000 })
	var done atomic.Bool
	var busy []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() { busy = routerEvents(s, peers, topics, func(int) bool { return !done.Load() }) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := len(s.Snapshots()); n != len(peers) {
			b.Fatalf("got %d snapshots, want %d", n, len(peers))
		}
	}
	b.StopTimer()
	done.Store(true)
	wg.Wait()

	b.ReportMetric(percentile(quiet, 0.999), "quiet-p99.9-us")
	b.ReportMetric(percentile(busy, 0.999), "scrape-p99.9-us")
	b.ReportMetric(percentile(busy, 1), "scrape-max-us")
	b.ReportMetric(float64(len(busy)), "scrape-events")
	b.ReportMetric(float64(peerscore.MaxSnapshotHold(s))/1e3, "max-hold-us")
}

// eventGap is the pause between two router events: a busy router's pace,
// and long enough for the scrape to run between them.
const eventGap = 50 * time.Microsecond

// routerEvents sends a PRUNE and a GRAFT of one peer in one topic every
// eventGap, round the peers, while more(events so far) holds, and returns
// how long each call took.
func routerEvents(s *peerscore.Scorer, peers []peer.ID, topics []string, more func(int) bool) []time.Duration {
	var lat []time.Duration
	tr := s.Tracer()
	for i := 0; more(len(lat)); i++ {
		p, t := peers[i%len(peers)], topics[(i/len(peers))%len(topics)]
		start := time.Now()
		tr.Prune(p, t)
		mid := time.Now()
		tr.Graft(p, t)
		lat = append(lat, mid.Sub(start), time.Since(mid))
		time.Sleep(eventGap)
	}
	return lat
}

// percentile returns the q-quantile of lat in microseconds (q = 1: the
// largest); 0 for none.
func percentile(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return float64(sorted[i]) / 1e3
}
