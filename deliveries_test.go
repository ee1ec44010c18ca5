package peerscore_test

// Delivery records (deliveries.go): a message's record lives for SeenMsgTTL
// and is dropped by the first Refresh after it, or earlier when
// WithMaxDeliveryRecords is reached.

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestDeliveryRecordExpiry checks that a delivery record lives for
// SeenMsgTTL and is dropped by the first Refresh strictly after that: a copy
// of an old invalid message then opens a new, undecided record and is not
// charged.
func TestDeliveryRecordExpiry(t *testing.T) {
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

// TestMaxDeliveryRecords checks WithMaxDeliveryRecords: at the bound
// the oldest record is dropped, so a late copy of that message is no longer
// recognised as invalid.
func TestMaxDeliveryRecords(t *testing.T) {
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
		require.ErrorContains(t, err, "WithMaxDeliveryRecords")
	})
}
