//go:build peerscore_parity

package peerscore_test

// Compiled only by TestParityWithPubsub (parity_test.go), against a copy of
// go-libp2p-pubsub that exports its internal scorer as it is
// (ReferenceScorer) and, for WithSpecP3, a copy of it patched to the
// specification's reading of P3 (SpecScorer).

import (
	"context"
	"io"
	"log/slog"
	"math"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// pubsubScorer is what the pubsub copy exports.
type pubsubScorer interface {
	pubsub.RawTracer
	Score(peer.ID) float64
	AddPenalty(peer.ID, int)
	SetTopicScoreParams(string, *pubsub.TopicScoreParams) error
	PeerFeedback(string, peer.ID, pubsub.PeerFeedbackKind)
	Run(context.Context, host.Host)
}

// reference adapts pubsub's scorer to eventSubject.
type reference struct{ pubsubScorer }

func (r reference) SetTopicParams(topic string, tp *peerscore.TopicParams) error {
	return r.SetTopicScoreParams(topic, tp.ToPubsub())
}

// A reading of the score function: peerscore's options for it, and the
// pubsub scorer that computes it.
type reading struct {
	name string
	opts []peerscore.Option
	ref  func(*pubsub.PeerScoreParams) pubsubScorer
}

var readings = []reading{
	{"pubsub", nil, func(p *pubsub.PeerScoreParams) pubsubScorer { return pubsub.NewReferenceScorer(p) }},
	{"spec", []peerscore.Option{peerscore.WithSpecP3()}, func(p *pubsub.PeerScoreParams) pubsubScorer { return pubsub.NewSpecScorer(p) }},
}

// parityCounts says how much a run compared, so that traces too tame to
// test anything fail.
type parityCounts struct {
	compared, nonzero, negative int
	activeOutside               int // sampled peers with P3 active out of the mesh
}

// TestParityTraces replays random traces into pubsub's scorer and into
// peerscore, each running its own background loop under one fake clock
// (decay every DecayInterval, addresses re-read from the same host and
// delivery records cleaned once a minute), and compares every peer's score
// after every event and every time step. The default is compared with
// pubsub's scorer as it is; WithSpecP3 with the copy patched to the
// specification.
func TestParityTraces(t *testing.T) {
	const traces, events = 60, 3000
	for _, rd := range readings {
		t.Run(rd.name, func(t *testing.T) {
			var n parityCounts
			for seed := uint64(1); seed <= traces; seed++ {
				tr := newTrace(seed, events)
				synctest.Test(t, func(t *testing.T) { replayParity(t, rd, seed, tr, &n) })
			}
			t.Logf("%s: %d score comparisons, %d non-zero, %d negative; P3 active out of the mesh in %d samples",
				rd.name, n.compared, n.nonzero, n.negative, n.activeOutside)
			if n.nonzero < n.compared/4 || n.negative == 0 {
				t.Errorf("traces too tame to test anything: %d of %d scores non-zero, %d negative", n.nonzero, n.compared, n.negative)
			}
			if spec := rd.name == "spec"; spec != (n.activeOutside == 0) {
				t.Errorf("P3 active out of the mesh in %d samples under the %s reading", n.activeOutside, rd.name)
			}
		})
	}
}

// replayParity replays one trace; it runs inside a synctest bubble.
func replayParity(t *testing.T, rd reading, seed uint64, tr *trace, n *parityCounts) {
	params := tr.params()
	h := scoretest.NewAddrHost()
	opts := append([]peerscore.Option{peerscore.WithHost(h), peerscore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, rd.opts...)
	mine, err := peerscore.New(params, opts...)
	require.NoError(t, err)
	ref := reference{rd.ref(params.ToPubsub())}
	live := startLive(t, params.DecayInterval, mine, func(ctx context.Context) { ref.Run(ctx, h) }, mine.Start)
	for i, e := range tr.events {
		switch e.op {
		case opAdvance, opRefresh:
			live.wait(e)
		case opSetIPs: // both read it from the host, at a connect or the minute's refresh
			h.SetIPs(tr.peers[e.peer], e.ips)
		default:
			tr.applyEvent(wrapOurs(mine), e)
			tr.applyEvent(ref, e)
		}
		for _, p := range tr.peers {
			want, got := ref.Score(p), mine.Score(p)
			n.compared++
			if want != 0 {
				n.nonzero++
			}
			if want < 0 {
				n.negative++
			}
			if !sameScore(want, got) {
				t.Fatalf("%s reading, seed %d event %d (%v) at %v: peer %s: pubsub %v, peerscore %v\n%s",
					rd.name, seed, i, e, time.Since(live.start), p, want, got, recent(tr, i))
			}
			if i%20 == 0 {
				n.activeOutside += activeOutside(mine, p)
			}
		}
	}
}

// activeOutside is 1 if p has P3 active in a topic whose mesh it is not in.
func activeOutside(s *peerscore.Scorer, p peer.ID) int {
	snap, ok := s.Snapshot(p)
	if !ok {
		return 0
	}
	for _, ts := range snap.Topics {
		if ts.MeshDeliveriesActive && !ts.InMesh {
			return 1
		}
	}
	return 0
}

func sameScore(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func recent(tr *trace, i int) string {
	out := ""
	for k := max(0, i-15); k <= i; k++ {
		out += "  " + tr.events[k].String() + "\n"
	}
	return out
}
