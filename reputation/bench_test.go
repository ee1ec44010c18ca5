package reputation_test

// The Reputation's costs, measured: Score on the router's hot path (alone
// and as the scorer's P5), a report, a decay step, and the memory of a
// tracked peer. The figures in the docs come from:
//
//	go test -run '^$' -bench . ./reputation

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/reputation"
)

var benchSink float64

// benchPeerID is a peer ID of the usual size (an Ed25519 identity
// multihash, 38 bytes).
func benchPeerID(i int) peer.ID {
	return peer.ID(fmt.Sprintf("\x00\x24\x08\x01\x12\x20bench-peer-public-key-%011d", i))
}

func benchPeers(n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		out[i] = benchPeerID(i)
	}
	return out
}

// benchReputation tracks every one of peers, with a High report each.
func benchReputation(b *testing.B, peers []peer.ID) *reputation.Reputation {
	r, err := reputation.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range peers {
		r.Report(p, reputation.High, "invalid block")
	}
	return r
}

// BenchmarkScore reads the values of 200 tracked peers ("tracked") or of
// 200 peers never reported ("untracked", most peers of a healthy node).
func BenchmarkScore(b *testing.B) {
	peers := benchPeers(400)
	r := benchReputation(b, peers[:200])
	for _, c := range []struct {
		name  string
		peers []peer.ID
	}{{"tracked", peers[:200]}, {"untracked", peers[200:]}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var sum float64
			i := 0
			for b.Loop() {
				sum += r.Score(c.peers[i%len(c.peers)])
				i++
			}
			benchSink = sum
		})
	}
}

// BenchmarkScoreParallel is BenchmarkScore/tracked from GOMAXPROCS
// goroutines, with a reporter and the decay step writing meanwhile.
func BenchmarkScoreParallel(b *testing.B) {
	peers := benchPeers(200)
	r := benchReputation(b, peers)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			r.Report(peers[i%len(peers)], reputation.Low, "timeout")
			if i%1000 == 0 {
				reputation.DecayStep(r)
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	var total atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		var sum float64
		i := 0
		for pb.Next() {
			sum += r.Score(peers[i%len(peers)])
			i++
		}
		total.Add(int64(sum))
	})
	b.StopTimer()
	stop.Store(true)
	<-done
}

// BenchmarkScorerScore is the scorer's Score (no topics, 200 connected
// peers) with P5 from a constant function ("app-constant", the floor) and
// from a Reputation tracking every peer ("reputation").
func BenchmarkScorerScore(b *testing.B) {
	peers := benchPeers(200)
	r := benchReputation(b, peers)
	for _, c := range []struct {
		name string
		app  func(peer.ID) float64
	}{{"app-constant", func(peer.ID) float64 { return -1 }}, {"reputation", r.Score}} {
		b.Run(c.name, func(b *testing.B) {
			params := &peerscore.Params{
				SkipAtomicValidation: true,
				Topics:               map[string]*peerscore.TopicParams{},
				AppSpecificScore:     c.app,
				AppSpecificWeight:    2,
				DecayInterval:        time.Second,
				DecayToZero:          0.01,
			}
			s, err := peerscore.New(params)
			if err != nil {
				b.Fatal(err)
			}
			scoretest.Connect(s, peers...)
			b.ReportAllocs()
			var sum float64
			i := 0
			for b.Loop() {
				sum += s.Score(peers[i%len(peers)])
				i++
			}
			benchSink = sum
		})
	}
}

// BenchmarkReport is one report: about one of 1000 tracked peers
// ("tracked"), or each about a new peer at the default bound of 4096, so
// that room is made every 256 reports ("new-at-bound", the amortised cost
// of churn).
func BenchmarkReport(b *testing.B) {
	b.Run("tracked", func(b *testing.B) {
		peers := benchPeers(1000)
		r := benchReputation(b, peers)
		reasons := []string{"invalid block", "timeout", "bad range", "slow"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			r.Report(peers[i%len(peers)], reputation.Low, reasons[i%len(reasons)])
			i++
		}
	})
	b.Run("new-at-bound", func(b *testing.B) {
		peers := benchPeers(1 << 16)
		r := benchReputation(b, peers[:reputation.DefaultMaxPeers])
		b.ReportAllocs()
		i := reputation.DefaultMaxPeers
		for b.Loop() {
			r.Report(peers[i%len(peers)], reputation.Mid, "invalid block")
			i++
		}
	})
}

// BenchmarkDecayStep is one step of the decay loop over the default bound
// of tracked peers; ns/peer is its cost per peer.
func BenchmarkDecayStep(b *testing.B) {
	r := benchReputation(b, benchPeers(reputation.DefaultMaxPeers))
	b.ReportAllocs()
	for b.Loop() {
		reputation.DecayStep(r)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/reputation.DefaultMaxPeers, "ns/peer")
}

// BenchmarkMemory reports the live heap a tracked peer holds (B/peer),
// everything counted: its entry, its ID, its reasons and its share of the
// index, at the default bound. "one-reason" is a peer with one reason of
// the application's constant strings; "worst" has four distinct reasons of
// 64 bytes each, built at run time.
func BenchmarkMemory(b *testing.B) {
	for _, c := range []struct {
		name    string
		reasons int
	}{{"one-reason", 0}, {"worst", 4}} {
		b.Run(c.name, func(b *testing.B) {
			var total float64
			for b.Loop() {
				total += memPerPeer(b, c.reasons)
			}
			b.ReportMetric(total/float64(b.N), "B/peer")
		})
	}
}

func memPerPeer(b *testing.B, longReasons int) float64 {
	const n = reputation.DefaultMaxPeers
	peers := benchPeers(n)
	reasons := make([]string, longReasons)
	for i := range reasons {
		reasons[i] = fmt.Sprintf("%d%s", i, strings.Repeat("r", 63))
	}
	before := memHeap()
	r, err := reputation.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range peers {
		if longReasons == 0 {
			r.Report(p, reputation.Mid, "invalid block")
		}
		for _, reason := range reasons {
			r.Report(p, reputation.Low, strings.Clone(reason))
		}
	}
	after := memHeap()
	runtime.KeepAlive(r)
	runtime.KeepAlive(peers)
	return float64(after-before) / n
}

func memHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
