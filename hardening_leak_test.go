package peerscore_test

// Leaks: after Close (or the end of Start's context) no goroutine of ours
// is left. "Ours" is any goroutine with a frame of package peerscore
// (test code excluded) in its stack; the check counts them from a full
// goroutine dump, so goroutines of other tests, of libp2p or of the
// runtime do not disturb it, and compares with the count before.

import (
	"context"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// lkOurs matches a stack frame of the library, its sub-packages included
// (not of its tests).
var lkOurs = regexp.MustCompile(`(?m)^github\.com/peerscore/peerscore(/[a-z0-9/]+)?\.`)

// lkGoroutines returns the stacks of the goroutines running library code,
// by goroutine ID.
func lkGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	ours := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if lkOurs.MatchString(g) {
			id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
			ours[id] = g
		}
	}
	return ours
}

// lkBaseline is the set of library goroutines before a test: other tests'
// goroutines that may still be winding down, which lkWaitFor ignores.
type lkBaseline map[string]string

func lkBase() lkBaseline { return lkGoroutines() }

// lkWaitFor polls (for at most 5 s) until exactly want goroutines of ours
// that were not in the baseline run, and fails with their stacks
// otherwise. A goroutine may still be unwinding for a moment after the
// WaitGroup that Close waits on is done.
func lkWaitFor(t *testing.T, base lkBaseline, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var fresh []string
		for id, g := range lkGoroutines() {
			if _, old := base[id]; !old {
				fresh = append(fresh, g)
			}
		}
		if len(fresh) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines of ours, want %d:\n\n%s", what, len(fresh), want, strings.Join(fresh, "\n\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lkParams has a fast loop: every tick of it really runs during the test.
func lkParams() *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics:               map[string]*peerscore.TopicParams{"T": scoretest.FullTopic()},
		DecayInterval:        time.Second,
		DecayToZero:          0.01,
	}
}

func lkFastRouter() peerscore.Option {
	gs := pubsub.DefaultGossipSubParams()
	gs.HeartbeatInterval = time.Millisecond
	return peerscore.WithGossipSubParams(gs)
}

func TestLeakScorerClose(t *testing.T) {
	base := lkBase()
	var calls atomic.Int64
	inspectOpts := []peerscore.Option{
		peerscore.WithInspect(func(map[peer.ID]float64) { calls.Add(1) }, time.Millisecond),
		peerscore.WithInspect(func(map[peer.ID]*pubsub.PeerScoreSnapshot) { calls.Add(1) }, time.Millisecond),
		peerscore.WithInspect(func(map[peer.ID]peerscore.Snapshot) { calls.Add(1) }, time.Millisecond),
	}

	// Never started: no goroutine at all.
	s, err := peerscore.New(lkParams())
	if err != nil {
		t.Fatal(err)
	}
	lkWaitFor(t, base, 0, "after New")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// One goroutine for the loop, one more for an inspection callback;
	// none after Close, whatever the options.
	for i, opts := range [][]peerscore.Option{
		nil,
		{lkFastRouter()},
		{peerscore.WithoutRouterPenalties()},
		{inspectOpts[0], lkFastRouter()},
		{inspectOpts[1]},
		{inspectOpts[2], peerscore.WithoutRouterPenalties()},
	} {
		s, err := peerscore.New(lkParams(), opts...)
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
		lkWaitFor(t, base, want, "running")
		time.Sleep(20 * time.Millisecond) // let tickers fire
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		lkWaitFor(t, base, 0, "after Close")
		s.Start(context.Background()) // after Close: nothing starts
		lkWaitFor(t, base, 0, "Start after Close")
	}
	if calls.Load() == 0 {
		t.Error("the inspection callbacks never ran: the check did not see a running loop")
	}
}

// TestLeakContextCancel: when Start's context ends, the goroutines end by
// themselves, without Close.
func TestLeakContextCancel(t *testing.T) {
	base := lkBase()
	s, err := peerscore.New(lkParams(), lkFastRouter(),
		peerscore.WithInspect(func(map[peer.ID]float64) {}, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	lkWaitFor(t, base, 2, "running")
	cancel()
	lkWaitFor(t, base, 0, "after the context ended")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLeakCloseWaitsForCallback: Close returns only once an inspection
// callback in flight has returned, and many scorers started and closed
// concurrently leave nothing behind.
func TestLeakCloseWaitsForCallback(t *testing.T) {
	base := lkBase()
	var inCallback atomic.Int32
	entered := make(chan struct{}, 1)
	s, err := peerscore.New(lkParams(), peerscore.WithInspect(func(map[peer.ID]peerscore.Snapshot) {
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
	if n := inCallback.Load(); n != 0 {
		t.Fatalf("Close returned with %d inspection callbacks still running", n)
	}
	lkWaitFor(t, base, 0, "after Close")

	var wg sync.WaitGroup
	scorers := make([]*peerscore.Scorer, 20)
	for i := range scorers {
		scorers[i], err = peerscore.New(lkParams(), lkFastRouter(),
			peerscore.WithInspect(func(map[peer.ID]float64) {}, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range scorers {
		wg.Go(func() { s.Start(context.Background()) })
	}
	wg.Wait()
	lkWaitFor(t, base, 2*len(scorers), "20 scorers running")
	for _, s := range scorers {
		wg.Go(func() { _ = s.Close() })
		wg.Go(func() { _ = s.Close() })
	}
	wg.Wait()
	lkWaitFor(t, base, 0, "after closing 20 scorers")
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
	base := lkBase()
	s, err := peerscore.New(lkParams())
	if err != nil {
		t.Fatal(err)
	}
	m, err := ban.NewMonitor(h, s, ban.NewGater(), ban.WithCheckInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	m.Start(context.Background())
	s.Start(context.Background())
	lkWaitFor(t, base, 2, "monitor and scorer running")
	time.Sleep(10 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lkWaitFor(t, base, 0, "after Close")

	m2, err := ban.NewMonitor(h, s, ban.NewGater(), ban.WithCheckInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m2.Start(ctx)
	lkWaitFor(t, base, 1, "monitor running")
	cancel()
	lkWaitFor(t, base, 0, "after the monitor's context ended")
	_ = m2.Close()
}
