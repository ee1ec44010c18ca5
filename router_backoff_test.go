package peerscore_test

// The rebuilt GRAFT-during-backoff penalty (router_backoff.go, router.go),
// with pubsub's default GossipSubParams: PRUNE backoff 60 s, graft flood
// threshold 10 s. P7's counter is read raw (BehaviourPenalty), with a decay
// of 0.5 so that a Refresh before a check would show.

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

func pruneCtl(topic string, backoff *uint64) *pb.ControlMessage {
	return &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: backoff}}}
}

func graftCtl(topic string) *pb.ControlMessage {
	return &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}
}

func secs(n uint64) *uint64 { return &n }

func TestRouterGraftBackoff(t *testing.T) {
	const topic = "T"
	recvPrune := func(b *uint64) func(s *peerscore.Scorer) {
		return func(s *peerscore.Scorer) { s.Tracer().RecvRPC(scoretest.ControlRPC("A", pruneCtl(topic, b))) }
	}
	sentPrune := func(s *peerscore.Scorer) {
		s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, "A")
	}
	droppedPrune := func(s *peerscore.Scorer) {
		s.Tracer().DropRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, "A")
	}
	cases := []struct {
		name    string
		prune   func(s *peerscore.Scorer)
		after   time.Duration // from the PRUNE to the GRAFT
		graft   string        // topic of the GRAFT
		penalty float64
	}{
		{"inside the flood window", recvPrune(secs(60)), time.Second, topic, 2},
		{"just inside the flood window", recvPrune(secs(60)), 10*time.Second - 1, topic, 2},
		{"at the end of the flood window", recvPrune(secs(60)), 10 * time.Second, topic, 1},
		{"inside the backoff", recvPrune(secs(60)), 30 * time.Second, topic, 1},
		{"just inside the backoff", recvPrune(secs(60)), 60*time.Second - 1, topic, 1},
		{"at the end of the backoff", recvPrune(secs(60)), 60 * time.Second, topic, 0},
		{"a short backoff has no flood window", recvPrune(secs(10)), time.Second, topic, 1},
		{"a PRUNE without backoff means the default", recvPrune(nil), 30 * time.Second, topic, 1},
		{"a PRUNE asking zero means the default", recvPrune(secs(0)), 30 * time.Second, topic, 1},
		{"a PRUNE we sent", sentPrune, time.Second, topic, 2},
		{"a PRUNE we could not send", droppedPrune, time.Second, topic, 2},
		{"another topic", recvPrune(secs(60)), time.Second, "other", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, scoretest.BehaviourParams(nil))
				scoretest.Connect(s, "A")
				s.Tracer().Join(topic)
				s.Tracer().Join("other")
				c.prune(s)
				time.Sleep(c.after)
				s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(c.graft)))
				assert.Equal(t, c.penalty, scoretest.Snap(t, s, "A").BehaviourPenalty)
				assert.Equal(t, uint64(c.penalty), s.Stats().Penalties[peerscore.PenaltyGraftBackoff])
			})
		})
	}
}

// A charged GRAFT restarts the backoff, as the router does; GRAFTs in
// topics we never joined, from graylisted peers, or with rebuilding off
// cost nothing.
func TestRouterGraftBackoffRules(t *testing.T) {
	const topic = "T"
	t.Run("restarts the backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, scoretest.BehaviourParams(nil))
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", pruneCtl(topic, secs(60))))
			time.Sleep(50 * time.Second)
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic))) // +1; backoff now ends at 110 s
			time.Sleep(55 * time.Second)                                   // 105 s: past the first backoff, inside the new one
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic))) // +1
			assert.Equal(t, 2.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
		})
	})
	t.Run("a topic we never joined", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, scoretest.BehaviourParams(nil))
			scoretest.Connect(s, "A")
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, "A")
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic)))
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "the router ignores GRAFTs for topics it has no mesh in")
			s.Tracer().Join(topic)
			s.Tracer().Leave(topic)
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic)))
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "nor after leaving")
		})
	})
	t.Run("a graylisted peer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, scoretest.BehaviourParams(func(p peer.ID) float64 {
				if p == "A" {
					return -100
				}
				return 0
			}), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -50}))
			scoretest.Connect(s, "A", "B")
			s.Tracer().Join(topic)
			for _, p := range []peer.ID{"A", "B"} {
				s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, p)
				s.Tracer().RecvRPC(scoretest.ControlRPC(p, graftCtl(topic)))
			}
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "the router drops a graylisted peer's RPCs unread")
			assert.Equal(t, 2.0, scoretest.Snap(t, s, "B").BehaviourPenalty)
		})
	})
	t.Run("rebuilding off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, scoretest.BehaviourParams(nil), peerscore.WithoutRouterPenalties())
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", pruneCtl(topic, secs(60))))
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic)))
			s.Tracer().SendRPC(scoretest.IWantRPC("m1"), "A")
			time.Sleep(time.Minute)
			s.Refresh()
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty)
			assert.Zero(t, s.Stats().Promises)
		})
	})
	t.Run("router timings", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			gsp := pubsub.DefaultGossipSubParams()
			gsp.IWantFollowupTime = 10 * time.Second
			gsp.PruneBackoff = 5 * time.Second
			gsp.GraftFloodThreshold = 2 * time.Second
			s := scoretest.New(t, scoretest.BehaviourParams(nil), peerscore.WithGossipSubParams(gsp))
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", pruneCtl(topic, nil))) // the router's PruneBackoff: 5 s
			time.Sleep(3 * time.Second)                                         // past the 2 s flood window
			s.Tracer().RecvRPC(scoretest.ControlRPC("A", graftCtl(topic)))
			assert.Equal(t, 1.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
			s.Tracer().SendRPC(scoretest.IWantRPC("m1"), "A")
			time.Sleep(5 * time.Second)
			s.Refresh() // decays P7 to 0.5; the promise is not due for 5 s more
			assert.Equal(t, 0.5, scoretest.Snap(t, s, "A").BehaviourPenalty)
		})
	})
	_, err := peerscore.New(scoretest.BehaviourParams(nil), peerscore.WithGossipSubParams(pubsub.GossipSubParams{}))
	assert.ErrorContains(t, err, "WithGossipSubParams", "zero router timings")
}
