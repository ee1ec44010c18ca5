package peerscore_test

// The message events of the tracer (tracer.go: ValidateMessage,
// DeliverMessage, RejectMessage, DuplicateMessage): P2 (first deliveries),
// P4 (invalid messages) and who pays for a rejection, by reason and in the
// odd orders a router may trace; how a message is identified; malformed
// events. The delivery records they share are in deliveries_test.go.

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
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

// TestRejectReasons tabulates who pays for a rejected message, by
// reason. Every row runs the same trace: A is first to send m, B (in the
// mesh) sends a copy while m is validated, the router rejects m with the
// row's reason, C sends two copies, the router then (unexpectedly) delivers
// m, and D (in the mesh) sends a copy after that.
func TestRejectReasons(t *testing.T) {
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

// TestRejectDarkCorners replays, phase by phase, the unusual orders in
// which a router may trace a message, clearing the delivery record between
// phases by letting SeenMsgTTL pass and refreshing.
func TestRejectDarkCorners(t *testing.T) {
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

		// A's message validated and rejected for reason, then a copy from B.
		verdictThenCopy := func(reason string) {
			s.Tracer().ValidateMessage(m)
			s.Tracer().RejectMessage(m, reason)
			s.Tracer().DuplicateMessage(fromB)
		}

		// Throttled or ignored, then a copy from B: nobody is charged.
		for _, reason := range []string{pubsub.RejectValidationThrottled, pubsub.RejectValidationIgnored} {
			verdictThenCopy(reason)
			require.Equal(t, 0.0, s.Score("A"), reason)
			require.Equal(t, 0.0, s.Score("B"), reason)
			forgetRecords()
		}

		// Invalid, then a copy from B: both pay one (-1² each).
		verdictThenCopy(pubsub.RejectValidationFailed)
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

// TestScoreFirstDeliveries checks P2: one per message the peer was first to
// deliver, capped when incremented, halved at each Refresh and snapped to
// zero below DecayToZero.
func TestScoreFirstDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Weight 1.5, topic weight 2, cap 3: 3 points per delivery.
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.FirstTopic(2, 1.5, 3)}))
		scoretest.Connect(s, "A", "B")

		m1, m2 := scoretest.Msg("T", "m1", "A"), scoretest.Msg("T", "m2", "A")
		scoretest.Deliver(s, m1)
		scoretest.Deliver(s, m2)
		// B's copies are not first deliveries.
		s.Tracer().DuplicateMessage(scoretest.As(m1, "B"))
		s.Tracer().DuplicateMessage(scoretest.As(m2, "B"))
		ts := scoretest.Topic(t, s, "A", "T")
		require.Equal(t, 2.0, ts.FirstMessageDeliveries)
		scoretest.Near(t, 3, ts.P2, "P2 = 1.5 * 2")
		scoretest.Near(t, 6, ts.Score, "topic score = 2 * 3")
		scoretest.Near(t, 6, s.Score("A"), "score")
		require.Equal(t, 0.0, scoretest.Topic(t, s, "B", "T").FirstMessageDeliveries)
		require.Equal(t, 0.0, s.Score("B"))

		// Three more would make 5; the cap keeps 3.
		scoretest.DeliverN(s, "T", "x", "A", 3)
		require.Equal(t, 3.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 9, s.Score("A"), "capped: 2 * 1.5 * 3")

		// Halved to 1.5; one delivery makes 2.5; the next would make
		// 3.5 and is capped at 3 (the cap applies on each increment).
		s.Refresh()
		require.Equal(t, 1.5, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 4.5, s.Score("A"), "after one decay")
		scoretest.DeliverN(s, "T", "y", "A", 1)
		scoretest.Near(t, 7.5, s.Score("A"), "2.5 deliveries")
		scoretest.DeliverN(s, "T", "z", "A", 1)
		require.Equal(t, 3.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)

		// 3 * 0.5^8 = 0.01171875 still counts; the ninth halving snaps.
		for range 8 {
			s.Refresh()
		}
		require.Equal(t, 0.01171875, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		scoretest.Near(t, 2*1.5*0.01171875, s.Score("A"), "tiny but not zero")
		s.Refresh()
		require.Equal(t, 0.0, scoretest.Topic(t, s, "A", "T").FirstMessageDeliveries)
		require.Equal(t, 0.0, s.Score("A"))

		// A peer the scorer does not know earns nothing and is not
		// created by a delivery.
		scoretest.Deliver(s, scoretest.Msg("T", "stranger", "Z"))
		scoretest.RequireUnknown(t, s, "Z")
	})
}

// TestMessageIDs checks how messages are identified: Message.ID when
// set, otherwise the WithMsgIDFn function or pubsub's default (From then
// Seqno); and that the scorer never writes Message.ID.
func TestMessageIDs(t *testing.T) {
	topic := "T"
	newMsg := func(id, from, seqno, data string, receivedFrom peer.ID) *pubsub.Message {
		return &pubsub.Message{
			Message:      &pb.Message{Topic: &topic, From: []byte(from), Seqno: []byte(seqno), Data: []byte(data)},
			ID:           id,
			ReceivedFrom: receivedFrom,
		}
	}
	// Each case rejects a first message from A as invalid, then shows
	// the scorer a copy from B and a different message from C: whoever
	// sent "the same message" is charged, whoever did not is not.
	run := func(t *testing.T, opts []peerscore.Option, first, same, other *pubsub.Message) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}), opts...)
		scoretest.Connect(s, "A", "B", "C")
		s.Tracer().ValidateMessage(first)
		s.Tracer().RejectMessage(first, pubsub.RejectValidationFailed)
		s.Tracer().DuplicateMessage(same)
		s.Tracer().DuplicateMessage(other)
		scoretest.Near(t, -1, s.Score("A"), "sender")
		scoretest.Near(t, -1, s.Score("B"), "copy of the same message")
		require.Equal(t, 0.0, s.Score("C"), "another message")
	}

	t.Run("Message.ID wins over From and Seqno", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			run(t, nil,
				newMsg("id-1", "x", "1", "d", "A"),
				newMsg("id-1", "y", "2", "e", "B"), // other fields, same ID
				newMsg("id-2", "x", "1", "d", "C"), // same fields, other ID
			)
		})
	})

	t.Run("default: From and Seqno", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			first := newMsg("", "x", "1", "d", "A")
			same := newMsg("", "x", "1", "other data", "B")
			other := newMsg("", "x", "2", "d", "C")
			run(t, nil, first, same, other)
			require.Empty(t, first.ID, "the scorer must not write Message.ID")
			require.Empty(t, same.ID)
			require.Empty(t, other.ID)
		})
	})

	t.Run("WithMsgIDFn when Message.ID is empty", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			byData := func(m *pb.Message) string {
				mu.Lock()
				calls++
				mu.Unlock()
				return "data:" + string(m.GetData())
			}
			first := newMsg("", "x", "1", "d", "A")
			same := newMsg("", "y", "9", "d", "B")
			other := newMsg("", "x", "1", "e", "C")
			run(t, []peerscore.Option{peerscore.WithMsgIDFn(byData)}, first, same, other)
			require.Empty(t, first.ID, "the scorer must not write Message.ID")
			mu.Lock()
			require.Positive(t, calls)
			mu.Unlock()
		})
	})

	t.Run("WithMsgIDFn is not used when Message.ID is set", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			never := func(*pb.Message) string {
				t.Error("the ID function was called for a message with an ID")
				return "never"
			}
			run(t, []peerscore.Option{peerscore.WithMsgIDFn(never)},
				newMsg("id-1", "x", "1", "d", "A"),
				newMsg("id-1", "y", "2", "e", "B"),
				newMsg("id-2", "x", "1", "d", "C"),
			)
		})
	})

	t.Run("nil function", func(t *testing.T) {
		_, err := peerscore.New(scoretest.Params(nil), peerscore.WithMsgIDFn(nil))
		require.ErrorContains(t, err, "WithMsgIDFn")
	})
}

// TestTracerIgnoresMalformedEvents checks that nil messages, messages
// without a protobuf, and events about unknown peers or topics neither
// panic nor change anything.
func TestTracerIgnoresMalformedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{"T": scoretest.InvalidTopic(1, -1)}))
		scoretest.Connect(s, "A")
		empty := &pubsub.Message{ReceivedFrom: "A"}
		for _, m := range []*pubsub.Message{nil, empty} {
			s.Tracer().ValidateMessage(m)
			s.Tracer().DeliverMessage(m)
			s.Tracer().DuplicateMessage(m)
			for _, reason := range []string{pubsub.RejectValidationFailed, pubsub.RejectInvalidSignature} {
				s.Tracer().RejectMessage(m, reason)
			}
		}
		s.Tracer().Graft("nobody", "T")
		s.Tracer().Prune("nobody", "T")
		s.Tracer().OnClosedOutboundStream("nobody")
		s.Tracer().Graft("A", "unscored")
		s.Tracer().Prune("A", "unscored")
		s.Refresh()

		scoretest.RequireUnknown(t, s, "nobody")
		snap := scoretest.Snap(t, s, "A")
		require.Empty(t, snap.Topics)
		require.Equal(t, 0.0, snap.Score)
	})
}
