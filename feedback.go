package peerscore

import (
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PeerFeedback is the application's verdict on a message p gave it in
// topic, with the meaning of pubsub.PubSub.PeerFeedback:
// PeerFeedbackUsefulMessage credits p with a first message delivery (P2,
// and P3 if p is in the topic's mesh, both within their caps), and
// PeerFeedbackInvalidMessage charges it an invalid message (P4).
//
// Applications that use partial messages merge the parts themselves, so the
// router never traces which peer delivered what; they report it here. With
// peerscore plugged in, call this instead of PubSub.PeerFeedback, which goes
// to the router's internal scorer, whose weights are all zero.
//
// Unknown peers, unscored topics and other kinds change nothing.
func (s *Scorer) PeerFeedback(topic string, p peer.ID, kind pubsub.PeerFeedbackKind) {
	switch kind {
	case pubsub.PeerFeedbackUsefulMessage:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.markFirstDelivery(p, topic)
	case pubsub.PeerFeedbackInvalidMessage:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.markInvalid(s.peers.Get(p), topic)
	}
}
