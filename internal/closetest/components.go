package closetest

// The module's components, described for the contract. Each runs against
// the stand-ins of fakes.go, with one peer, short periods and no logging.

import (
	"log/slog"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/dsstore"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/rank"
	"github.com/peerscore/peerscore/reputation"
)

// All lists every component that keeps the contract.
var All = []Component{Scorer, Monitor, Tagger, Reputation, Store}

var quiet = slog.New(slog.DiscardHandler)

// Scorer is peerscore.Scorer. Its work counted is the minute's re-reading
// of the peer's addresses from the host (Period); its callbacks are an
// inspection every second and threshold events, for which the
// application's score moves the peer across zero at every DecayInterval.
var Scorer = Component{
	Name:      "Scorer",
	Period:    time.Minute,
	Callbacks: []string{"inspect", "events"},
	New: func(t *testing.T, kind string, fn func()) *Subject {
		h := newFakeHost()
		born := time.Now()
		app := func(peer.ID) float64 {
			if kind == "events" && time.Since(born)/time.Second%2 == 1 {
				return -1
			}
			return 1
		}
		opts := []peerscore.Option{peerscore.WithHost(h), peerscore.WithLogger(quiet),
			peerscore.WithThresholds(scoretest.Thresholds())}
		switch kind {
		case "inspect":
			opts = append(opts, peerscore.WithInspect(func(map[peer.ID]float64) { fn() }, time.Second))
		case "events":
			opts = append(opts, peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) { fn() }))
		}
		s, err := peerscore.New(scoretest.SteepParams(app), opts...)
		require.NoError(t, err)
		scoretest.Connect(s, thePeer)
		return &Subject{Start: s.Start, Close: s.Close, Work: h.net.conns.count, Hold: h.net.conns.holdNext}
	},
}

// Monitor is ban.Monitor, checking every second a peer that scores -1000
// and is not protected, so that it bans the peer at every check. Its work
// counted is the closing of the banned peer's connections.
var Monitor = Component{
	Name:      "Monitor",
	Period:    time.Second,
	Callbacks: []string{"score", "protected", "onBan"},
	New: func(t *testing.T, kind string, fn func()) *Subject {
		on := func(k string) func() {
			if k == kind {
				return fn
			}
			return func() {}
		}
		score, protected, onBan := on("score"), on("protected"), on("onBan")
		h := newFakeHost()
		m, err := ban.NewMonitor(h, ban.ScoreFunc(func(peer.ID) float64 { score(); return -1000 }), ban.NewGater(),
			ban.WithCheckInterval(time.Second), ban.WithLogger(quiet),
			ban.WithProtected(func(peer.ID) bool { protected(); return false }),
			ban.WithOnBan(func(peer.ID, float64, time.Time) { onBan() }))
		require.NoError(t, err)
		return &Subject{Start: m.Start, Close: m.Close, Work: h.net.closes.count, Hold: h.net.closes.holdNext}
	},
}

// Tagger is rank.Tagger, re-tagging every second a peer whose score
// changes at every call, and which WithProtected marks. Its work counted
// is the tagging; Close must leave no tag or protection.
var Tagger = Component{
	Name:      "Tagger",
	Period:    time.Second,
	Callbacks: []string{"score", "protected"},
	New: func(t *testing.T, kind string, fn func()) *Subject {
		var scores atomic.Int64
		h := newFakeHost()
		tg, err := rank.NewTagger(h, rank.ScoreFunc(func(peer.ID) float64 {
			if kind == "score" {
				fn()
			}
			return float64(scores.Add(1) % 2)
		}), rank.WithInterval(time.Second), rank.WithLogger(quiet), rank.WithProtected(func(peer.ID) bool {
			if kind == "protected" {
				fn()
			}
			return true
		}))
		require.NoError(t, err)
		return &Subject{
			Start: tg.Start, Close: tg.Close, Work: h.cm.tagging.count, Hold: h.cm.tagging.holdNext,
			Check: func(t *testing.T) {
				t.Helper()
				tags, protections := h.cm.left()
				require.Zero(t, tags, "tags left after Close")
				require.Zero(t, protections, "protections left after Close")
			},
		}
	},
}

// Reputation is reputation.Reputation, whose decay steps every second. It
// calls no code of the user's. Its work counted is how far the value it
// publishes for a penalised peer has decayed, in steps: with a half-life of
// a thousand steps, the value never fades in a test. Two loops would
// publish the same values, so the contract cannot tell them from one
// here; internal/lifecycle's tests check that a second Start starts
// nothing.
var Reputation = Component{
	Name:   "Reputation",
	Period: time.Second,
	New: func(t *testing.T, _ string, _ func()) *Subject {
		const steps = 1000
		r, err := reputation.New(reputation.WithDecayInterval(time.Second),
			reputation.WithHalfLife(steps*time.Second), reputation.WithLogger(quiet))
		require.NoError(t, err)
		r.Report(thePeer, reputation.Fatal, "closetest")
		first := r.Score(thePeer)
		return &Subject{Start: r.Start, Close: r.Close, Work: func() int {
			return int(math.Round(steps * math.Log2(first/r.Score(thePeer))))
		}}
	},
}

// Store is dsstore.Store, writing a Gater's bans every second. It calls no
// code of the user's. Its work counted is its Puts; Close writes once
// more.
var Store = Component{
	Name:   "Store",
	Period: time.Second,
	New: func(t *testing.T, _ string, _ func()) *Subject {
		ds := &fakeStore{Datastore: dssync.MutexWrap(datastore.NewMapDatastore())}
		st, err := dsstore.New(ds, nil, ban.NewGater(), dsstore.WithInterval(time.Second), dsstore.WithLogger(quiet))
		require.NoError(t, err)
		return &Subject{Start: st.Start, Close: st.Close, Work: ds.puts.count, Hold: ds.puts.holdNext}
	},
}
