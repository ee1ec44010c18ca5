// Package closetest checks the module's Close contract ("Start, Close and
// callbacks" in the package documentation of peerscore) on every component
// that keeps it, so that the contract's tests are written once: each
// component is described by a Component (components.go), its package's
// tests call Run on it, and this package's own test runs Pairs on all of
// them.
//
// Every case runs in a synctest bubble: Close runs on a goroutine of its
// own where it might block, and after synctest.Wait it has returned or is
// durably blocked, which the cases tell apart without sleeping for real.
package closetest

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/bubble"
	"github.com/peerscore/peerscore/internal/testnet"
)

// Component describes one kind of component to the contract.
type Component struct {
	Name string
	// Period is the longest a started component takes to do a step of its
	// work (to make Work grow) and to call each kind of callback once.
	Period time.Duration
	// Callbacks names its kinds of callback; none for a component that
	// calls no code of the user's.
	Callbacks []string
	// New builds a component in the running bubble. Its callback of the
	// named kind ("" for none) calls fn each time the component calls it,
	// then does what a harmless callback of that kind does; its other
	// callbacks, if any, do nothing.
	New func(t *testing.T, callback string, fn func()) *Subject
}

// Subject is one component New built.
type Subject struct {
	Start func(context.Context)
	Close func() error
	// Work tells how much of its own background work the component has
	// done: it grows within every Period while the work runs.
	Work func() int
	// Hold, if set, makes the work's next step block until release is
	// called, after counting in Work; nil for a component with no step a
	// test can hold.
	Hold func() (release func())
	// Check, if set, checks what Close must leave behind (a Tagger: no
	// tag); it is called once Close has returned.
	Check func(t *testing.T)
}

// Run checks c against the contract.
func Run(t *testing.T, c Component) {
	kind := ""
	if len(c.Callbacks) > 0 {
		kind = c.Callbacks[0]
	}
	t.Run("start and close", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { startAndClose(t, c, kind) }) })
	t.Run("context", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { contextEnds(t, c, kind) }) })
	t.Run("close waits for the work", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { waitsForWork(t, c) }) })
	for _, kind := range c.Callbacks {
		t.Run(kind, func(t *testing.T) {
			t.Run("close from the callback", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { closeFromCallback(t, c, kind) }) })
			t.Run("close does not wait for it", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { closeDoesNotWait(t, c, kind) }) })
			t.Run("no call after close", func(t *testing.T) { testnet.Bubble(t, func(t *testing.T) { noCallAfterClose(t, c, kind) }) })
		})
	}
}

// counter counts callback calls.
type counter struct{ n atomic.Int64 }

func (c *counter) add() int64 { return c.n.Add(1) }
func (c *counter) get() int64 { return c.n.Load() }

// settle lets d of bubble time pass and every goroutine run as far as it
// can.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// closeAsync calls s.Close on a goroutine of its own and returns a
// channel closed when it has returned.
func closeAsync(s *Subject) <-chan struct{} { return bubble.Go(func() { _ = s.Close() }) }

// waitFor fails the test unless ch is closed within d of bubble time.
func waitFor(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("not within %v: %s", d, what)
	}
}

func check(t *testing.T, s *Subject) {
	t.Helper()
	if s.Check != nil {
		s.Check(t)
	}
}

// stopped checks that neither the work nor the callbacks go on.
func stopped(t *testing.T, c Component, s *Subject, calls *counter, what string) {
	t.Helper()
	work, n := s.Work(), calls.get()
	settle(3 * c.Period)
	require.Equal(t, work, s.Work(), "work %s", what)
	require.Equal(t, n, calls.get(), "callbacks %s", what)
}

// Start after Close does nothing; a second Start adds nothing to the
// first; Close twice is fine; nothing runs after Close.
func startAndClose(t *testing.T, c Component, kind string) {
	ctx := context.Background()
	var calls counter
	s := c.New(t, kind, func() { calls.add() })
	require.NoError(t, s.Close())
	s.Start(ctx)
	stopped(t, c, s, &calls, "after Start after Close")
	check(t, s)
	require.NoError(t, s.Close())

	var onceCalls, twiceCalls counter
	once := c.New(t, kind, func() { onceCalls.add() })
	twice := c.New(t, kind, func() { twiceCalls.add() })
	once.Start(ctx)
	twice.Start(ctx)
	twice.Start(ctx)
	settle(3*c.Period + c.Period/2)
	require.Positive(t, once.Work(), "no work done in three periods")
	require.Equal(t, once.Work(), twice.Work(), "work started twice against once")
	require.Equal(t, onceCalls.get(), twiceCalls.get(), "callbacks started twice against once")
	if kind != "" {
		require.Positive(t, onceCalls.get(), "no callback in three periods")
	}
	for _, sc := range []struct {
		s     *Subject
		calls *counter
	}{{once, &onceCalls}, {twice, &twiceCalls}} {
		require.NoError(t, sc.s.Close())
		require.NoError(t, sc.s.Close())
		check(t, sc.s)
		stopped(t, c, sc.s, sc.calls, "after Close")
		sc.s.Start(ctx)
		stopped(t, c, sc.s, sc.calls, "after Start after Close")
	}
}

// The work ends with Start's context; Close then returns.
func contextEnds(t *testing.T, c Component, kind string) {
	var calls counter
	s := c.New(t, kind, func() { calls.add() })
	ctx, cancel := context.WithCancel(context.Background())
	s.Start(ctx)
	settle(c.Period + c.Period/2)
	require.Positive(t, s.Work())
	cancel()
	synctest.Wait()
	stopped(t, c, s, &calls, "after the context ended")
	require.True(t, bubble.Returned(closeAsync(s)), "Close after the context ended")
	check(t, s)
}

// Close waits for the work's step under way, every Close does, and both
// return once it is done.
func waitsForWork(t *testing.T, c Component) {
	s := c.New(t, "", func() {})
	if s.Hold == nil {
		require.NoError(t, s.Close())
		t.Skip("no step of the work to hold")
	}
	s.Start(context.Background())
	before := s.Work()
	release := s.Hold()
	settle(2 * c.Period)
	require.Greater(t, s.Work(), before, "the work never reached the held step")
	first, second := closeAsync(s), closeAsync(s)
	require.False(t, bubble.Returned(first), "Close returned during a step of the work")
	require.False(t, bubble.Returned(second), "a second Close returned during a step of the work")
	release()
	require.True(t, bubble.Returned(first), "Close did not return once the step was done")
	require.True(t, bubble.Returned(second), "a second Close did not return once the step was done")
	var none counter
	stopped(t, c, s, &none, "after Close")
	check(t, s)
}

// A callback calls Close: Close returns, nothing runs afterwards, not even
// the rest of the work that called the callback; a Close from outside
// returns too.
func closeFromCallback(t *testing.T, c Component, kind string) {
	var s *Subject
	var calls counter
	var workAfter int
	closed := make(chan struct{})
	s = c.New(t, kind, func() {
		if calls.add() == 1 {
			assert.NoError(t, s.Close())
			workAfter = s.Work()
			close(closed)
		}
	})
	s.Start(context.Background())
	waitFor(t, closed, 5*c.Period, "the callback called Close and Close returned")
	require.EqualValues(t, 1, calls.get())
	stopped(t, c, s, &calls, "after Close from a callback")
	require.Equal(t, workAfter, s.Work(), "work after Close from a callback returned")
	require.True(t, bubble.Returned(closeAsync(s)), "Close from outside after Close from a callback")
	check(t, s)
}

// Close from outside returns while a callback runs, and so does a second
// one; when the callback returns, neither the work nor any callback goes
// on.
func closeDoesNotWait(t *testing.T, c Component, kind string) {
	entered, release := make(chan struct{}), make(chan struct{})
	var calls counter
	s := c.New(t, kind, func() {
		if calls.add() == 1 {
			close(entered)
			<-release
		}
	})
	s.Start(context.Background())
	waitFor(t, entered, 5*c.Period, "the callback was called")
	first, second := closeAsync(s), closeAsync(s)
	require.True(t, bubble.Returned(first), "Close waited for a running callback")
	require.True(t, bubble.Returned(second), "a second Close waited for a running callback")
	check(t, s)
	work := s.Work()
	close(release)
	stopped(t, c, s, &calls, "once the callback running at Close returned")
	require.EqualValues(t, 1, calls.get(), "callbacks called after Close returned")
	require.Equal(t, work, s.Work(), "work once the callback running at Close returned")
}

// Callbacks that take time, Close from outside at some moment of the work:
// once Close has returned (and a callback called just before it has
// begun), no callback is called and the work does nothing.
func noCallAfterClose(t *testing.T, c Component, kind string) {
	var calls counter
	s := c.New(t, kind, func() {
		calls.add()
		time.Sleep(c.Period / 4)
	})
	s.Start(context.Background())
	settle(2*c.Period + c.Period/3)
	require.NoError(t, s.Close())
	synctest.Wait()
	require.Positive(t, calls.get(), "no callback before Close")
	stopped(t, c, s, &calls, "after Close returned")
	check(t, s)
}

// Pairs checks, for every two kinds of callback of cs (of one component
// or two, the same kind included), two components whose callbacks, each
// called while the other is running, close both components: each Close
// runs in a callback the other Close would wait for, if Close waited for
// callbacks, and every Close returns.
func Pairs(t *testing.T, cs ...Component) {
	type kind struct {
		c    Component
		name string
	}
	var kinds []kind
	for _, c := range cs {
		for _, k := range c.Callbacks {
			kinds = append(kinds, kind{c, k})
		}
	}
	for i, a := range kinds {
		for _, b := range kinds[i:] {
			name := a.c.Name + " " + a.name + ", " + b.c.Name + " " + b.name
			t.Run(name, func(t *testing.T) {
				testnet.Bubble(t, func(t *testing.T) { pair(t, a.c, a.name, b.c, b.name) })
			})
		}
	}
}

func pair(t *testing.T, a Component, ka string, b Component, kb string) {
	period := max(a.Period, b.Period)
	inA, inB := make(chan struct{}), make(chan struct{})
	var sa, sb *Subject
	var closes atomic.Int32
	closeBoth := func(mine, theirs chan struct{}) func() {
		var first atomic.Bool
		return func() {
			if !first.CompareAndSwap(false, true) {
				return
			}
			close(mine)
			select {
			case <-theirs:
			case <-time.After(5 * period):
				t.Errorf("the other callback was not called")
			}
			assert.NoError(t, sa.Close())
			assert.NoError(t, sb.Close())
			closes.Add(1)
		}
	}
	sa = a.New(t, ka, closeBoth(inA, inB))
	sb = b.New(t, kb, closeBoth(inB, inA))
	sa.Start(context.Background())
	sb.Start(context.Background())
	settle(10 * period)
	require.EqualValues(t, 2, closes.Load(), "the callbacks' Close calls did not all return")
	require.True(t, bubble.Returned(closeAsync(sa)))
	require.True(t, bubble.Returned(closeAsync(sb)))
	check(t, sa)
	check(t, sb)
}
