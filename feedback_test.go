package peerscore_test

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// PeerFeedback, as partial-message applications call it: a useful message
// is a first delivery (P2, and P3 in the mesh, each capped), an invalid one
// is P4; anything the scorer does not know changes nothing.

const feedbackTopic = "partial"

// feedbackParams scores P2 (cap 3), P3 (cap 2) and P4 in feedbackTopic.
func feedbackParams() *peerscore.Params {
	return scoretest.Params(map[string]*peerscore.TopicParams{feedbackTopic: {
		SkipAtomicValidation:            true,
		TopicWeight:                     1,
		FirstMessageDeliveriesWeight:    1,
		FirstMessageDeliveriesDecay:     0.5,
		FirstMessageDeliveriesCap:       3,
		MeshMessageDeliveriesWeight:     -1,
		MeshMessageDeliveriesDecay:      0.5,
		MeshMessageDeliveriesCap:        2,
		MeshMessageDeliveriesThreshold:  1,
		MeshMessageDeliveriesActivation: time.Second,
		MeshMessageDeliveriesWindow:     time.Millisecond,
		InvalidMessageDeliveriesWeight:  -10,
		InvalidMessageDeliveriesDecay:   0.5,
	}})
}

func TestPeerFeedback(t *testing.T) {
	useful, invalid := pubsub.PeerFeedbackUsefulMessage, pubsub.PeerFeedbackInvalidMessage
	cases := []struct {
		name                 string
		inMesh               bool
		feedback             []pubsub.PeerFeedbackKind
		first, mesh, invalid float64 // counters after
	}{
		{"useful, not in the mesh: P2 only", false, []pubsub.PeerFeedbackKind{useful, useful}, 2, 0, 0},
		{"useful in the mesh: P2 and P3", true, []pubsub.PeerFeedbackKind{useful}, 1, 1, 0},
		{"useful is capped", true, []pubsub.PeerFeedbackKind{useful, useful, useful, useful, useful}, 3, 2, 0},
		{"invalid: P4, uncapped", true, []pubsub.PeerFeedbackKind{invalid, invalid, invalid, invalid}, 0, 0, 4},
		{"both", false, []pubsub.PeerFeedbackKind{useful, invalid, useful}, 2, 0, 1},
		{"other kinds are ignored", true, []pubsub.PeerFeedbackKind{-1, 2, 99}, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, feedbackParams())
				scoretest.Connect(s, "A")
				if c.inMesh {
					s.Tracer().Graft("A", feedbackTopic)
				}
				for _, k := range c.feedback {
					s.PeerFeedback(feedbackTopic, "A", k)
				}
				ts := scoretest.Topic(t, s, "A", feedbackTopic)
				scoretest.Near(t, c.first, ts.FirstMessageDeliveries, "P2 counter")
				scoretest.Near(t, c.mesh, ts.MeshMessageDeliveries, "P3 counter")
				scoretest.Near(t, c.invalid, ts.InvalidMessageDeliveries, "P4 counter")
				scoretest.Near(t, c.first-10*c.invalid*c.invalid, ts.Score, "topic score (P3 not yet active)")
				snap := scoretest.Snap(t, s, "A")
				scoretest.CheckParts(t, "A", snap)
				assert.Equal(t, uint64(c.invalid), s.Stats().Penalties[peerscore.PenaltyInvalidMessage])
			})
		})
	}
}

// Feedback is the same credit as a delivered message: it decays with
// Refresh, and a retained (disconnected) peer still takes it, as in pubsub.
func TestPeerFeedbackDecaysAndRetained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := feedbackParams()
		p.RetainScore = time.Minute
		s := scoretest.New(t, p)
		scoretest.Connect(s, "A")
		s.PeerFeedback(feedbackTopic, "A", pubsub.PeerFeedbackInvalidMessage)
		s.PeerFeedback(feedbackTopic, "A", pubsub.PeerFeedbackInvalidMessage)
		s.Refresh()
		scoretest.Near(t, 1, scoretest.Topic(t, s, "A", feedbackTopic).InvalidMessageDeliveries, "P4 counter halved")

		s.Tracer().OnClosedOutboundStream("A") // score -10: retained
		require.False(t, scoretest.Snap(t, s, "A").Connected)
		s.PeerFeedback(feedbackTopic, "A", pubsub.PeerFeedbackInvalidMessage)
		s.PeerFeedback(feedbackTopic, "A", pubsub.PeerFeedbackUsefulMessage)
		ts := scoretest.Topic(t, s, "A", feedbackTopic)
		scoretest.Near(t, 2, ts.InvalidMessageDeliveries, "retained peer's P4 counter")
		scoretest.Near(t, 1, ts.FirstMessageDeliveries, "retained peer's P2 counter")
	})
}

// Feedback about a peer the scorer does not know, or in a topic it does not
// score, changes nothing: no peer, no topic stats, no penalty counted.
func TestPeerFeedbackIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, feedbackParams())
		scoretest.Connect(s, "A")
		for _, k := range []pubsub.PeerFeedbackKind{pubsub.PeerFeedbackUsefulMessage, pubsub.PeerFeedbackInvalidMessage} {
			s.PeerFeedback(feedbackTopic, "stranger", k)
			s.PeerFeedback("unscored", "A", k)
			s.PeerFeedback("", "A", k)
		}
		scoretest.RequireUnknown(t, s, "stranger")
		snap := scoretest.Snap(t, s, "A")
		assert.Empty(t, snap.Topics)
		assert.Zero(t, snap.Score)
		assert.Zero(t, s.Stats().Penalties[peerscore.PenaltyInvalidMessage])
	})
}
