package replay

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// testThresholds: gossip -10, publish -50, graylist -80.
func testThresholds() *peerscore.Thresholds {
	return &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80, AcceptPXThreshold: 10, OpportunisticGraftThreshold: 1}
}

// invalidParams score P4 alone in topic tt: -20 for one invalid message,
// the counter halved every second.
func invalidParams() *peerscore.Params {
	p := engineParams()
	p.Topics[tt] = &peerscore.TopicParams{
		SkipAtomicValidation: true, TopicWeight: 1, TimeInMeshQuantum: time.Second,
		InvalidMessageDeliveriesWeight: -20, InvalidMessageDeliveriesDecay: 0.5,
	}
	return p
}

func byPeer(t *testing.T, out *Outcome, p peer.ID) PeerOutcome {
	t.Helper()
	for _, po := range out.Peers {
		if po.Peer == p.String() {
			return po
		}
	}
	t.Fatalf("no outcome for %s", p)
	return PeerOutcome{}
}

// TestCrossings: when a peer fell below each level, by which component,
// and for how long.
func TestCrossings(t *testing.T) {
	evs := append(baseEvents(),
		rejectEv(ms(100), peerA, "m1", pubsub.RejectValidationFailed), // -20: below zero and gossip
		// The counter is 1/8 by 3 s; 3 more: 3.125² × -20 = -195.3125,
		// below every level.
		rejectEv(ms(3100), peerA, "m2", pubsub.RejectValidationFailed),
		rejectEv(ms(3100), peerA, "m3", pubsub.RejectValidationFailed),
		rejectEv(ms(3100), peerA, "m4", pubsub.RejectValidationFailed),
		extraAt(ms(20_000), Extra{Kind: KindThrottle, Peer: peerB.String()}), // the end
	)
	out := newReplayer(t, FormatRecording, Config{Params: invalidParams(), Thresholds: testThresholds(), SnapshotEvery: ms(500)}, evs...).Finish()
	require.Equal(t, []Level{{"zero", 0}, {"gossip", -10}, {"publish", -50}, {"graylist", -80}}, out.Levels)
	require.Len(t, out.Peers, 2)
	require.Equal(t, peerA.String(), out.Peers[0].Peer, "the lowest first")

	a := out.Peers[0]
	p4 := peerscore.ComponentInvalidMessages
	require.Equal(t, []Crossing{
		// The counter is halved at each second and reaches 0 (below
		// DecayToZero) at 12 s: below zero at every sample from 0.5 s to
		// 11.5 s; below gossip at 0.5 s and from 3.5 s to 5.5 s (-12.2).
		{Level: out.Levels[0], First: ms(500), Component: p4, Value: -20, Below: ms(11_500)},
		{Level: out.Levels[1], First: ms(500), Component: p4, Value: -20, Below: ms(3000)},
		{Level: out.Levels[2], First: ms(3500), Component: p4, Value: -195.3125, Below: ms(500)},
		{Level: out.Levels[3], First: ms(3500), Component: p4, Value: -195.3125, Below: ms(500)},
	}, a.Crossed)
	require.Equal(t, -195.3125, a.Min)
	require.Equal(t, ms(3500), a.MinAt)
	require.Zero(t, a.Last)
	require.False(t, a.HonestLooking, "P4")
	require.Len(t, a.Samples, 40, "every sample from the first dip")
	require.Equal(t, Sample{At: ms(500), Score: -20}, a.Samples[0])
	require.Len(t, out.Band, 40, "one sample an instant: the trace ends on one")
	require.Equal(t, ms(20_000), out.Band[39].At)

	b := out.Peers[1]
	require.Empty(t, b.Crossed)
	require.Empty(t, b.Samples)
	require.Zero(t, b.Min)

	// Without thresholds, zero is the only level.
	out = newReplayer(t, FormatRecording, Config{Params: invalidParams(), SnapshotEvery: ms(500)}, evs...).Finish()
	require.Equal(t, []Level{{"zero", 0}}, out.Levels)
	require.Len(t, out.Peers[0].Crossed, 1)
}

// honestParams: P3 (weight -1 below 2 deliveries, active after 1 s, a
// 10 ms window) and P2 (weight 1), P4, P5, P6, P7 and the slow-peer
// penalty as engineParams; no P1.
func honestParams() *peerscore.Params {
	p := engineParams()
	p.Topics[tt].TimeInMeshWeight = 0
	return p
}

// TestHonestLooking: a peer that relayed messages and fell below zero by
// P3, P3b or P6 alone looks honest; one that never sent a message does
// not, nor does one that also sent an invalid message or broke a rule.
func TestHonestLooking(t *testing.T) {
	var (
		relayer   = peer.ID("relayer")   // in the mesh, relays late copies: P3
		firstOnce = peer.ID("first")     // in the mesh, first once: P3
		source    = peer.ID("source")    // first with every message, out of the mesh: P2
		silent    = peer.ID("silent")    // in the mesh, sends nothing: P3
		invalid   = peer.ID("invalid")   // relays, in the mesh, one invalid message: P3 and P4
		promise   = peer.ID("promise")   // relays, in the mesh, breaks a promise: P3 and P7
		app       = peer.ID("app")       // relays; the application's score -5: P5
		slow      = peer.ID("slow")      // relays; 3 messages dropped on their way to it
		coloc1    = peer.ID("colocated") // two relayers on one address: P6
		coloc2    = peer.ID("colocated-too")
	)
	evs := []Event{startEv(), joinEv(0)}
	for i, p := range []peer.ID{relayer, firstOnce, source, silent, invalid, promise, app, slow, coloc1, coloc2} {
		ip := fmt.Sprintf("10.0.0.%d", i+1)
		if p == coloc2 {
			ip = "10.0.0.9"
		}
		evs = append(evs, streamEv(0, p), addrsEv(0, p, ip))
	}
	for _, p := range []peer.ID{relayer, firstOnce, silent, invalid, promise} {
		evs = append(evs, graftEv(0, p))
	}
	evs = append(evs,
		appEv(0, app, -5),
		sendEv(ms(50), promise, iwantMeta("never")),
		deliverEv(ms(60), firstOnce, "f"),
		dropEv(ms(70), slow, messagesMeta("d1", "d2", "d3")))
	for k := range 10 {
		id := fmt.Sprintf("m%d", k)
		d := time.Duration(k)*time.Second + ms(100)
		evs = append(evs, deliverEv(d, source, id))
		for _, p := range []peer.ID{relayer, invalid, promise, app, slow, coloc1, coloc2} {
			evs = append(evs, duplicateEv(d+ms(50), p, id)) // after the window: no credit
		}
	}
	evs = append(evs, rejectEv(ms(2100), invalid, "bad", pubsub.RejectValidationFailed))
	out := newReplayer(t, FormatRecording, Config{Params: honestParams(), SnapshotEvery: time.Second}, evs...).Finish()

	want := map[peer.ID]bool{relayer: true, firstOnce: true, coloc1: true, coloc2: true,
		source: false, silent: false, invalid: false, promise: false, app: false, slow: false}
	for p, honest := range want {
		po := byPeer(t, out, p)
		require.Equal(t, honest, po.HonestLooking, "%s: %+v", p, po.Crossed)
		if p != source {
			require.NotEmpty(t, po.Crossed, "%s never fell below zero", p)
		}
	}
	require.Empty(t, byPeer(t, out, source).Crossed)
	require.Equal(t, peerscore.ComponentMeshDeliveries, byPeer(t, out, relayer).Crossed[0].Component)
	require.Equal(t, peerscore.ComponentIPColocation, byPeer(t, out, coloc1).Crossed[0].Component)
	require.Equal(t, peerscore.ComponentAppSpecific, byPeer(t, out, app).Crossed[0].Component)
}

// TestAppendBounded: a series never reaches maxSamples; merging keeps its
// lowest point, its order and its start.
func TestAppendBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xs []Sample
	lowest := math.Inf(1)
	for i := range 5000 {
		s := Sample{At: time.Duration(i) * time.Second, Score: rng.NormFloat64()}
		lowest = min(lowest, s.Score)
		xs = appendBounded(xs, s, mergeSamples)
		require.Less(t, len(xs), maxSamples)
		require.Equal(t, lowest, slices.MinFunc(xs, func(a, b Sample) int { return cmp.Compare(a.Score, b.Score) }).Score, "at %d", i)
		require.True(t, slices.IsSortedFunc(xs, func(a, b Sample) int { return int(a.At - b.At) }))
	}
	require.Greater(t, len(xs), maxSamples/4)
	require.Equal(t, Sample{At: 4999 * time.Second}, Sample{At: xs[len(xs)-1].At}, "the last sample is kept")

	var bands []Band
	for i := range 3000 {
		bands = appendBounded(bands, Band{At: time.Duration(i), Peers: i % 7, Min: -float64(i % 100), Median: 0, Max: float64(i % 50)}, mergeBands)
	}
	require.Less(t, len(bands), maxSamples)
	require.Equal(t, -99.0, slices.MinFunc(bands, func(a, b Band) int { return cmp.Compare(a.Min, b.Min) }).Min)
	require.Equal(t, 49.0, slices.MaxFunc(bands, func(a, b Band) int { return cmp.Compare(a.Max, b.Max) }).Max)
	require.Equal(t, 6, slices.MaxFunc(bands, func(a, b Band) int { return a.Peers - b.Peers }).Peers)
}

// TestBoundedReplay: a long replay keeps each series and the band bounded,
// and a peer's series keeps its lowest score.
func TestBoundedReplay(t *testing.T) {
	evs := append(baseEvents(), appEv(ms(10), peerA, -1))
	for k := range 4 {
		evs = append(evs, rejectEv(ms(700*k+300), peerA, fmt.Sprintf("m%d", k), pubsub.RejectValidationFailed))
	}
	evs = append(evs, extraAt(ms(3000), Extra{Kind: KindThrottle, Peer: peerB.String()}))
	out := newReplayer(t, FormatRecording, Config{Params: invalidParams(), SnapshotEvery: time.Millisecond}, evs...).Finish()
	a := byPeer(t, out, peerA)
	require.Less(t, len(a.Samples), maxSamples)
	require.Greater(t, len(a.Samples), maxSamples/4)
	require.Less(t, len(out.Band), maxSamples)
	low := slices.MinFunc(a.Samples, func(x, y Sample) int { return cmp.Compare(x.Score, y.Score) })
	require.Equal(t, a.Min, low.Score)
	require.Equal(t, a.MinAt, low.At)
	require.Equal(t, a.Min, slices.MinFunc(out.Band, func(x, y Band) int { return cmp.Compare(x.Min, y.Min) }).Min)
}
