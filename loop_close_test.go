package peerscore_test

// Close and the callbacks that run on the background goroutines it waits
// for. Close from outside waits for a running callback, every time it is
// called; Close from inside a callback returns (it cannot wait for itself)
// and the loop ends with the callback. Every wait is bounded by the
// synctest bubble: Close runs on a goroutine of its own, and after
// synctest.Wait it has returned or is durably blocked, which the tests
// tell apart without sleeping for real.

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// closeAsync runs closeFn on a goroutine of its own and returns a channel
// closed when it has returned.
func closeAsync(closeFn func() error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = closeFn()
	}()
	return done
}

// hasReturned reports whether done is closed, once every goroutine of the
// bubble has run as far as it can.
func hasReturned(done <-chan struct{}) bool {
	synctest.Wait()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// runCount counts callback runs.
type runCount struct{ n atomic.Int64 }

func (c *runCount) get() int64 { return c.n.Load() }

// fall makes p fall through zero, gossip, publish and graylist in one
// event (scoretest.SteepParams: one invalid message costs 100): four
// crossings.
func fall(s *peerscore.Scorer, p peer.ID, id string) {
	s.Tracer().ValidateMessage(scoretest.Msg("t", id, p))
	s.Tracer().RejectMessage(scoretest.Msg("t", id, p), pubsub.RejectValidationFailed)
}

func zeroApp(peer.ID) float64 { return 0 }

// An inspection callback that calls Close: Close returns, no further
// inspection runs, and Close from outside returns too.
func TestCloseFromInspectCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls runCount
		closed := make(chan struct{})
		var s *peerscore.Scorer
		s, err := peerscore.New(scoretest.SteepParams(zeroApp), peerscore.WithInspect(func(map[peer.ID]float64) {
			if calls.n.Add(1) == 1 {
				_ = s.Close()
				close(closed)
			}
		}, time.Second))
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		s.Start(context.Background())

		time.Sleep(time.Second)
		require.True(t, hasReturned(closed), "Close called from the inspection callback did not return")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, calls.get(), "inspections after Close")
		require.True(t, hasReturned(closeAsync(s.Close)), "Close from outside after a Close from the callback")
	})
}

// A threshold-event callback that calls Close: Close returns, and the
// three other crossings of the same fall are not reported.
func TestCloseFromThresholdEventCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log scoretest.EventLog
		closed := make(chan struct{})
		var s *peerscore.Scorer
		s, err := peerscore.New(scoretest.SteepParams(zeroApp), peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(func(e peerscore.ThresholdEvent) {
			log.Add(e)
			_ = s.Close()
			select {
			case <-closed:
			default:
				close(closed)
			}
		}))
		require.NoError(t, err)
		s.Start(context.Background())
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		fall(s, "A", "m1")
		time.Sleep(100 * time.Millisecond) // the watcher's next poll
		require.True(t, hasReturned(closed), "Close called from the event callback did not return")

		fall(s, "A", "m2")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		events, _ := log.Take()
		require.Len(t, events, 1, "crossings reported after Close: %+v", events)
		require.Equal(t, peerscore.ThresholdZero, events[0].Threshold)
		require.True(t, hasReturned(closeAsync(s.Close)))
	})
}

// Close from a callback waits for the rest of the loop: an event callback
// still running holds it up until it returns.
func TestCloseFromCallbackWaitsForOtherCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events runCount
		release := make(chan struct{})
		innerDone := make(chan struct{})
		var s *peerscore.Scorer
		s, err := peerscore.New(scoretest.SteepParams(zeroApp),
			peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) {
				events.n.Add(1)
				<-release
			}),
			peerscore.WithInspect(func(map[peer.ID]float64) {
				_ = s.Close()
				close(innerDone)
			}, time.Second))
		require.NoError(t, err)
		s.Start(context.Background())
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		time.Sleep(150 * time.Millisecond) // off the watcher's poll
		fall(s, "A", "m1")                 // the event callback blocks on its first crossing
		time.Sleep(100 * time.Millisecond) // the watcher's next poll
		synctest.Wait()
		require.EqualValues(t, 1, events.get())

		time.Sleep(time.Second) // the inspection calls Close
		require.False(t, hasReturned(innerDone), "Close from the inspection returned while an event callback was running")
		close(release)
		require.True(t, hasReturned(innerDone), "Close from the inspection did not return once the event callback did")
		require.EqualValues(t, 1, events.get(), "crossings reported after Close")
	})
}

// Two callbacks calling Close at the same moment: neither can wait for
// the other, and both return.
func TestCloseFromTwoCallbacksAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inEvent, inInspect := make(chan struct{}), make(chan struct{})
		var once1, once2 sync.Once
		var returned atomic.Int32
		var s *peerscore.Scorer
		s, err := peerscore.New(scoretest.SteepParams(zeroApp),
			peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) {
				once1.Do(func() { close(inEvent) })
				<-inInspect
				_ = s.Close()
				returned.Add(1)
			}),
			peerscore.WithInspect(func(map[peer.ID]float64) {
				once2.Do(func() { close(inInspect) })
				<-inEvent
				_ = s.Close()
				returned.Add(1)
			}, time.Second))
		require.NoError(t, err)
		s.Start(context.Background())
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		time.Sleep(100 * time.Millisecond)
		fall(s, "A", "m1")
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 2, returned.Load(), "Close from two callbacks at once: %d returned", returned.Load())
		require.True(t, hasReturned(closeAsync(s.Close)))
	})
}

// Close from outside waits for a callback in flight, and so does a second
// Close called while the first waits; once they return, no callback runs
// or starts.
func TestCloseWaitsForRunningCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inspections, events runCount
		release := make(chan struct{})
		s, err := peerscore.New(scoretest.SteepParams(zeroApp),
			peerscore.WithInspect(func(map[peer.ID]float64) {
				if inspections.n.Add(1) == 1 {
					<-release
				}
			}, time.Millisecond),
			peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) { events.n.Add(1) }))
		require.NoError(t, err)
		s.Start(context.Background())
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.EqualValues(t, 1, inspections.get(), "the inspection is blocked")

		first := closeAsync(s.Close)
		require.False(t, hasReturned(first), "Close returned while the inspection callback was running")
		second := closeAsync(s.Close)
		require.False(t, hasReturned(second), "a second Close returned while the inspection callback was running")
		close(release)
		require.True(t, hasReturned(first))
		require.True(t, hasReturned(second))

		// Nothing runs any more: no inspection, no event.
		fall(s, "A", "m1")
		time.Sleep(time.Minute)
		synctest.Wait()
		require.EqualValues(t, 1, inspections.get(), "inspections after Close")
		require.Zero(t, events.get(), "events after Close")
	})
}

// Callbacks that take time, stopped by Close from outside in the middle
// of one: none is running when Close returns and none starts afterwards.
func TestCloseNoCallbackAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, started, late atomic.Int64
		var closed atomic.Bool
		slow := func() {
			started.Add(1)
			running.Add(1)
			if closed.Load() {
				late.Add(1)
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
		}
		s, err := peerscore.New(scoretest.SteepParams(zeroApp),
			peerscore.WithInspect(func(map[peer.ID]peerscore.Snapshot) { slow() }, time.Millisecond),
			peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) { slow() }))
		require.NoError(t, err)
		s.Tracer().OnNewOutboundStream("A", "/meshsub/1.1.0")
		s.Start(context.Background())
		fall(s, "A", "m1") // four events at the watcher's poll (100 ms), a millisecond each
		time.Sleep(102*time.Millisecond + 500*time.Microsecond)
		require.Positive(t, running.Load(), "the test means to close during a callback")
		require.NoError(t, s.Close())
		closed.Store(true)
		require.Zero(t, running.Load(), "a callback is running after Close returned")
		n := started.Load()
		fall(s, "A", "m2")
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, n, started.Load(), "callbacks started after Close returned")
		require.Zero(t, late.Load())
	})
}
