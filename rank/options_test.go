package rank_test

import (
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/rank"
)

// An invalid option is refused with an error naming it, and no Tagger is
// made.
func TestNewTaggerRejectsInvalidOptions(t *testing.T) {
	h, _ := scoretest.Mocknet(t)
	scores := rank.ScoreFunc(func(peer.ID) float64 { return 0 })
	for _, tc := range []struct {
		name string
		opt  rank.Option
		want string // the option the error names
		says string // and what it says
	}{
		{name: "zero interval", opt: rank.WithInterval(0), want: "WithInterval", says: "0s is not positive"},
		{name: "negative interval", opt: rank.WithInterval(-time.Second), want: "WithInterval", says: "not positive"},
		{name: "empty tag", opt: rank.WithTag(""), want: "WithTag", says: "empty name"},
		{name: "zero scale", opt: rank.WithTagScale(0, 10), want: "WithTagScale", says: "scale 0 is not positive and finite"},
		{name: "negative scale", opt: rank.WithTagScale(-1, 10), want: "WithTagScale", says: "scale -1"},
		{name: "NaN scale", opt: rank.WithTagScale(math.NaN(), 10), want: "WithTagScale", says: "scale NaN"},
		{name: "infinite scale", opt: rank.WithTagScale(math.Inf(1), 10), want: "WithTagScale", says: "scale +Inf"},
		{name: "zero limit", opt: rank.WithTagScale(1, 0), want: "WithTagScale", says: "limit 0 is not between 1 and 1000000"},
		{name: "huge limit", opt: rank.WithTagScale(1, 1_000_001), want: "WithTagScale", says: "limit 1000001"},
		{name: "negative best", opt: rank.WithProtectBest(-1), want: "WithProtectBest", says: "-1 is negative"},
		{name: "nil protected", opt: rank.WithProtected(nil), want: "WithProtected", says: "nil function"},
		{name: "nil logger", opt: rank.WithLogger(nil), want: "WithLogger", says: "nil logger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := rank.NewTagger(h, scores, rank.WithInterval(time.Second), tc.opt)
			pkgtest.RequireNamedError(t, err, "peerscore/rank", tc.want, tc.says)
			require.Nil(t, tg)
		})
	}
}

// A missing host or Scorer is refused with an error naming it, including
// a nil pointer or function in the Scorer interface, whose Score would
// panic later on the Tagger's goroutine.
func TestNewTaggerRejectsNilArguments(t *testing.T) {
	h, _ := scoretest.Mocknet(t)
	scores := rank.ScoreFunc(func(peer.ID) float64 { return 0 })
	for _, tc := range []struct {
		name   string
		h      host.Host
		scores rank.Scorer
		says   string
	}{
		{name: "nil host", scores: scores, says: "nil host"},
		{name: "nil Scorer", h: h, says: "nil Scorer"},
		{name: "nil *peerscore.Scorer", h: h, scores: (*peerscore.Scorer)(nil), says: "nil Scorer"},
		{name: "nil ScoreFunc", h: h, scores: rank.ScoreFunc(nil), says: "nil Scorer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := rank.NewTagger(tc.h, tc.scores)
			pkgtest.RequireNamedError(t, err, "peerscore/rank", "NewTagger", tc.says)
			require.Nil(t, tg)
		})
	}
}

// Nil options are skipped; the options around them take effect.
func TestNewTaggerSkipsNilOptions(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		net := newTrimNet(t, 2, 10, 50)
		net.connectAll(t, t.Context())
		tg, err := rank.NewTagger(net.hosts[0], rank.ScoreFunc(func(peer.ID) float64 { return 2 }),
			nil, rank.WithTagScale(3, 100), nil, rank.WithProtectBest(1), nil)
		require.NoError(t, err)
		defer tg.Close()
		tg.Refresh()
		v, ok := net.tag(1, "peerscore")
		require.True(t, ok)
		require.Equal(t, 6, v)
		require.True(t, net.cm.IsProtected(net.id(1), "peerscore"))
	})
}

// The mapping from score to tag value, rule by rule.
func TestTagValue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		score  float64
		scale  float64
		limit  int
		expect int
	}{
		{"zero", 0, 1, 1000, 0},
		{"negative zero", math.Copysign(0, -1), 1, 1000, 0},
		{"positive, one unit a point", 42, 1, 1000, 42},
		{"negative", -17, 1, 1000, -17},
		{"rounds to nearest", 2.49, 1, 1000, 2},
		{"rounds half away from zero", 2.5, 1, 1000, 3},
		{"rounds negative half away from zero", -2.5, 1, 1000, -3},
		{"scaled up", 0.26, 10, 1000, 3},
		{"scaled down", -16000, 1.0 / 16, 1000, -1000},
		{"clamped above", 5000, 1, 1000, 1000},
		{"clamped below", -16000, 1, 1000, -1000},
		{"exactly at the limit", -1000, 1, 1000, -1000},
		{"+Inf", math.Inf(1), 1, 1000, 1000},
		{"-Inf", math.Inf(-1), 1, 1000, -1000},
		{"NaN is the lowest", math.NaN(), 1, 1000, -1000},
		{"overflowing product", math.MaxFloat64, 2, 7, 7},
		{"largest limit", -math.MaxFloat64, 1, 1_000_000, -1_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.expect, rank.TagValue(tc.score, tc.scale, tc.limit))
		})
	}
}

// The mapping is monotonic and stays within its limits, over random
// scores of every magnitude, scales and limits.
func TestTagValueMonotonic(t *testing.T) {
	r := newRand(1)
	randScore := func() float64 {
		switch r.IntN(10) {
		case 0:
			return math.Inf(1 - 2*r.IntN(2))
		case 1:
			return float64(r.IntN(21) - 10) // exact integers and ties
		case 2:
			return (float64(r.IntN(41)) - 20) / 2 // halves
		}
		return (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(12)-3))
	}
	for range 100_000 {
		scale := math.Pow(10, float64(r.IntN(9)-4)) * (0.5 + r.Float64())
		limit := 1 + r.IntN(1_000_000)
		a, b := randScore(), randScore()
		if a > b {
			a, b = b, a
		}
		va, vb := rank.TagValue(a, scale, limit), rank.TagValue(b, scale, limit)
		// Plain comparisons: testify on every one of 100,000 cases is slow.
		if va > vb || va < -limit || vb > limit {
			t.Fatalf("score %v → %d, %v → %d (scale %v, limit %d): not monotonic or out of bounds", a, va, b, vb, scale, limit)
		}
		if nan := rank.TagValue(math.NaN(), scale, limit); nan > va {
			t.Fatalf("NaN → %d, above %v → %d", nan, a, va)
		}
	}
}
