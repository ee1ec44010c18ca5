package peerscore_test

// The rebuilt broken-promise penalty (router_promises.go): an IWANT we send
// is a promise the peer must keep within pubsub's default IWANT follow-up
// time, 3 s. P7's counter is read raw (BehaviourPenalty), with a decay of
// 0.5 so that a Refresh before a check would show.

import (
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

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
		{"our IWANT was dropped", func(s *peerscore.Scorer) { s.Tracer().DropRPC(scoretest.IWantRPC("m1"), "A") }, nil, 0},
		{"one promise per IWANT", func(s *peerscore.Scorer) {
			rpc := scoretest.IWantRPC("m1")
			rpc.Control.Iwant = append(rpc.Control.Iwant, &pb.ControlIWant{MessageIDs: []string{"m2"}})
			s.Tracer().SendRPC(rpc, "A")
		}, nil, 2},
		{"the same message asked twice is one promise", func(s *peerscore.Scorer) {
			s.Tracer().SendRPC(scoretest.IWantRPC("m1"), "A")
			s.Tracer().SendRPC(scoretest.IWantRPC("m1"), "A")
		}, nil, 1},
		{"an IWANT of several is one promise", func(s *peerscore.Scorer) { s.Tracer().SendRPC(scoretest.IWantRPC("m1", "m2", "m3"), "A") }, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := scoretest.New(t, scoretest.BehaviourParams(nil))
				scoretest.Connect(s, "A", "B")
				if c.send == nil {
					s.Tracer().SendRPC(scoretest.IWantRPC("m1"), "A")
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
