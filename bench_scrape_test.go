package peerscore_test

import (
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// BenchmarkScrapeRouterLatency reads the whole scorer, at 10,000 peers
// each in the mesh of all 64 topics, while the router's event loop keeps
// receiving events: a PRUNE and a GRAFT of a peer every 50 µs or so, each
// timed. Snapshots is a metrics scrape (as the metrics collector,
// scorehttp and WithInspect make it), Save what dsstore writes every
// interval; ns/op is one of them. It reports each event's latency at the
// 99.9th percentile with no read running (quiet-p99.9-us) and during
// back-to-back reads (busy-p99.9-us), the longest event during them
// (busy-max-us), and for Snapshots the longest the scorer's lock was held
// at a time (max-hold-us, from one extra scrape that times its holds).
// The events are spaced, as a router's are, so that the share of them
// that meets the lock is the share of time a read holds it.
//
//	go test -run '^$' -bench ScrapeRouterLatency -benchtime 20x .
func BenchmarkScrapeRouterLatency(b *testing.B) {
	s, topics := benchScorer(b, peerscore.WithLogger(slog.New(slog.DiscardHandler)))
	peers := benchPopulate(s, 10000, len(topics), topics)
	quiet := routerEvents(s, peers, topics, func(n int) bool { return n < 5000 })
	b.Run("Snapshots", func(b *testing.B) {
		busy := readWhileRouting(b, s, peers, topics, func() {
			if n := len(s.Snapshots()); n != len(peers) {
				b.Fatalf("got %d snapshots, want %d", n, len(peers))
			}
		})
		reportLatencies(b, quiet, busy)
		b.ReportMetric(float64(peerscore.MaxSnapshotHold(s))/1e3, "max-hold-us")
	})
	b.Run("Save", func(b *testing.B) {
		busy := readWhileRouting(b, s, peers, topics, func() {
			if err := s.Save(io.Discard); err != nil {
				b.Fatal(err)
			}
		})
		reportLatencies(b, quiet, busy)
	})
}

// readWhileRouting runs read b.N times while routerEvents runs, and
// returns the events' latencies.
func readWhileRouting(b *testing.B, s *peerscore.Scorer, peers []peer.ID, topics []string, read func()) []time.Duration {
	var done atomic.Bool
	var busy []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() { busy = routerEvents(s, peers, topics, func(int) bool { return !done.Load() }) })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		read()
	}
	b.StopTimer()
	done.Store(true)
	wg.Wait()
	return busy
}

func reportLatencies(b *testing.B, quiet, busy []time.Duration) {
	b.ReportMetric(percentile(quiet, 0.999), "quiet-p99.9-us")
	b.ReportMetric(percentile(busy, 0.999), "busy-p99.9-us")
	b.ReportMetric(percentile(busy, 1), "busy-max-us")
	b.ReportMetric(float64(len(busy)), "busy-events")
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
