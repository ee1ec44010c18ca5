package rank_test

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	cmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"

	"github.com/peerscore/peerscore/rank"
)

// benchHost is a host.Host with n connected peers and go-libp2p's real
// connection manager; only what Best and the Tagger use works.
type benchHost struct {
	host.Host
	net *benchNetwork
	cm  connmgr.ConnManager
}

func (h *benchHost) ID() peer.ID                      { return "self" }
func (h *benchHost) Network() network.Network         { return h.net }
func (h *benchHost) ConnManager() connmgr.ConnManager { return h.cm }

type benchNetwork struct {
	network.Network
	peers []peer.ID
}

func (n *benchNetwork) Peers() []peer.ID            { return n.peers }
func (n *benchNetwork) Notify(network.Notifiee)     {}
func (n *benchNetwork) StopNotify(network.Notifiee) {}

func newBenchHost(b *testing.B, n int) *benchHost {
	cm, err := cmgr.NewConnManager(n, 2*n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cm.Close() })
	peers := make([]peer.ID, n)
	for i := range peers {
		peers[i] = peer.ID(fmt.Sprintf("peer-%05d", i))
	}
	return &benchHost{net: &benchNetwork{peers: peers}, cm: cm}
}

// One round of the Tagger: steady (no score changed, so no
// connection-manager call), and every peer's score changed.
func BenchmarkTaggerRound(b *testing.B) {
	for _, n := range []int{200, 1000} {
		for _, changing := range []bool{false, true} {
			b.Run(fmt.Sprintf("peers=%d/changed=%v", n, changing), func(b *testing.B) {
				h := newBenchHost(b, n)
				var shift float64
				tg, err := rank.NewTagger(h, rank.ScoreFunc(func(p peer.ID) float64 {
					return float64(p[len(p)-1]) + shift
				}), rank.WithProtectBest(10))
				if err != nil {
					b.Fatal(err)
				}
				defer tg.Close()
				tg.Refresh()
				b.ReportAllocs()
				for b.Loop() {
					if changing {
						shift++
					}
					tg.Refresh()
				}
			})
		}
	}
}

// Best over connected peers, the top 15.
func BenchmarkBest(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			h := newBenchHost(b, n)
			s := rank.ScoreFunc(func(p peer.ID) float64 { return float64(p[len(p)-1]) })
			b.ReportAllocs()
			for b.Loop() {
				rank.Best(h, s, 15, nil)
			}
		})
	}
}
