package peerscore_test

// Threshold events (threshold_events.go, WithThresholdEvents): a crossing of
// a threshold, down or up, is reported within the watcher's poll of the
// event or Refresh that caused it, with the component that drove it; none
// after Close or for a forgotten peer.

import (
	"bytes"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// eventsPolled lets the threshold watcher take its next look: it polls the
// core every 100 ms.
func eventsPolled() {
	time.Sleep(100 * time.Millisecond)
	synctest.Wait()
}

// eventAt checks that an event caused at cause was reported within the
// watcher's poll of it.
func eventAt(t *testing.T, cause, at time.Time, what string) {
	t.Helper()
	assert.Truef(t, !at.Before(cause) && at.Sub(cause) <= 100*time.Millisecond,
		"%s: reported %v after the cause", what, at.Sub(cause))
}

// steepWatched returns a scorer with scoretest.SteepParams(app) and the
// thresholds of scoretest.Thresholds, reporting threshold events to
// onEvent.
func steepWatched(t *testing.T, app func(peer.ID) float64, onEvent func(peerscore.ThresholdEvent)) *peerscore.Scorer {
	t.Helper()
	s, err := peerscore.New(scoretest.SteepParams(app), peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(onEvent))
	require.NoError(t, err)
	return s
}

func TestThresholdEventsFallAndRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log scoretest.EventLog
		zero := func(peer.ID) float64 { return 0 }
		var s *peerscore.Scorer
		s = steepWatched(t, zero, func(e peerscore.ThresholdEvent) {
			// The callback holds no lock of the scorer: calling back in must not deadlock.
			_, _ = s.Snapshot(e.Peer)
			log.Add(e)
		})
		s.Start(t.Context())
		defer s.Close()

		bad := peer.ID("bad")
		s.Tracer().OnNewOutboundStream(bad, "/meshsub/1.1.0")
		time.Sleep(150 * time.Millisecond) // off the decay and poll ticks
		start := time.Now()
		s.Tracer().ValidateMessage(scoretest.Msg("t", "m1", bad))
		s.Tracer().RejectMessage(scoretest.Msg("t", "m1", bad), pubsub.RejectValidationFailed) // counter 1: -100
		eventsPolled()

		events, at := log.Take()
		require.Len(t, events, 4, "zero, gossip, publish and graylist, in that order")
		want := []peerscore.Threshold{peerscore.ThresholdZero, peerscore.ThresholdGossip, peerscore.ThresholdPublish, peerscore.ThresholdGraylist}
		levels := []float64{0, -10, -50, -80}
		for i, e := range events {
			assert.Equal(t, want[i], e.Threshold)
			assert.Equal(t, levels[i], e.Level)
			assert.True(t, e.Down)
			assert.Equal(t, bad, e.Peer)
			assert.Equal(t, 0.0, e.Old)
			assert.Equal(t, -100.0, e.New)
			assert.Equal(t, peerscore.ComponentInvalidMessages, e.Reason)
			assert.Equal(t, -100.0, e.ReasonValue)
			eventAt(t, start, at[i], "an event's crossing is reported within a poll")
		}

		// The counter halves each second: 0.5 → -25 (up through graylist
		// and publish), 0.25 → -6.25 (up through gossip), 0.125 → -1.5625,
		// 0.0625, 0.03125, 0.015625 → then below DecayToZero: 0 (up through zero).
		time.Sleep(10 * time.Second)
		synctest.Wait()
		events, at = log.Take()
		require.Len(t, events, 4)
		assert.Equal(t, []peerscore.Threshold{peerscore.ThresholdGraylist, peerscore.ThresholdPublish, peerscore.ThresholdGossip, peerscore.ThresholdZero},
			[]peerscore.Threshold{events[0].Threshold, events[1].Threshold, events[2].Threshold, events[3].Threshold})
		for _, e := range events {
			assert.False(t, e.Down)
		}
		assert.Equal(t, -100.0, events[0].Old)
		assert.Equal(t, -25.0, events[0].New)
		assert.Equal(t, -25.0, events[2].Old)
		assert.Equal(t, -6.25, events[2].New)
		assert.Equal(t, 0.0, events[3].New)
		// Each is reported within a poll of the Refresh that caused it.
		eventAt(t, start.Add(850*time.Millisecond), at[0], "first decay tick after the rejection")
		eventAt(t, start.Add(1850*time.Millisecond), at[2], "second decay tick")
		eventAt(t, start.Add(6850*time.Millisecond), at[3], "0.5^7 = 0.0078 < DecayToZero at the seventh tick")
	})
}

// A crossing caused by the application's score alone, with no event, shows
// within one DecayInterval.
func TestThresholdEventsFromAppScore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var app atomic.Value
		app.Store(0.0)
		var log scoretest.EventLog
		s := steepWatched(t, func(peer.ID) float64 { return app.Load().(float64) }, log.Add)
		s.Start(t.Context())
		defer s.Close()
		p := peer.ID("trusted")
		s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		synctest.Wait()
		events, _ := log.Take()
		assert.Empty(t, events, "a new peer at 0 crosses nothing")

		app.Store(150.0) // reaches accept PX (100)
		time.Sleep(time.Second)
		synctest.Wait()
		events, _ = log.Take()
		require.Len(t, events, 1)
		assert.Equal(t, peerscore.ThresholdAcceptPX, events[0].Threshold)
		assert.False(t, events[0].Down)
		assert.Equal(t, 150.0, events[0].New)
		assert.Equal(t, peerscore.ComponentAppSpecific, events[0].Reason)

		app.Store(-20.0) // down through accept PX, zero and gossip
		time.Sleep(time.Second)
		synctest.Wait()
		events, _ = log.Take()
		require.Len(t, events, 3)
		assert.Equal(t, peerscore.ThresholdAcceptPX, events[0].Threshold)
		assert.Equal(t, peerscore.ThresholdZero, events[1].Threshold)
		assert.Equal(t, peerscore.ThresholdGossip, events[2].Threshold)
		for _, e := range events {
			assert.True(t, e.Down)
			assert.Equal(t, 150.0, e.Old)
			assert.Equal(t, -20.0, e.New)
		}
	})
}

// Events stop with Close, and a forgotten peer's tracking ends quietly.
func TestThresholdEventsForgottenAndClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log scoretest.EventLog
		s := steepWatched(t, func(peer.ID) float64 { return 0 }, log.Add)
		s.Start(t.Context())
		bad := peer.ID("bad")
		s.Tracer().OnNewOutboundStream(bad, "/meshsub/1.1.0")
		s.Tracer().ValidateMessage(scoretest.Msg("t", "m1", bad))
		s.Tracer().RejectMessage(scoretest.Msg("t", "m1", bad), pubsub.RejectValidationFailed)
		eventsPolled()
		events, _ := log.Take()
		require.Len(t, events, 4)

		s.Tracer().OnClosedOutboundStream(bad) // retained: frozen at -100
		time.Sleep(61 * time.Second)           // RetainScore passes: forgotten
		synctest.Wait()
		_, known := s.Snapshot(bad)
		require.False(t, known)
		events, _ = log.Take()
		assert.Empty(t, events, "forgetting a peer is not a crossing")

		require.NoError(t, s.Close())
		s.Tracer().OnNewOutboundStream(bad, "/meshsub/1.1.0")
		s.Tracer().ValidateMessage(scoretest.Msg("t", "m2", bad))
		s.Tracer().RejectMessage(scoretest.Msg("t", "m2", bad), pubsub.RejectValidationFailed)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		events, _ = log.Take()
		assert.Empty(t, events, "no events after Close")
	})
}

func TestThresholdEventsOptionErrors(t *testing.T) {
	p := scoretest.SteepParams(func(peer.ID) float64 { return 0 })
	_, err := peerscore.New(p, peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) {}))
	assert.ErrorContains(t, err, "WithThresholdEvents needs the thresholds", "events without thresholds")
	_, err = peerscore.New(p, peerscore.WithThresholds(nil), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) {}))
	assert.ErrorContains(t, err, "WithThresholds: nil thresholds")
	_, err = peerscore.New(p, peerscore.WithThresholds(scoretest.Thresholds()), peerscore.WithThresholdEvents(nil))
	assert.ErrorContains(t, err, "WithThresholdEvents: nil callback")
	bad := scoretest.Thresholds()
	bad.GossipThreshold = 5
	_, err = peerscore.New(p, peerscore.WithThresholds(bad), peerscore.WithThresholdEvents(func(peerscore.ThresholdEvent) {}))
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "GossipThreshold", pe.Field)
}

// The defect: at every start, restoring saved state fired "down" events
// (zero, gossip, publish, graylist, with Old = 0) for every retained peer,
// as if each had just fallen: alert noise. Restored state is no crossing:
// a restored peer's first score is where the watcher starts from, with no
// event, whether Load runs before Start or after; its later crossings are
// reported as any peer's.
func TestThresholdEventsNotFiredOnRestore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zero := func(peer.ID) float64 { return 0 }
		old := scoretest.New(t, scoretest.SteepParams(zero), peerscore.WithThresholds(scoretest.Thresholds()))
		for _, p := range []peer.ID{"early", "late"} {
			scoretest.Connect(old, p)
			old.Tracer().ValidateMessage(scoretest.Msg("t", "m-"+string(p), p))
			old.Tracer().RejectMessage(scoretest.Msg("t", "m-"+string(p), p), pubsub.RejectValidationFailed)
		}
		var saved bytes.Buffer
		require.NoError(t, old.Save(&saved))

		var log scoretest.EventLog
		s := steepWatched(t, zero, log.Add)
		require.NoError(t, s.Load(bytes.NewReader(saved.Bytes())))
		s.Start(t.Context())
		defer s.Close()
		eventsPolled()
		time.Sleep(150 * time.Millisecond) // a decay sweep too: retained peers do not decay
		synctest.Wait()
		require.Equal(t, -100.0, s.Score("early"))
		events, _ := log.Take()
		require.Empty(t, events, "a restored peer crossed nothing")

		// Loaded while running, too.
		s2 := steepWatched(t, zero, log.Add)
		s2.Start(t.Context())
		defer s2.Close()
		eventsPolled()
		require.NoError(t, s2.Load(bytes.NewReader(saved.Bytes())))
		eventsPolled()
		events, _ = log.Take()
		require.Empty(t, events, "a peer restored while running crossed nothing")

		// A restored peer that reconnects and recovers is reported rising.
		scoretest.Connect(s, "early")
		time.Sleep(3 * time.Second) // the counter halves each second: -100 → -12.5
		synctest.Wait()
		events, _ = log.Take()
		require.NotEmpty(t, events)
		for _, e := range events {
			require.False(t, e.Down)
			require.Equal(t, peer.ID("early"), e.Peer)
		}
	})
}
