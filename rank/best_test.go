package rank_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/rank"
)

// addrs returns n distinct addresses for scoretest.Mocknet.
func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("/ip4/10.1.0.%d/tcp/4001", i+1)
	}
	return out
}

// tieOrder is the order Best documents for peers with equal scores: by
// the SHA-256 of the observer's ID followed by the peer's.
func tieOrder(self peer.ID, peers []peer.ID) []peer.ID {
	key := func(p peer.ID) []byte {
		sum := sha256.Sum256([]byte(string(self) + string(p)))
		return sum[:]
	}
	out := slices.Clone(peers)
	slices.SortFunc(out, func(a, b peer.ID) int { return bytes.Compare(key(a), key(b)) })
	return out
}

// Best's ordering, filter and count, rule by rule, over real connected
// hosts.
func TestBest(t *testing.T) {
	h, ids := scoretest.Mocknet(t, addrs(6)...)
	p0, p1, p2, p3, p4, p5 := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	stranger := peer.ID("not connected")
	distinct := map[peer.ID]float64{p0: 3, p1: -1, p2: 10, p3: 0, p4: -50, p5: 7, stranger: 100}
	for _, tc := range []struct {
		name   string
		scores map[peer.ID]float64
		n      int
		filter func(peer.ID) bool
		want   []peer.ID
	}{
		{name: "all, best first", scores: distinct, n: 6, want: []peer.ID{p2, p5, p0, p3, p1, p4}},
		{name: "more than connected", scores: distinct, n: math.MaxInt, want: []peer.ID{p2, p5, p0, p3, p1, p4}},
		{name: "top 2", scores: distinct, n: 2, want: []peer.ID{p2, p5}},
		{name: "n zero", scores: distinct, n: 0},
		{name: "n negative", scores: distinct, n: -3},
		{name: "filtered", scores: distinct, n: 3,
			filter: func(p peer.ID) bool { return p != p2 && p != p0 }, want: []peer.ID{p5, p3, p1}},
		{name: "filter accepts none", scores: distinct, n: 3, filter: func(peer.ID) bool { return false }, want: []peer.ID{}},
		{name: "NaN last, below -Inf", n: 6,
			scores: map[peer.ID]float64{p0: math.NaN(), p1: math.Inf(-1), p2: 1, p3: math.Inf(1), p4: -1e300, p5: 0},
			want:   []peer.ID{p3, p2, p5, p4, p1, p0}},
		{name: "ties by hash, after the better score", n: 6,
			scores: map[peer.ID]float64{p0: 5, p1: 1, p2: 1, p3: 1, p4: 1, p5: 1},
			want:   append([]peer.ID{p0}, tieOrder(h.ID(), []peer.ID{p1, p2, p3, p4, p5})...)},
		{name: "all tied", n: 6, scores: map[peer.ID]float64{},
			want: tieOrder(h.ID(), ids)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := map[peer.ID]int{}
			s := rank.ScoreFunc(func(p peer.ID) float64 {
				calls[p]++
				return tc.scores[p]
			})
			got := rank.Best(h, s, tc.n, tc.filter)
			require.Equal(t, tc.want, got)
			for p, c := range calls {
				require.Equal(t, 1, c, "peer %s scored %d times", p, c)
				require.True(t, tc.filter == nil || tc.filter(p), "a peer the filter refused was scored")
			}
			require.Zero(t, calls[stranger], "a peer not connected was scored")
		})
	}
}

// Ties are broken the same way on every call, whatever order the host
// lists its peers in, and differently on different nodes: two observers
// connected to the same eight peers, all at the same score, rank them in
// different orders.
func TestBestTieBreakDeterministicPerNode(t *testing.T) {
	mn, h1, ids := scoretest.MocknetNet(t, addrs(8)...)
	zero := rank.ScoreFunc(func(peer.ID) float64 { return 0 })
	first := rank.Best(h1, zero, 8, nil)
	require.ElementsMatch(t, ids, first)
	for range 20 {
		require.Equal(t, first, rank.Best(h1, zero, 8, nil))
	}

	h2, err := mn.GenPeer()
	require.NoError(t, err)
	require.NoError(t, mn.LinkAll())
	for _, p := range ids {
		_, err := mn.ConnectPeers(h2.ID(), p)
		require.NoError(t, err)
	}
	second := rank.Best(h2, zero, 8, nil)
	require.ElementsMatch(t, ids, second)
	require.NotEqual(t, first, second, "two nodes broke ties the same way")
	require.Equal(t, tieOrder(h2.ID(), ids), second)
}

// Best reads a real Scorer: peers penalised rank below the others.
func TestBestWithScorer(t *testing.T) {
	h, ids := scoretest.Mocknet(t, addrs(4)...)
	params := scoretest.Params(nil)
	params.BehaviourPenaltyWeight = -1
	params.BehaviourPenaltyDecay = 0.5
	app := map[peer.ID]float64{ids[0]: 2, ids[1]: 4, ids[2]: 1, ids[3]: 3}
	params.AppSpecificScore = func(p peer.ID) float64 { return app[p] }
	params.AppSpecificWeight = 1
	s := scoretest.New(t, params)
	scoretest.Connect(s, ids...)
	s.AddPenalty(ids[1], 3) // 4 - 9 = -5

	var _ rank.Scorer = (*peerscore.Scorer)(nil)
	require.Equal(t, []peer.ID{ids[3], ids[0], ids[2], ids[1]}, rank.Best(h, s, 4, nil))
	require.Equal(t, []peer.ID{ids[3], ids[0]}, rank.Best(h, s, 2, nil))
}

// A nil host or Scorer gives no peers and does not panic.
func TestBestNilArguments(t *testing.T) {
	h, _ := scoretest.Mocknet(t, addrs(2)...)
	require.Nil(t, rank.Best(nil, rank.ScoreFunc(func(peer.ID) float64 { return 0 }), 5, nil))
	require.Nil(t, rank.Best(h, nil, 5, nil))
	require.Nil(t, rank.Best(h, (*peerscore.Scorer)(nil), 5, nil))
	require.Nil(t, rank.Best(h, rank.ScoreFunc(nil), 5, nil))
}
