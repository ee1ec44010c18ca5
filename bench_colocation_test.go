package peerscore_test

// Sybil churn behind one address: the work of a connect, a disconnect and
// the Refresh that forgets must not grow with the number of peers already
// on the address (P6 is read live, see ipcolocation.go). Besides ns/op, the
// benchmark reports the longest single call, which bounds how long the
// scorer's lock was held by any of them.

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerscore/peerscore"
)

// oneAddrHost is a host every peer of which connects from one address.
type oneAddrHost struct {
	host.Host
	conns []network.Conn
}

type oneAddrNet struct {
	network.Network
	conns []network.Conn
}

type oneAddrConn struct {
	network.Conn
	addr ma.Multiaddr
}

func newOneAddrHost(addr string) oneAddrHost {
	return oneAddrHost{conns: []network.Conn{oneAddrConn{addr: ma.StringCast(addr)}}}
}

func (h oneAddrHost) Network() network.Network          { return oneAddrNet{conns: h.conns} }
func (n oneAddrNet) ConnsToPeer(peer.ID) []network.Conn { return n.conns }
func (c oneAddrConn) RemoteMultiaddr() ma.Multiaddr     { return c.addr }
func (c oneAddrConn) Stat() network.ConnStats           { return network.ConnStats{} }

// BenchmarkColocationChurn has n fresh peer IDs connect from one IPv4
// address (P6 on), read each one's score, disconnect them all (each is
// retained: its score is negative) and forget them in one Refresh.
func BenchmarkColocationChurn(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprintf("peers=%d", n), func(b *testing.B) {
			params := &peerscore.Params{
				SkipAtomicValidation:        true,
				IPColocationFactorWeight:    -10,
				IPColocationFactorThreshold: 1,
				DecayInterval:               time.Second,
				DecayToZero:                 0.01,
				RetainScore:                 time.Nanosecond,
			}
			s, err := peerscore.New(params, peerscore.WithHost(newOneAddrHost("/ip4/203.0.113.7/tcp/4001")))
			if err != nil {
				b.Fatal(err)
			}
			var longest time.Duration
			timed := func(fn func()) {
				start := time.Now()
				fn()
				longest = max(longest, time.Since(start))
			}
			ids := make([]peer.ID, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range ids {
					ids[k] = peer.ID(fmt.Sprintf("sybil-%d-%06d", i, k))
					timed(func() { s.Tracer().OnNewOutboundStream(ids[k], "/meshsub/1.2.0") })
					benchSink += s.Score(ids[k])
				}
				for _, p := range ids {
					timed(func() { s.Tracer().OnClosedOutboundStream(p) })
				}
				time.Sleep(time.Microsecond) // past the nanosecond of retention
				timed(s.Refresh)
			}
			b.ReportMetric(float64(longest.Nanoseconds()), "max-call-ns")
			if st := s.Stats(); st.Peers != 0 {
				b.Fatalf("%d peers left after the forgetting Refresh", st.Peers)
			}
		})
	}
}
