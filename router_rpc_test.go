package peerscore_test

// How one received RPC reaches the router mirror's books (router_rpc.go).

import (
	"testing"
	"testing/synctest"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/stretchr/testify/assert"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// The router decides once per RPC whether to read it (pubsub's AcceptFrom,
// before it handles anything), and then handles the extensions before the
// GRAFTs. A GRAFT during a backoff that sinks its sender below the graylist
// threshold therefore does not spare a repeated extensions message in the
// same RPC: both are charged.
func TestRecvOneGraylistVerdictPerRPC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := scoretest.NewStreamHost()
		s := scoretest.New(t, scoretest.BehaviourParams(nil), peerscore.WithHost(h), peerscore.WithThresholds(scoretest.Thresholds()))
		scoretest.Connect(s, "A")
		h.Open("A", "s1", pubsub.GossipSubID_v13)
		s.Tracer().RecvRPC(scoretest.ExtensionsRPC("A", true)) // the first RPC may carry them
		s.AddPenalty("A", 8)                                   // P7 -64: above the graylist threshold, -80
		s.Tracer().Join("T")
		s.Tracer().SendRPC(&pubsub.RPC{RPC: pb.RPC{Control: pruneCtl("T", secs(60))}}, "A")

		ctl := graftCtl("T") // within the flood threshold: 2, and P7 -100
		ctl.Extensions = &pb.ControlExtensions{}
		s.Tracer().RecvRPC(scoretest.ControlRPC("A", ctl))
		assert.Equal(t, 8.0+10+2, scoretest.Snap(t, s, "A").BehaviourPenalty)

		s.Tracer().RecvRPC(scoretest.ControlRPC("A", ctl)) // graylisted now: read not at all
		assert.Equal(t, 8.0+10+2, scoretest.Snap(t, s, "A").BehaviourPenalty)
	})
}
