package peerscore_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// The rules of the rebuilt router penalties, one by one, with pubsub's
// default GossipSubParams: IWANT follow-up 3 s, PRUNE backoff 60 s, graft
// flood threshold 10 s. P7's counter is read raw (BehaviourPenalty), with a
// decay of 0.5 so that a Refresh before a check would show.

func routerParams(app func(peer.ID) float64) *peerscore.Params {
	p := scoretest.Params(nil)
	p.BehaviourPenaltyWeight = -1
	p.BehaviourPenaltyDecay = 0.5
	if app != nil {
		p.AppSpecificScore, p.AppSpecificWeight = app, 1
	}
	return p
}

func iwantRPC(ids ...string) *pubsub.RPC {
	return &pubsub.RPC{RPC: pb.RPC{Control: &pb.ControlMessage{Iwant: []*pb.ControlIWant{{MessageIDs: ids}}}}}
}

func controlFrom(from peer.ID, ctl *pb.ControlMessage) *pubsub.RPC {
	rpc := &pubsub.RPC{RPC: pb.RPC{Control: ctl}}
	fzSetFrom(rpc, from)
	return rpc
}

func pruneCtl(topic string, backoff *uint64) *pb.ControlMessage {
	return &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: backoff}}}
}

func graftCtl(topic string) *pb.ControlMessage {
	return &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}
}

func secs(n uint64) *uint64 { return &n }

func TestRouterPromises(t *testing.T) {
	const followUp = 3 * time.Second
	cases := []struct {
		name   string
		send   func(s *peerscore.Scorer) // what we sent A
		then   func(s *peerscore.Scorer) // what happened before the deadline
		broken float64
	}{
		{"nothing arrives", nil, nil, 1},
		{"a copy starts validation", nil, func(s *peerscore.Scorer) { s.Tracer().ValidateMessage(scoretest.Msg("U", "m1", "B")) }, 0},
		{"a copy is delivered", nil, func(s *peerscore.Scorer) { s.Tracer().DeliverMessage(scoretest.Msg("U", "m1", "B")) }, 0},
		{"a copy arrives as a duplicate", nil, func(s *peerscore.Scorer) { s.Tracer().DuplicateMessage(scoretest.Msg("U", "m1", "A")) }, 0},
		{"a copy fails validation", nil, func(s *peerscore.Scorer) {
			s.Tracer().RejectMessage(scoretest.Msg("U", "m1", "B"), pubsub.RejectValidationFailed)
		}, 0},
		{"a copy without signature keeps nothing", nil, func(s *peerscore.Scorer) {
			s.Tracer().RejectMessage(scoretest.Msg("U", "m1", "B"), pubsub.RejectMissingSignature)
		}, 1},
		{"a copy with a bad signature keeps nothing", nil, func(s *peerscore.Scorer) {
			s.Tracer().RejectMessage(scoretest.Msg("U", "m1", "B"), pubsub.RejectInvalidSignature)
		}, 1},
		{"another message arrives", nil, func(s *peerscore.Scorer) { s.Tracer().DeliverMessage(scoretest.Msg("U", "m2", "A")) }, 1},
		{"the peer is throttled", nil, func(s *peerscore.Scorer) { s.Tracer().ThrottlePeer("A") }, 0},
		{"another peer is throttled", nil, func(s *peerscore.Scorer) { s.Tracer().ThrottlePeer("B") }, 1},
		{"our IWANT was dropped", func(s *peerscore.Scorer) { s.Tracer().DropRPC(iwantRPC("m1"), "A") }, nil, 0},
		{"one promise per IWANT", func(s *peerscore.Scorer) {
			rpc := iwantRPC("m1")
			rpc.Control.Iwant = append(rpc.Control.Iwant, &pb.ControlIWant{MessageIDs: []string{"m2"}})
			s.Tracer().SendRPC(rpc, "A")
		}, nil, 2},
		{"the same message asked twice is one promise", func(s *peerscore.Scorer) {
			s.Tracer().SendRPC(iwantRPC("m1"), "A")
			s.Tracer().SendRPC(iwantRPC("m1"), "A")
		}, nil, 1},
		{"an IWANT of several is one promise", func(s *peerscore.Scorer) { s.Tracer().SendRPC(iwantRPC("m1", "m2", "m3"), "A") }, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, routerParams(nil))
				scoretest.Connect(s, "A", "B")
				if c.send == nil {
					s.Tracer().SendRPC(iwantRPC("m1"), "A")
				} else {
					c.send(s)
				}
				if c.then != nil {
					c.then(s)
				}
				time.Sleep(followUp) // due, not yet past due
				s.Refresh()
				assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "a promise is broken only after its deadline")
				time.Sleep(time.Nanosecond)
				s.Refresh()
				assert.Equal(t, c.broken, scoretest.Snap(t, s, "A").BehaviourPenalty)
				assert.Equal(t, uint64(c.broken), s.Stats().Penalties[peerscore.PenaltyBrokenPromise])
				assert.Zero(t, s.Stats().Promises, "every promise is settled once past due")
			})
		})
	}
}

func TestRouterGraftBackoff(t *testing.T) {
	const topic = "T"
	recvPrune := func(b *uint64) func(s *peerscore.Scorer) {
		return func(s *peerscore.Scorer) { s.Tracer().RecvRPC(controlFrom("A", pruneCtl(topic, b))) }
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
				s := scoretest.New(t, routerParams(nil))
				scoretest.Connect(s, "A")
				s.Tracer().Join(topic)
				s.Tracer().Join("other")
				c.prune(s)
				time.Sleep(c.after)
				s.Tracer().RecvRPC(controlFrom("A", graftCtl(c.graft)))
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
			s := scoretest.New(t, routerParams(nil))
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(controlFrom("A", pruneCtl(topic, secs(60))))
			time.Sleep(50 * time.Second)
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic))) // +1; backoff now ends at 110 s
			time.Sleep(55 * time.Second)                          // 105 s: past the first backoff, inside the new one
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic))) // +1
			assert.Equal(t, 2.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
		})
	})
	t.Run("a topic we never joined", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, routerParams(nil))
			scoretest.Connect(s, "A")
			s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, "A")
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic)))
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "the router ignores GRAFTs for topics it has no mesh in")
			s.Tracer().Join(topic)
			s.Tracer().Leave(topic)
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic)))
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "nor after leaving")
		})
	})
	t.Run("a graylisted peer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, routerParams(func(p peer.ID) float64 {
				if p == "A" {
					return -100
				}
				return 0
			}), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -50}))
			scoretest.Connect(s, "A", "B")
			s.Tracer().Join(topic)
			for _, p := range []peer.ID{"A", "B"} {
				s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl(topic, secs(60))}}, p)
				s.Tracer().RecvRPC(controlFrom(p, graftCtl(topic)))
			}
			assert.Zero(t, scoretest.Snap(t, s, "A").BehaviourPenalty, "the router drops a graylisted peer's RPCs unread")
			assert.Equal(t, 2.0, scoretest.Snap(t, s, "B").BehaviourPenalty)
		})
	})
	t.Run("rebuilding off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := scoretest.New(t, routerParams(nil), peerscore.WithoutRouterPenalties())
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(controlFrom("A", pruneCtl(topic, secs(60))))
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic)))
			s.Tracer().SendRPC(iwantRPC("m1"), "A")
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
			s := scoretest.New(t, routerParams(nil), peerscore.WithGossipSubParams(gsp))
			scoretest.Connect(s, "A")
			s.Tracer().Join(topic)
			s.Tracer().RecvRPC(controlFrom("A", pruneCtl(topic, nil))) // the router's PruneBackoff: 5 s
			time.Sleep(3 * time.Second)                                // past the 2 s flood window
			s.Tracer().RecvRPC(controlFrom("A", graftCtl(topic)))
			assert.Equal(t, 1.0, scoretest.Snap(t, s, "A").BehaviourPenalty)
			s.Tracer().SendRPC(iwantRPC("m1"), "A")
			time.Sleep(5 * time.Second)
			s.Refresh() // decays P7 to 0.5; the promise is not due for 5 s more
			assert.Equal(t, 0.5, scoretest.Snap(t, s, "A").BehaviourPenalty)
		})
	})
	_, err := peerscore.New(routerParams(nil), peerscore.WithGossipSubParams(pubsub.GossipSubParams{}))
	assert.Error(t, err, "zero router timings")
}

// Slow peers: every message in an RPC the router dropped on its way to a
// peer adds 1; the penalty is linear above the threshold and decays.
func TestSlowPeerPenalty(t *testing.T) {
	drop := func(s *peerscore.Scorer, p peer.ID, messages int) {
		rpc := &pubsub.RPC{}
		for i := 0; i < messages; i++ {
			rpc.Publish = append(rpc.Publish, &pb.Message{Data: []byte("x")})
		}
		s.Tracer().DropRPC(rpc, p)
	}
	synctest.Test(t, func(t *testing.T) {
		p := scoretest.Params(nil)
		p.SlowPeerWeight, p.SlowPeerThreshold, p.SlowPeerDecay = -0.5, 10, 0.5
		s := scoretest.New(t, p)
		scoretest.Connect(s, "A")
		for range 3 {
			drop(s, "A", 4)
		}
		drop(s, "A", 0) // control only: nothing to count
		snap := scoretest.Snap(t, s, "A")
		assert.Equal(t, 12.0, snap.SlowPeerCounter)
		assert.Equal(t, -1.0, snap.SlowPeer, "-0.5 × (12 − 10)")
		assert.Equal(t, -1.0, snap.Score)
		assert.Equal(t, uint64(12), s.Stats().Penalties[peerscore.PenaltySlowPeer])

		s.Refresh() // 6: under the threshold
		snap = scoretest.Snap(t, s, "A")
		assert.Equal(t, 6.0, snap.SlowPeerCounter)
		assert.Zero(t, snap.SlowPeer)

		drop(s, "stranger", 100) // unknown peers are not tracked
		_, known := s.Snapshot("stranger")
		assert.False(t, known)
		scoretest.Connect(s, "B")
		s.Tracer().OnClosedOutboundStream("B") // a score of 0: retained
		drop(s, "B", 100)                      // nor are disconnected ones: their queue is gone
		assert.Zero(t, scoretest.Snap(t, s, "B").SlowPeerCounter)
	})
	synctest.Test(t, func(t *testing.T) {
		s := scoretest.New(t, scoretest.Params(nil)) // SlowPeerWeight 0: off
		scoretest.Connect(s, "A")
		drop(s, "A", 50)
		assert.Zero(t, scoretest.Snap(t, s, "A").SlowPeerCounter)
		assert.Zero(t, s.Stats().Penalties[peerscore.PenaltySlowPeer])
	})
}

func TestGossipSubOptions(t *testing.T) {
	s := scoretest.New(t, scoretest.Params(nil))
	_, err := s.GossipSubOptions()
	assert.ErrorContains(t, err, "WithThresholds", "the router needs thresholds")
	_, err = peerscore.New(scoretest.Params(nil), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: 1}))
	var pe *peerscore.ParamError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "GossipThreshold", pe.Field)
	assert.Equal(t, "peerscore: GossipThreshold = 1: must be zero or negative and finite", err.Error(), "the error is prefixed once")

	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	require.NoError(t, err)
	s = scoretest.New(t, scoretest.Params(nil), peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}))
	opts, err := s.GossipSubOptions()
	require.NoError(t, err)
	assert.Len(t, opts, 3, "the raw tracer, the peer score and the score inspection options")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = pubsub.NewGossipSub(ctx, h, opts...)
	assert.NoError(t, err, "pubsub accepts the zero-weight parameters and the thresholds")
}
