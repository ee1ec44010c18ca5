package ban_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// An invalid option is refused with an error naming it, and no Monitor is
// made.
func TestNewMonitorRejectsInvalidOptions(t *testing.T) {
	h, g := newFakeHost(), ban.NewGater()
	scores := ban.ScoreFunc(func(peer.ID) float64 { return 0 })
	for _, tc := range []struct {
		name string
		opt  ban.MonitorOption
		want string // the option the error names
		says string // and what it says
	}{
		{name: "NaN minimum", opt: ban.WithMinScore(math.NaN()), want: "WithMinScore", says: "NaN"},
		{name: "positive minimum", opt: ban.WithMinScore(0.5), want: "WithMinScore", says: "above zero"},
		{name: "+Inf minimum", opt: ban.WithMinScore(math.Inf(1)), want: "WithMinScore", says: "above zero"},
		{name: "zero ban", opt: ban.WithBanDuration(0), want: "WithBanDuration", says: "not positive"},
		{name: "negative ban", opt: ban.WithBanDuration(-time.Second), want: "WithBanDuration", says: "not positive"},
		{name: "zero RetainScore", opt: ban.WithBanForRetainScore(0), want: "WithBanForRetainScore", says: "RetainScore 0s is not positive: the scorer forgets a disconnected peer at once (set Params.RetainScore; derive.Budget's zero RetainScore gives derive.DefaultRetainScore)"},
		{name: "zero RetainScore, deprecated name", opt: ban.WithBanUntilForgotten(0), want: "WithBanForRetainScore", says: "RetainScore 0s is not positive"},
		{name: "zero interval", opt: ban.WithCheckInterval(0), want: "WithCheckInterval", says: "not positive"},
		{name: "negative interval", opt: ban.WithCheckInterval(-time.Minute), want: "WithCheckInterval", says: "not positive"},
		{name: "nil protected", opt: ban.WithProtected(nil), want: "WithProtected", says: "nil"},
		{name: "nil on ban", opt: ban.WithOnBan(nil), want: "WithOnBan", says: "nil"},
		{name: "nil logger", opt: ban.WithLogger(nil), want: "WithLogger", says: "nil"},
		{name: "zero share", opt: ban.WithBanLimit(0, time.Minute), want: "WithBanLimit", says: "share 0 is not in (0, 1]"},
		{name: "share above one", opt: ban.WithBanLimit(1.5, time.Minute), want: "WithBanLimit", says: "share 1.5 is not in (0, 1]"},
		{name: "NaN share", opt: ban.WithBanLimit(math.NaN(), time.Minute), want: "WithBanLimit", says: "share NaN"},
		{name: "negative share", opt: ban.WithBanLimit(-0.1, time.Minute), want: "WithBanLimit", says: "not in (0, 1]"},
		{name: "zero window", opt: ban.WithBanLimit(0.1, 0), want: "WithBanLimit", says: "window 0s is not positive"},
		{name: "zero IP ban threshold", opt: ban.WithIPBanAbove(0), want: "WithIPBanAbove", says: "0 is less than 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ban.NewMonitor(h, scores, g, ban.WithCheckInterval(time.Second), quiet, tc.opt)
			pkgtest.RequireNamedError(t, err, "peerscore/ban", tc.want, tc.says)
			require.Nil(t, m)
		})
	}
}

// A missing host, Scorer or Gater is refused with an error naming it,
// including a nil pointer or function in the Scorer interface, whose Score
// would panic later on the Monitor's goroutine.
func TestNewMonitorRejectsNilArguments(t *testing.T) {
	h, g := newFakeHost(), ban.NewGater()
	scores := ban.ScoreFunc(func(peer.ID) float64 { return 0 })
	for _, tc := range []struct {
		name   string
		h      host.Host
		scores ban.Scorer
		g      *ban.Gater
		says   string
	}{
		{name: "nil host", scores: scores, g: g, says: "nil host"},
		{name: "nil Scorer", h: h, g: g, says: "nil Scorer"},
		{name: "nil *peerscore.Scorer", h: h, scores: (*peerscore.Scorer)(nil), g: g, says: "nil Scorer"},
		{name: "nil ScoreFunc", h: h, scores: ban.ScoreFunc(nil), g: g, says: "nil Scorer"},
		{name: "nil Gater", h: h, scores: scores, says: "nil Gater"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ban.NewMonitor(tc.h, tc.scores, tc.g)
			pkgtest.RequireNamedError(t, err, "peerscore/ban", "NewMonitor", tc.says)
			require.Nil(t, m)
		})
	}
}

// Nil options are skipped; the options that remain take effect.
func TestNewMonitorSkipsNilOptions(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		p := fakePeers(1)[0]
		h := newFakeHost(p)
		bans := &banLog{}
		m, err := ban.NewMonitor(h, ban.ScoreFunc(func(peer.ID) float64 { return -1 }), ban.NewGater(),
			nil, ban.WithMinScore(0), nil, ban.WithCheckInterval(time.Second), ban.WithOnBan(bans.onBan), quiet, nil)
		require.NoError(t, err)
		m.Start(context.Background())
		time.Sleep(time.Second + time.Millisecond)
		require.NoError(t, m.Close())
		require.Len(t, bans.get(), 1, "a score of -1 is below the minimum of 0 given between nil options")
	})
}

// The minimum score: WithMinScore if given; else the GraylistThreshold of
// a Scorer with thresholds; else -100. A peer exactly at the minimum
// stays, one just below is banned.
func TestMonitorMinScoreDefault(t *testing.T) {
	graylisting := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	for _, tc := range []struct {
		name       string
		thresholds *peerscore.Thresholds // given to the peerscore.Scorer
		plainFunc  bool                  // a ScoreFunc instead, which has no thresholds
		opt        ban.MonitorOption
		wantMin    float64
	}{
		{name: "scorer with thresholds", thresholds: graylisting, wantMin: -30},
		{name: "scorer without thresholds", wantMin: -100},
		{name: "score function", plainFunc: true, wantMin: -100},
		{name: "WithMinScore over thresholds", thresholds: graylisting, opt: ban.WithMinScore(-50), wantMin: -50},
		{name: "WithMinScore zero", thresholds: graylisting, opt: ban.WithMinScore(0), wantMin: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				atMin, below := peer.ID("at-minimum"), peer.ID("just-below")
				app := map[peer.ID]float64{atMin: tc.wantMin, below: tc.wantMin - 0.5}
				params := scoretest.Params(nil)
				params.AppSpecificScore = func(p peer.ID) float64 { return app[p] }
				params.AppSpecificWeight = 1
				var opts []peerscore.Option
				if tc.thresholds != nil {
					opts = append(opts, peerscore.WithThresholds(tc.thresholds))
				}
				s := scoretest.New(t, params, opts...)
				scoretest.Connect(s, atMin, below)
				var scores ban.Scorer = s
				if tc.plainFunc {
					scores = ban.ScoreFunc(s.Score)
				}

				h := newFakeHost(atMin, below)
				g := ban.NewGater()
				m, err := ban.NewMonitor(h, scores, g, ban.WithCheckInterval(time.Second), quiet, tc.opt)
				require.NoError(t, err)
				m.Start(context.Background())
				time.Sleep(time.Second + time.Millisecond)
				require.NoError(t, m.Close())
				require.Equal(t, []peer.ID{below}, bannedPeers(g.Bans()))
				require.Equal(t, []peer.ID{below}, h.net.closedPeers())
			})
		})
	}
}

// WithLogger receives the Monitor's log lines: a ban at info level, with
// the peer, its score and the minimum.
func TestMonitorWithLogger(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		p := fakePeers(1)[0]
		var logs bytes.Buffer // written on the Monitor's goroutine, read after Close
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		m, err := ban.NewMonitor(newFakeHost(p), ban.ScoreFunc(func(peer.ID) float64 { return -200 }), ban.NewGater(),
			ban.WithCheckInterval(time.Second), ban.WithLogger(logger))
		require.NoError(t, err)
		m.Start(context.Background())
		time.Sleep(time.Second + time.Millisecond)
		require.NoError(t, m.Close())
		require.Contains(t, logs.String(), `level=INFO msg="banned peer below minimum score" peer=`)
		require.Contains(t, logs.String(), "score=-200 min=-100")
	})
}
