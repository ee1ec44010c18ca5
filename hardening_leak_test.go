package peerscore_test

// Leaks: after Close (or the end of Start's context) no goroutine of ours
// is left. "Ours" is any goroutine with a frame of package peerscore or of
// one of its sub-packages (test code excluded) in its stack; the check
// counts them from a full goroutine dump, so goroutines of other tests, of
// libp2p or of the runtime do not disturb it, and compares with the count
// before. Every test runs in a synctest bubble: the loops' tickers fire on
// the fake clock, synctest.Wait lets every goroutine of the bubble run
// until it blocks or ends, so that a count taken then is exact, without
// polling or real sleeping; and synctest.Test fails by itself if a
// goroutine started in the bubble is left when the test returns.

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/bubble"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// ourFrame matches a stack frame of the library, its sub-packages included
// (not of its tests).
var ourFrame = regexp.MustCompile(`(?m)^github\.com/peerscore/peerscore(/[a-z0-9/]+)?\.`)

// ourGoroutines returns the stacks of the goroutines running library code,
// by goroutine ID.
func ourGoroutines() map[string]string {
	ours := map[string]string{}
	for _, g := range bubble.Stacks() {
		if ourFrame.MatchString(g) {
			id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
			ours[id] = g
		}
	}
	return ours
}

// requireOurGoroutines lets every goroutine of the bubble run until it
// blocks or ends, then fails unless exactly want goroutines of ours run
// that were not in base (taken with ourGoroutines when the test began:
// other tests' goroutines that may still be winding down).
func requireOurGoroutines(t *testing.T, base map[string]string, want int, what string) {
	t.Helper()
	synctest.Wait()
	var fresh []string
	for id, g := range ourGoroutines() {
		if _, old := base[id]; !old {
			fresh = append(fresh, g)
		}
	}
	if len(fresh) != want {
		t.Fatalf("%s: %d goroutines of ours, want %d:\n\n%s", what, len(fresh), want, strings.Join(fresh, "\n\n"))
	}
}

// leakParams have a fast loop: every tick of it runs during the test.
func leakParams() *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics:               map[string]*peerscore.TopicParams{"T": scoretest.FullTopic()},
		DecayInterval:        time.Second,
		DecayToZero:          0.01,
	}
}

// fastRouter has the router heartbeat (and so the router-penalty upkeep)
// run every millisecond.
func fastRouter() peerscore.Option {
	gs := pubsub.DefaultGossipSubParams()
	gs.HeartbeatInterval = time.Millisecond
	return peerscore.WithGossipSubParams(gs)
}

func TestLeakScorerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := ourGoroutines()
		var calls atomic.Int64
		inspectOpts := []peerscore.Option{
			peerscore.WithInspect(func(map[peer.ID]float64) { calls.Add(1) }, time.Millisecond),
			peerscore.WithInspect(func(map[peer.ID]*pubsub.PeerScoreSnapshot) { calls.Add(1) }, time.Millisecond),
			peerscore.WithInspect(func(map[peer.ID]peerscore.Snapshot) { calls.Add(1) }, time.Millisecond),
		}

		// Never started: no goroutine at all.
		s, err := peerscore.New(leakParams())
		if err != nil {
			t.Fatal(err)
		}
		requireOurGoroutines(t, base, 0, "after New")
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		// One goroutine for the loop, one more for an inspection callback;
		// none after Close, whatever the options.
		for i, opts := range [][]peerscore.Option{
			nil,
			{fastRouter()},
			{peerscore.WithoutRouterPenalties()},
			{inspectOpts[0], fastRouter()},
			{inspectOpts[1]},
			{inspectOpts[2], peerscore.WithoutRouterPenalties()},
		} {
			s, err := peerscore.New(leakParams(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
			s.Start(context.Background())
			s.Start(context.Background())
			want := 1
			if i >= 3 {
				want = 2
			}
			requireOurGoroutines(t, base, want, "running")
			time.Sleep(20 * time.Millisecond) // let tickers fire
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			requireOurGoroutines(t, base, 0, "after Close")
			s.Start(context.Background()) // after Close: nothing starts
			requireOurGoroutines(t, base, 0, "Start after Close")
		}
		if calls.Load() == 0 {
			t.Error("the inspection callbacks never ran: the check did not see a running loop")
		}
	})
}

// requireEndsWithContext calls start with a context of its own, requires
// the n goroutines of ours it starts, then ends the context and requires
// them gone. what names the component in failures.
func requireEndsWithContext(t *testing.T, base map[string]string, n int, what string, start func(context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	start(ctx)
	requireOurGoroutines(t, base, n, what+" running")
	cancel()
	requireOurGoroutines(t, base, 0, "after "+what+"'s context ended")
}

// TestLeakContextCancel: when Start's context ends, the goroutines end by
// themselves, without Close.
func TestLeakContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := ourGoroutines()
		s, err := peerscore.New(leakParams(), fastRouter(),
			peerscore.WithInspect(func(map[peer.ID]float64) {}, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		requireEndsWithContext(t, base, 2, "the scorer", s.Start)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLeakCloseDuringCallback: Close does not wait for an inspection
// callback in flight (see "Start, Close and callbacks"), but the
// callback's goroutine ends as soon as the callback returns; and many
// scorers started and closed concurrently leave nothing behind.
func TestLeakCloseDuringCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := ourGoroutines()
		var inCallback atomic.Int32
		entered := make(chan struct{}, 1)
		s, err := peerscore.New(leakParams(), peerscore.WithInspect(func(map[peer.ID]peerscore.Snapshot) {
			inCallback.Add(1)
			select {
			case entered <- struct{}{}:
			default:
			}
			time.Sleep(50 * time.Millisecond)
			inCallback.Add(-1)
		}, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		s.Start(context.Background())
		<-entered
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := inCallback.Load(); n != 1 {
			t.Fatalf("%d inspection callbacks running as Close returned, want the one Close did not wait for", n)
		}
		requireOurGoroutines(t, base, 1, "after Close, with the callback still running")
		time.Sleep(50 * time.Millisecond)
		requireOurGoroutines(t, base, 0, "once the callback returned")
		if n := inCallback.Load(); n != 0 {
			t.Fatalf("%d inspection callbacks after Close", n)
		}

		var wg sync.WaitGroup
		scorers := make([]*peerscore.Scorer, 20)
		for i := range scorers {
			scorers[i], err = peerscore.New(leakParams(), fastRouter(),
				peerscore.WithInspect(func(map[peer.ID]float64) {}, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range scorers {
			wg.Go(func() { s.Start(context.Background()) })
		}
		wg.Wait()
		requireOurGoroutines(t, base, 2*len(scorers), "20 scorers running")
		for _, s := range scorers {
			wg.Go(func() { _ = s.Close() })
			wg.Go(func() { _ = s.Close() })
		}
		wg.Wait()
		requireOurGoroutines(t, base, 0, "after closing 20 scorers")
	})
}

// TestLeakMonitorClose: the ban Monitor's goroutine ends with Close, and
// with its context.
func TestLeakMonitorClose(t *testing.T) {
	mn := mocknet.New()
	defer func() { _ = mn.Close() }()
	h, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		base := ourGoroutines()
		s, err := peerscore.New(leakParams())
		if err != nil {
			t.Fatal(err)
		}
		m, err := ban.NewMonitor(h, s, ban.NewGater(), ban.WithCheckInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		m.Start(context.Background())
		s.Start(context.Background())
		requireOurGoroutines(t, base, 2, "monitor and scorer running")
		time.Sleep(10 * time.Millisecond)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		requireOurGoroutines(t, base, 0, "after Close")

		m2, err := ban.NewMonitor(h, s, ban.NewGater(), ban.WithCheckInterval(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		requireEndsWithContext(t, base, 1, "the monitor", m2.Start)
		_ = m2.Close()
	})
}
