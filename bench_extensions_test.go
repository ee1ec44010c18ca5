package peerscore_test

import (
	"fmt"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// BenchmarkRecvRPCExtensions is the trace of one received RPC as the
// repeated-extensions rebuild sees it, from 200 known peers: without a host
// (rebuild off), the common path (no extensions: a score read for the
// graylist and one map lookup), and the rare path (extensions again: the
// host's streams are listed and the peer charged).
func BenchmarkRecvRPCExtensions(b *testing.B) {
	for _, c := range []struct {
		name       string
		host       bool
		extensions bool
	}{{"no-host", false, false}, {"common", true, false}, {"repeated", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			h := scoretest.NewStreamHost()
			p := scoretest.BehaviourParams(nil)
			p.BehaviourPenaltyWeight = -1e-12 // charges never graylist anyone
			opts := []peerscore.Option{peerscore.WithThresholds(scoretest.Thresholds())}
			if c.host {
				opts = append(opts, peerscore.WithHost(h))
			}
			s := scoretest.New(b, p, opts...)
			peers := make([]peer.ID, 200)
			for i := range peers {
				peers[i] = peer.ID(fmt.Sprintf("peer-%03d", i))
				scoretest.Connect(s, peers[i])
				h.Open(peers[i], fmt.Sprintf("s-%d", i), pubsub.GossipSubID_v13)
				s.Tracer().RecvRPC(scoretest.ExtensionsRPC(peers[i], false)) // the first RPC
			}
			rpcs := make([]*pubsub.RPC, len(peers))
			for i := range rpcs {
				rpcs[i] = scoretest.ExtensionsRPC(peers[i], c.extensions)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Tracer().RecvRPC(rpcs[i%len(rpcs)])
			}
		})
	}
}
