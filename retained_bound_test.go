package peerscore_test

// The bound on retained peers (WithMaxRetainedPeers): who is evicted, and
// that the bound and the retained set's bookkeeping hold under churn.
// Helpers here start with "retained".

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// retainedParams are scoretest.StateParams (retained for an hour) with one
// topic, T, scoring P4 alone: P4 (weight -1 per squared invalid message),
// P7 (weight -1 above 0), P6 (weight -1 above one peer per address) and P5
// from app (weight 1). None of these changes when a peer
// disconnects, so a peer's score before it disconnects is its score
// retained. Nothing decays during the tests but P4 and P7, which decay
// only for connected peers.
func retainedParams(app func(peer.ID) float64) *peerscore.Params {
	p := scoretest.StateParams(time.Hour, app)
	p.Topics = map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}
	return p
}

func retainedNew(t testing.TB, p *peerscore.Params, max int) *peerscore.Scorer {
	t.Helper()
	s, err := peerscore.New(p, peerscore.WithMaxRetainedPeers(max))
	require.NoError(t, err)
	return s
}

// retainedBad connects p, charges it penalty (P7 = -penalty²) and
// disconnects it.
func retainedBad(s *peerscore.Scorer, p peer.ID, penalty int) {
	s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
	s.AddPenalty(p, penalty)
	s.Tracer().OnClosedOutboundStream(p)
}

func retainedCheck(t testing.TB, s *peerscore.Scorer) int {
	t.Helper()
	n, err := peerscore.CheckRetainedForTest(s)
	require.NoError(t, err)
	require.Equal(t, n, s.Stats().Retained)
	return n
}

// TestRetainedBoundEvictsLeastNegative fills a bound of three and checks
// that each peer over it costs the least negative retained peer its place:
// a peer at zero first, then the mildest offenders, the newcomer itself if
// it is the mildest, the earlier retention among equals; a penalty charged
// while retained, and the application's score at retention, count.
func TestRetainedBoundEvictsLeastNegative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := retainedNew(t, retainedParams(scoretest.AppScores(map[peer.ID]float64{"app-banned": -1000})), 3)
		evicted := func() uint64 { return s.Stats().RetainedEvicted }

		retainedBad(s, "a", 4) // -16
		retainedBad(s, "b", 1) // -1
		s.Tracer().OnNewOutboundStream("zero", "/meshsub/1.1.0")
		s.Tracer().OnClosedOutboundStream("zero") // retained at 0
		require.ElementsMatch(t, []string{"a", "b", "zero"}, scoretest.Known(s))
		require.Zero(t, evicted())

		retainedBad(s, "d", 6) // -36: the peer at zero goes
		require.ElementsMatch(t, []string{"a", "b", "d"}, scoretest.Known(s))
		retainedBad(s, "e", 2) // -4: b goes
		require.ElementsMatch(t, []string{"a", "d", "e"}, scoretest.Known(s))
		retainedBad(s, "mild", 1) // -1: the mildest is the newcomer itself
		require.ElementsMatch(t, []string{"a", "d", "e"}, scoretest.Known(s))
		retainedBad(s, "f", 5) // -25: e goes
		require.ElementsMatch(t, []string{"a", "d", "f"}, scoretest.Known(s))
		require.Equal(t, uint64(4), evicted())
		require.Equal(t, 3, retainedCheck(t, s))

		// a (-16) is now the mildest, but a penalty while retained makes
		// it the worst: f (-25) is next, and among f and g at -25 the one
		// retained first goes.
		s.AddPenalty("a", 6) // -100
		time.Sleep(time.Second)
		retainedBad(s, "g", 5) // -25
		require.ElementsMatch(t, []string{"a", "d", "g"}, scoretest.Known(s))
		require.Equal(t, -100.0, s.Score("a"))

		// The application's score at retention counts.
		s.Tracer().OnNewOutboundStream("app-banned", "/meshsub/1.1.0")
		s.Tracer().OnClosedOutboundStream("app-banned")
		require.ElementsMatch(t, []string{"a", "d", "app-banned"}, scoretest.Known(s))

		// A peer that reconnects leaves the retained set and makes room.
		s.Tracer().OnNewOutboundStream("d", "/meshsub/1.1.0")
		retainedBad(s, "h", 1)
		require.ElementsMatch(t, []string{"a", "d", "app-banned", "h"}, scoretest.Known(s))
		require.Equal(t, 3, retainedCheck(t, s))
		require.Equal(t, uint64(6), evicted())
		for _, p := range []peer.ID{"zero", "b", "mild", "e", "f", "g"} {
			_, ok := s.Snapshot(p)
			require.Falsef(t, ok, "%s was evicted", p)
		}
	})
}

// TestRetainedBoundOnLoad loads eight saved peers (P7 from -1 to -64) into
// a scorer bounded to three retained peers, which already retains one at
// -100: the worst three of all are kept.
func TestRetainedBoundOnLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := retainedParams(nil)
		src := retainedNew(t, params, 100)
		for i := range 8 {
			retainedBad(src, peer.ID(fmt.Sprintf("p%d", i)), i+1) // p7 is the worst
		}
		var buf bytes.Buffer
		require.NoError(t, src.Save(&buf))

		s := retainedNew(t, params, 3)
		retainedBad(s, "local", 10) // -100
		require.NoError(t, s.Load(&buf))
		require.ElementsMatch(t, []string{"p7", "p6", "local"}, scoretest.Known(s))
		require.Equal(t, uint64(6), s.Stats().RetainedEvicted)
		retainedCheck(t, s)
	})
}

// TestRetainedBoundUnderChurn is a property check: random connects,
// penalties (also to retained peers), invalid messages, shared addresses,
// disconnects, reconnects, expiry, new topic weights and loads, against a
// bound of eight. After every step the retained set must hold exactly the
// disconnected peers, in heap order, keyed on their current scores without
// P6, within the bound; and a peer evicted on a disconnect must have been at
// least as high as every peer kept, by that measure.
func TestRetainedBoundUnderChurn(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { retainedChurn(t, seed) })
		})
	}
}

func retainedChurn(t *testing.T, seed uint64) {
	const bound, pool, steps = 8, 40, 1000
	rng := rand.New(rand.NewPCG(seed, 11))
	app := func(p peer.ID) float64 { // fixed per peer
		if strings.HasSuffix(string(p), "7") {
			return -3
		}
		return 0
	}
	params := retainedParams(app)
	s := retainedNew(t, params, bound)
	other := retainedNew(t, params, 1000) // a state to load now and then
	for i := range 20 {
		retainedBad(other, peer.ID(fmt.Sprintf("saved%d", i)), 1+i%9)
	}
	var saved bytes.Buffer
	require.NoError(t, other.Save(&saved))

	ids := make([]peer.ID, pool)
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("peer%d", i))
	}
	connected := map[peer.ID]bool{}
	msg, checked := 0, 0
	for step := range steps {
		p := ids[rng.IntN(pool)]
		before := s.Snapshots()
		evicted := s.Stats().RetainedEvicted
		disconnect := false
		switch op := rng.IntN(100); {
		case op < 30:
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			connected[p] = true
		case op < 45:
			s.AddPenalty(p, 1+rng.IntN(4)) // retained peers too
		case op < 55:
			msg++
			scoretest.RejectN(s, "T", fmt.Sprintf("m%d", msg), p, 1)
		case op < 62:
			addrs := []string{fmt.Sprintf("192.0.2.%d", rng.IntN(3))}
			peerscore.SetIPsForTest(s, p, addrs)
		case op < 90:
			if connected[p] {
				s.Tracer().OnClosedOutboundStream(p)
				delete(connected, p)
				disconnect = true
			}
		case op < 95:
			time.Sleep(time.Duration(rng.IntN(20)) * time.Minute)
			s.Refresh()
		case op < 98:
			w := -float64(1 + rng.IntN(3))
			require.NoError(t, s.SetTopicParams("T", &peerscore.TopicParams{
				SkipAtomicValidation: true, TopicWeight: 1,
				InvalidMessageDeliveriesWeight: w, InvalidMessageDeliveriesDecay: 0.5,
			}))
		default:
			require.NoError(t, s.Load(bytes.NewReader(saved.Bytes())))
		}
		n, err := peerscore.CheckRetainedForTest(s)
		require.NoErrorf(t, err, "step %d", step)
		require.LessOrEqualf(t, n, bound, "step %d", step)
		for p, snap := range s.Snapshots() {
			require.Equalf(t, connected[p], snap.Connected, "step %d: %s", step, p)
		}
		if !disconnect || s.Stats().RetainedEvicted == evicted {
			continue
		}
		require.Equal(t, evicted+1, s.Stats().RetainedEvicted, "one eviction per disconnect")
		checked++
		after := s.Snapshots()
		var gone peer.ID
		for q := range before {
			if _, ok := after[q]; !ok {
				gone = q
			}
		}
		require.NotEmptyf(t, gone, "step %d: no peer evicted", step)
		// Eviction goes by conduct, the score without P6 (retained.go).
		conduct := func(snap peerscore.Snapshot) float64 { return snap.Score - snap.P6 }
		for q, snap := range after {
			if !snap.Connected {
				g, k := conduct(before[gone]), conduct(before[q])
				require.GreaterOrEqualf(t, g+1e-9*math.Abs(g), k,
					"step %d: evicted %s (%v) while keeping %s (%v)", step, gone, g, q, k)
			}
		}
	}
	require.Positive(t, checked, "no eviction on a disconnect to check")
	t.Logf("%d evictions on disconnects checked, %d in all", checked, s.Stats().RetainedEvicted)
}

// TestRetainedBoundTiesEvictEarliestRetention: among retained peers with
// the same score, the one whose retention ends first is evicted first.
func TestRetainedBoundTiesEvictEarliestRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 7
		s := retainedNew(t, retainedParams(nil), n)
		var tied []string
		for i := range n {
			p := fmt.Sprintf("tied-%d", i)
			tied = append(tied, p)
			retainedBad(s, peer.ID(p), 2)
			time.Sleep(time.Second)
		}
		for i := range n {
			retainedBad(s, peer.ID(fmt.Sprintf("worse-%d", i)), 3)
			_, ok := s.Snapshot(peer.ID(tied[i]))
			require.Falsef(t, ok, "%s, retained first, should be evicted now", tied[i])
			for _, later := range tied[i+1:] {
				_, ok := s.Snapshot(peer.ID(later))
				require.Truef(t, ok, "%s evicted before %s", later, tied[i])
			}
		}
	})
}

// TestRetainedBoundOption: the bound must be positive.
func TestRetainedBoundOption(t *testing.T) {
	for _, n := range []int{0, -1, math.MinInt} {
		s, err := peerscore.New(retainedParams(nil), peerscore.WithMaxRetainedPeers(n))
		require.ErrorContainsf(t, err, "WithMaxRetainedPeers", "bound %d", n)
		require.Nil(t, s)
	}
	s := retainedNew(t, retainedParams(nil), 1)
	retainedBad(s, "a", 1)
	retainedBad(s, "b", 2)
	require.Equal(t, []string{"b"}, scoretest.Known(s))
}

// TestRetainedBoundSybilCrowdKeepsOffenders: a swarm of throw-away IDs
// behind one address, each deeply negative through P6 alone, must not push
// a real offender out of the retained set. Eviction goes by conduct (the
// score without P6), so the swarm is evicted first.
func TestRetainedBoundSybilCrowdKeepsOffenders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := retainedNew(t, retainedParams(nil), 4)
		retainedBad(s, "offender", 3) // P7 = -9
		for i := range 10 {
			p := peer.ID(fmt.Sprintf("sybil%d", i))
			s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			peerscore.SetIPsForTest(s, p, []string{"198.51.100.1"})
		}
		for i := range 10 {
			require.Less(t, s.Score(peer.ID(fmt.Sprintf("sybil%d", i))), -9.0, "a Sybil's P6 outweighs the offender's P7")
		}
		for i := range 10 {
			s.Tracer().OnClosedOutboundStream(peer.ID(fmt.Sprintf("sybil%d", i)))
		}
		require.Contains(t, scoretest.Known(s), "offender")
		retainedCheck(t, s)
	})
}
