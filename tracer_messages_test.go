package peerscore_test

// P4 (invalid messages), the rejection reasons, the corner cases of
// rejection tracing, and the expiry of delivery records.

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreInvalidMessagesSquaredAndDecay checks the P4 formula, weight ×
// counter², and the counter's decay down to a snap to zero.
func TestScoreInvalidMessagesSquaredAndDecay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(0.5, -2)}))
		scoretest.Connect(s, "A")
		for _, id := range []string{"x", "y", "z"} {
			m := scoretest.Msg("T", id, "A")
			s.Tracer().ValidateMessage(m)
			s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
		}
		// Three invalid messages: P4 = -2 * 3² = -18, topic score -9.
		ts := scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 3.0, ts.InvalidMessageDeliveries)
		scoretest.Near(t, -18, ts.P4, "P4")
		scoretest.Near(t, -9, ts.Score, "topic score")
		scoretest.Near(t, -9, s.Score("A"), "score")

		// One halving: counter 1.5, P4 = -2 * 2.25 = -4.5, score -2.25.
		s.Refresh()
		require.Equal(t, 1.5, scoretest.Topic(t, s, "A", "T").InvalidMessageDeliveries)
		scoretest.Near(t, -2.25, s.Score("A"), "after one decay")

		// 3 * 0.5^8 = 0.01171875 is above 0.01; the ninth halving snaps.
		for range 7 {
			s.Refresh()
		}
		require.Equal(t, 0.01171875, scoretest.Topic(t, s, "A", "T").InvalidMessageDeliveries)
		s.Refresh()
		require.Equal(t, 0.0, scoretest.Topic(t, s, "A", "T").InvalidMessageDeliveries)
		require.Equal(t, 0.0, s.Score("A"))
	})
}

// TestScoreRejectReasons tabulates who pays for a rejected message, by
// reason. Every row runs the same trace: A is first to send m, B (in the
// mesh) sends a copy while m is validated, the router rejects m with the
// row's reason, C sends two copies, the router then (unexpectedly) delivers
// m, and D (in the mesh) sends a copy after that.
func TestScoreRejectReasons(t *testing.T) {
	type want struct {
		invA, invB, invC, invD float64 // P4 counters
		meshB, meshD           float64 // P3 counters: credit when m ends up valid
		scoreA, scoreB         float64
		scoreC, scoreD         float64
	}
	// A always earns one first delivery (+1): the router delivered m
	// from it, and DeliverMessage credits the sender whatever the record
	// says, as pubsub does.
	failed := want{invA: 1, invB: 1, invC: 2, invD: 1, scoreA: 1 - 1, scoreB: -1, scoreC: -4, scoreD: -1}
	// Throttled or ignored: nobody pays, and the record is decided, so
	// the late delivery changes nothing either.
	nobody := want{scoreA: 1}
	// Signature and self-origin failures charge A but do not touch the
	// record: it is still open when m is delivered, so B's and D's
	// copies earn mesh credit.
	senderOnly := want{invA: 1, meshB: 1, meshD: 1, scoreA: 1 - 1}
	// Refused before validation: no change at all; the record behaves
	// as if the rejection had not happened.
	unchanged := want{meshB: 1, meshD: 1, scoreA: 1}
	rows := []struct {
		reason string
		want   want
	}{
		{pubsub.RejectValidationFailed, failed},
		{"a reason pubsub has not named", failed},
		{pubsub.RejectValidationThrottled, nobody},
		{pubsub.RejectValidationIgnored, nobody},
		{pubsub.RejectMissingSignature, senderOnly},
		{pubsub.RejectInvalidSignature, senderOnly},
		{pubsub.RejectUnexpectedSignature, senderOnly},
		{pubsub.RejectUnexpectedAuthInfo, senderOnly},
		{pubsub.RejectSelfOrigin, senderOnly},
		{pubsub.RejectBlacklstedPeer, unchanged},
		{pubsub.RejectBlacklistedSource, unchanged},
		{pubsub.RejectValidationQueueFull, unchanged},
	}
	for _, row := range rows {
		t.Run(row.reason, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// P2 weight 1; P3 weight -1, never active within the
				// test (activation 1m); P4 weight -1.
				s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": {
					SkipAtomicValidation:            true,
					TopicWeight:                     1,
					FirstMessageDeliveriesWeight:    1,
					FirstMessageDeliveriesDecay:     0.5,
					FirstMessageDeliveriesCap:       100,
					MeshMessageDeliveriesWeight:     -1,
					MeshMessageDeliveriesDecay:      0.5,
					MeshMessageDeliveriesCap:        10,
					MeshMessageDeliveriesThreshold:  1,
					MeshMessageDeliveriesWindow:     5 * time.Millisecond,
					MeshMessageDeliveriesActivation: time.Minute,
					InvalidMessageDeliveriesWeight:  -1,
					InvalidMessageDeliveriesDecay:   0.5,
				}}))
				scoretest.Connect(s, "A", "B", "C", "D")
				s.Tracer().Graft("B", "T")
				s.Tracer().Graft("D", "T")

				m := scoretest.Msg("T", "m", "A")
				s.Tracer().ValidateMessage(m)
				s.Tracer().DuplicateMessage(scoretest.As(m, "B"))
				s.Tracer().RejectMessage(m, row.reason)
				s.Tracer().DuplicateMessage(scoretest.As(m, "C"))
				s.Tracer().DuplicateMessage(scoretest.As(m, "C"))
				s.Tracer().DeliverMessage(m)
				s.Tracer().DuplicateMessage(scoretest.As(m, "D"))

				w := row.want
				a, b := scoretest.Topic(t, s, "A", "T"), scoretest.Topic(t, s, "B", "T")
				require.Equal(t, 1.0, a.FirstMessageDeliveries, "A's first delivery")
				require.Equal(t, w.invA, a.InvalidMessageDeliveries, "A's invalid counter")
				require.Equal(t, w.invB, b.InvalidMessageDeliveries, "B's invalid counter")
				require.Equal(t, w.meshB, b.MeshMessageDeliveries, "B's mesh counter")
				if snap, ok := scoretest.Snap(t, s, "C").Topics["T"]; ok || w.invC != 0 {
					require.True(t, ok, "C has been charged, so it has stats")
					require.Equal(t, w.invC, snap.InvalidMessageDeliveries, "C's invalid counter")
				}
				d := scoretest.Topic(t, s, "D", "T")
				require.Equal(t, w.invD, d.InvalidMessageDeliveries, "D's invalid counter")
				require.Equal(t, w.meshD, d.MeshMessageDeliveries, "D's mesh counter")
				scoretest.Near(t, w.scoreA, s.Score("A"), "A's score")
				scoretest.Near(t, w.scoreB, s.Score("B"), "B's score")
				scoretest.Near(t, w.scoreC, s.Score("C"), "C's score")
				scoretest.Near(t, w.scoreD, s.Score("D"), "D's score")
			})
		})
	}
}

// TestScoreRejectDarkCorners replays, phase by phase, the unusual orders in
// which a router may trace a message, clearing the delivery record between
// phases by letting SeenMsgTTL pass and refreshing.
func TestScoreRejectDarkCorners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 10 * time.Second
		params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)})
		params.SeenMsgTTL = ttl
		s := scoretest.New(t, params)
		scoretest.Connect(s, "A", "B", "C")
		m := scoretest.Msg("T", "m", "A")
		fromB := scoretest.As(m, "B")
		forgetRecords := func() {
			time.Sleep(ttl + time.Millisecond)
			s.Refresh()
		}

		// Refusals before validation: no record, no charge.
		s.Tracer().RejectMessage(m, pubsub.RejectBlacklstedPeer)
		s.Tracer().RejectMessage(m, pubsub.RejectBlacklistedSource)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationQueueFull)
		require.Equal(t, 0.0, s.Score("A"))

		// Throttled, then a copy from B: nobody is charged.
		s.Tracer().ValidateMessage(m)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationThrottled)
		s.Tracer().DuplicateMessage(fromB)
		require.Equal(t, 0.0, s.Score("A"))
		require.Equal(t, 0.0, s.Score("B"))
		forgetRecords()

		// Ignored, then a copy from B: nobody is charged.
		s.Tracer().ValidateMessage(m)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationIgnored)
		s.Tracer().DuplicateMessage(fromB)
		require.Equal(t, 0.0, s.Score("A"))
		require.Equal(t, 0.0, s.Score("B"))
		forgetRecords()

		// Invalid, then a copy from B: both pay one (-1² each).
		s.Tracer().ValidateMessage(m)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
		s.Tracer().DuplicateMessage(fromB)
		scoretest.Near(t, -1, s.Score("A"), "A, copy after the verdict")
		scoretest.Near(t, -1, s.Score("B"), "B, copy after the verdict")
		// The refresh halves both counters to 0.5.
		forgetRecords()

		// A copy from B while validating, then invalid: both pay again,
		// counters 1.5, P4 = -2.25.
		s.Tracer().ValidateMessage(m)
		s.Tracer().DuplicateMessage(fromB)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
		scoretest.Near(t, -2.25, s.Score("A"), "A, copy before the verdict")
		scoretest.Near(t, -2.25, s.Score("B"), "B, copy before the verdict")

		// A second rejection of the same message is not a second offence.
		s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
		scoretest.Near(t, -2.25, s.Score("A"), "A, rejected twice")
		// B's repeated copy is charged again, as is A's own copy: after
		// an invalid verdict every copy costs (counters 2.5: -6.25).
		s.Tracer().DuplicateMessage(fromB)
		s.Tracer().DuplicateMessage(m)
		scoretest.Near(t, -6.25, s.Score("A"), "A's own copy after the verdict")
		scoretest.Near(t, -6.25, s.Score("B"), "B's second copy after the verdict")
		// A delivery trace after the verdict does not make the message
		// valid: C's copy is still charged.
		s.Tracer().DeliverMessage(m)
		s.Tracer().DuplicateMessage(scoretest.As(m, "C"))
		scoretest.Near(t, -1, s.Score("C"), "C's copy after a delivery trace of an invalid message")

		// The reverse: a message delivered first and rejected afterwards
		// stays valid; neither the sender nor later copies are charged.
		m2 := scoretest.Msg("T", "m2", "A")
		scoretest.Deliver(s, m2)
		s.Tracer().RejectMessage(m2, pubsub.RejectValidationFailed)
		s.Tracer().DuplicateMessage(scoretest.As(m2, "C"))
		require.Equal(t, 2.5, scoretest.Topic(t, s, "A", "T").InvalidMessageDeliveries)
		require.Equal(t, 1.0, scoretest.Topic(t, s, "C", "T").InvalidMessageDeliveries)
	})
}

// TestScoreDeliveryRecordExpiry checks that a delivery record lives for
// SeenMsgTTL and is dropped by the first Refresh strictly after that: a copy
// of an old invalid message then opens a new, undecided record and is not
// charged.
func TestScoreDeliveryRecordExpiry(t *testing.T) {
	rows := []struct {
		name       string
		seenMsgTTL time.Duration
		lifetime   time.Duration
	}{
		{"explicit TTL", 5 * time.Second, 5 * time.Second},
		{"zero TTL means pubsub.TimeCacheDuration", 0, pubsub.TimeCacheDuration},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				params := scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)})
				params.SeenMsgTTL = row.seenMsgTTL
				s := scoretest.New(t, params)
				scoretest.Connect(s, "A", "B", "C", "D")
				m := scoretest.Msg("T", "m", "A")
				s.Tracer().ValidateMessage(m)
				s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)

				// At exactly the record's lifetime it is still kept.
				time.Sleep(row.lifetime)
				s.Refresh()
				s.Tracer().DuplicateMessage(scoretest.As(m, "B"))
				require.Equal(t, 1.0, scoretest.Topic(t, s, "B", "T").InvalidMessageDeliveries, "copy at the end of the TTL")

				// Past it, but before a Refresh, it is still there.
				time.Sleep(time.Nanosecond)
				s.Tracer().DuplicateMessage(scoretest.As(m, "C"))
				require.Equal(t, 1.0, scoretest.Topic(t, s, "C", "T").InvalidMessageDeliveries, "copy before the refresh")

				// The Refresh drops it (and halves B's and C's counters).
				s.Refresh()
				s.Tracer().DuplicateMessage(scoretest.As(m, "D"))
				s.Tracer().DuplicateMessage(scoretest.As(m, "B"))
				_, dHasStats := scoretest.Snap(t, s, "D").Topics["T"]
				require.False(t, dHasStats, "D's copy opened a new record and was not charged")
				require.Equal(t, 0.0, s.Score("D"))
				require.Equal(t, 0.5, scoretest.Topic(t, s, "B", "T").InvalidMessageDeliveries, "B is not charged either")
				scoretest.Near(t, -0.25, s.Score("B"), "B after the decay")
			})
		})
	}
}

// TestScoreMaxDeliveryRecords checks WithMaxDeliveryRecords: at the bound
// the oldest record is dropped, so a late copy of that message is no longer
// recognised as invalid.
func TestScoreMaxDeliveryRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}),
			peerscore.WithMaxDeliveryRecords(2))
		scoretest.Connect(s, "A", "B", "C", "D")
		scoretest.RejectN(s, "T", "m", "A", 3) // records m-1 and m-2 remain
		require.Equal(t, 3.0, scoretest.Topic(t, s, "A", "T").InvalidMessageDeliveries)

		s.Tracer().DuplicateMessage(scoretest.Msg("T", "m-1", "B"))
		require.Equal(t, 1.0, scoretest.Topic(t, s, "B", "T").InvalidMessageDeliveries, "m-1 is still known")
		// m-0 was dropped: C's copy opens a new record (dropping m-1)
		// and is not charged; D's copy of m-1 then is not either.
		s.Tracer().DuplicateMessage(scoretest.Msg("T", "m-0", "C"))
		s.Tracer().DuplicateMessage(scoretest.Msg("T", "m-1", "D"))
		require.Equal(t, 0.0, s.Score("C"))
		require.Equal(t, 0.0, s.Score("D"))

		_, err := peerscore.New(scoretest.Params(nil), peerscore.WithMaxDeliveryRecords(0))
		require.Error(t, err)
	})
}
