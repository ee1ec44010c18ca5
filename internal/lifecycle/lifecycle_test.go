package lifecycle

// The mechanism alone; internal/closetest checks the contract on every
// component that uses it. Each test runs in a synctest bubble: after
// synctest.Wait every goroutine has run as far as it can, so a Close on a
// goroutine of its own has either returned or is durably blocked, which
// the tests tell apart without sleeping for real.

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/peerscore/peerscore/internal/bubble"
)

// closeAsync runs l.Close on a goroutine of its own and returns a channel
// closed when it has returned.
func closeAsync(l *Lifecycle) <-chan struct{} { return bubble.Go(l.Close) }

// Close waits for a run inside its own work, every Close does, and both
// return once the work does; Start's and Do's runs alike.
func TestCloseWaitsForWork(t *testing.T) {
	for _, viaDo := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var l Lifecycle
			release := make(chan struct{})
			work := func(*Run) { <-release }
			if viaDo {
				go l.Do(work)
			} else {
				l.Start(context.Background(), work)
			}
			synctest.Wait()
			first, second := closeAsync(&l), closeAsync(&l)
			if bubble.Returned(first) || bubble.Returned(second) {
				t.Fatalf("Close returned while a run was inside its work (Do: %v)", viaDo)
			}
			close(release)
			if !bubble.Returned(first) || !bubble.Returned(second) {
				t.Fatalf("Close did not return once the work had (Do: %v)", viaDo)
			}
		})
	}
}

// Close does not wait for user code under Call; Call then reports that the
// run must stop, and a nested Call runs nothing more.
func TestCloseDoesNotWaitForCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lifecycle
		release := make(chan struct{})
		var after, nested, more bool
		l.Start(context.Background(), func(r *Run) {
			if r.Call(func() {
				<-release
				nested = r.Call(func() { more = true })
			}) {
				after = true
			}
		})
		synctest.Wait()
		if !bubble.Returned(closeAsync(&l)) {
			t.Fatal("Close waited for user code under Call")
		}
		close(release)
		synctest.Wait()
		if after || nested || more {
			t.Fatalf("the run went on after Close: after %v, nested %v, more %v", after, nested, more)
		}
	})
}

// User code may call Close, of its own lifecycle or of another whose user
// code closes the first at the same moment: no Close waits for its caller.
func TestCloseFromCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b Lifecycle
		inA, inB := make(chan struct{}), make(chan struct{})
		var closes int
		done := make(chan struct{}, 2)
		closeBoth := func(mine, theirs chan struct{}) func(*Run) {
			return func(r *Run) {
				r.Call(func() {
					close(mine)
					<-theirs
					a.Close()
					b.Close()
					done <- struct{}{}
				})
			}
		}
		a.Start(context.Background(), closeBoth(inA, inB))
		b.Start(context.Background(), closeBoth(inB, inA))
		synctest.Wait()
		for len(done) > 0 {
			<-done
			closes++
		}
		if closes != 2 {
			t.Fatalf("%d of the 2 Close calls from user code returned", closes)
		}
	})
}

// After Close nothing starts: not Start, not Do, not Call; Start runs once
// only; a Run ends with Start's context, and Close then returns at once.
func TestNothingAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lifecycle
		ran := 0
		count := func(*Run) { ran++ }
		l.Close()
		l.Start(context.Background(), count)
		l.Do(count)
		synctest.Wait()
		if ran != 0 {
			t.Fatalf("%d runs after Close", ran)
		}

		var m Lifecycle
		ctx, cancel := context.WithCancel(context.Background())
		var calls int
		var stopped bool
		m.Start(ctx, func(r *Run) {
			<-r.Done()
			stopped = r.Stopped()
			if r.Call(func() { calls++ }) {
				calls += 10
			}
		})
		m.Start(context.Background(), count)
		cancel()
		synctest.Wait()
		if ran != 0 || calls != 0 || !stopped {
			t.Fatalf("second Start ran %d; Call after the context ended: %d calls, stopped %v", ran, calls, stopped)
		}
		if !bubble.Returned(closeAsync(&m)) {
			t.Fatal("Close after the context ended did not return")
		}
		m.Do(count)
		if ran != 0 {
			t.Fatal("Do ran after Close")
		}
	})
}

// A callback that panics under Do, recovered by Do's caller, leaves no
// run counted inside the work.
func TestPanicInCallUnderDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l Lifecycle
		func() {
			defer func() { _ = recover() }()
			l.Do(func(r *Run) { r.Call(func() { panic("user code") }) })
		}()
		func() {
			defer func() { _ = recover() }()
			l.Do(func(*Run) { panic("the work") })
		}()
		if !bubble.Returned(closeAsync(&l)) {
			t.Fatal("Close waits for a run that panicked")
		}
	})
}
