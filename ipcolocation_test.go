package peerscore_test

// P6, IP colocation, with a mocknet host whose connections carry the remote
// addresses the test chooses.

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestScoreIPColocationThresholdRule tabulates the factor for five peers on
// one address: (5 - threshold)² above the threshold, 0 at or below it.
func TestScoreIPColocationThresholdRule(t *testing.T) {
	observer, ids := scoretest.Mocknet(t,
		"/ip4/9.9.9.9/tcp/1", "/ip4/9.9.9.9/tcp/2", "/ip4/9.9.9.9/tcp/3",
		"/ip4/9.9.9.9/tcp/4", "/ip4/9.9.9.9/tcp/5")
	rows := []struct {
		threshold int
		factor    float64
	}{{1, 16}, {2, 9}, {3, 4}, {4, 1}, {5, 0}, {6, 0}}
	for _, row := range rows {
		params := scoretest.Params(nil)
		params.IPColocationFactorWeight = -0.5
		params.IPColocationFactorThreshold = row.threshold
		s := scoretest.New(t, params, peerscore.WithHost(observer))
		scoretest.Connect(s, ids...)
		for _, id := range ids {
			snap := scoretest.Snap(t, s, id)
			require.Equal(t, []string{"9.9.9.9"}, snap.IPs)
			require.Equal(t, row.factor, snap.IPColocationFactor, "threshold %d", row.threshold)
			scoretest.Near(t, -0.5*row.factor, snap.P6, "P6 at threshold %d", row.threshold)
			scoretest.Near(t, -0.5*row.factor, s.Score(id), "score at threshold %d", row.threshold)
		}
	}
}

// TestScoreIPColocation checks the factor over a mix of addresses: a crowded
// IPv4 address, a lone one, IPv6 peers that share an address and a /64,
// loopback addresses (ignored) and a whitelisted network (ignored); and how
// the factor of the others falls as peers are forgotten.
func TestScoreIPColocation(t *testing.T) {
	addrs := []string{
		"/ip4/1.2.3.4/tcp/1001", "/ip4/1.2.3.4/tcp/1002", "/ip4/1.2.3.4/tcp/1003", "/ip4/1.2.3.4/tcp/1004", // v4: 0-3
		"/ip4/5.6.7.8/tcp/1001",                                                                  // lone: 4
		"/ip6/2001:db8:1:2::1/tcp/1", "/ip6/2001:db8:1:2::1/tcp/2", "/ip6/2001:db8:1:2::2/tcp/1", // v6: 5-7
		"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2", "/ip6/::1/tcp/3", // loopback: 8-10
		"/ip4/192.168.7.7/tcp/1", "/ip4/192.168.7.7/tcp/2", "/ip4/192.168.7.7/tcp/3", // whitelisted: 11-13
	}
	observer, ids := scoretest.Mocknet(t, addrs...)
	v4, lone, v6a, v6b, v6c := ids[0:4], ids[4], ids[5], ids[6], ids[7]
	loop, white := ids[8:11], ids[11:14]
	_, whitelist, err := net.ParseCIDR("192.168.0.0/16")
	require.NoError(t, err)

	synctest.Test(t, func(t *testing.T) {
		// Threshold 1, weight -3. v4[3] has a large application score,
		// so that its total stays positive.
		params := scoretest.Params(nil)
		params.IPColocationFactorWeight = -3
		params.IPColocationFactorThreshold = 1
		params.IPColocationFactorWhitelist = []*net.IPNet{whitelist}
		params.AppSpecificScore = func(p peer.ID) float64 {
			if p == v4[3] {
				return 100
			}
			return 0
		}
		params.AppSpecificWeight = 1
		params.RetainScore = 30 * time.Second
		s := scoretest.New(t, params, peerscore.WithHost(observer))
		scoretest.Connect(s, ids...)

		factor := func(p peer.ID) float64 { return scoretest.Snap(t, s, p).IPColocationFactor }

		// Four peers on 1.2.3.4: (4-1)² = 9, P6 -27.
		for _, p := range v4[:3] {
			require.Equal(t, 9.0, factor(p))
			scoretest.Near(t, -27, s.Score(p), "crowded IPv4")
		}
		scoretest.Near(t, 100-27, s.Score(v4[3]), "crowded IPv4 with P5")
		require.Equal(t, []string{"1.2.3.4"}, scoretest.Snap(t, s, v4[0]).IPs)
		require.Equal(t, 0.0, factor(lone))
		require.Equal(t, 0.0, s.Score(lone))

		// IPv6: each address counts and so does its /64. v6a and v6b
		// share 2001:db8:1:2::1 (2 peers: 1) and all three share the
		// /64 (3 peers: 4).
		require.Equal(t, []string{"2001:db8:1:2::1", "2001:db8:1:2::"}, scoretest.Snap(t, s, v6a).IPs)
		require.Equal(t, 5.0, factor(v6a))
		require.Equal(t, 5.0, factor(v6b))
		require.Equal(t, 4.0, factor(v6c))
		scoretest.Near(t, -15, s.Score(v6a), "IPv6 address and /64")
		scoretest.Near(t, -12, s.Score(v6c), "IPv6 /64 only")

		// Loopback is not counted at all; whitelisted addresses are
		// listed but not counted.
		for _, p := range loop {
			snap := scoretest.Snap(t, s, p)
			require.Empty(t, snap.IPs)
			require.Equal(t, 0.0, snap.IPColocationFactor)
			require.Equal(t, 0.0, snap.Score)
		}
		for _, p := range white {
			snap := scoretest.Snap(t, s, p)
			require.Equal(t, []string{"192.168.7.7"}, snap.IPs)
			require.Equal(t, 0.0, snap.IPColocationFactor)
			require.Equal(t, 0.0, snap.Score)
		}

		// v4[3] disconnects with a positive score and is forgotten at
		// once: three peers left on 1.2.3.4, (3-1)² = 4.
		s.Tracer().OnClosedOutboundStream(v4[3])
		scoretest.RequireUnknown(t, s, v4[3])
		require.Equal(t, 4.0, factor(v4[0]))
		scoretest.Near(t, -12, s.Score(v4[0]), "after a peer is forgotten")

		// v4[2] disconnects with a negative score: retained, and its
		// address still counts for everyone, itself included.
		s.Tracer().OnClosedOutboundStream(v4[2])
		require.False(t, scoretest.Snap(t, s, v4[2]).Connected)
		require.Equal(t, 4.0, factor(v4[2]))
		require.Equal(t, 4.0, factor(v4[0]))

		// Once its retention is over it is forgotten: two peers left,
		// (2-1)² = 1.
		time.Sleep(30*time.Second + time.Nanosecond)
		s.Refresh()
		scoretest.RequireUnknown(t, s, v4[2])
		require.Equal(t, 1.0, factor(v4[0]))
		scoretest.Near(t, -3, s.Score(v4[1]), "after the retained peer is forgotten")

		// v4[3] comes back: three again.
		scoretest.Connect(s, v4[3])
		require.Equal(t, 4.0, factor(v4[0]))
		scoretest.Near(t, 100-12, s.Score(v4[3]), "back with P5")
	})
}

// TestScoreIPColocationRefreshedByLoop checks that the background loop
// re-reads peers' addresses from the host every minute: a peer whose
// connection the host has closed (while the router has not yet reported
// the stream closed) stops counting against the others.
func TestScoreIPColocationRefreshedByLoop(t *testing.T) {
	mn, observer, ids := scoretest.MocknetNet(t, "/ip4/3.3.3.3/tcp/1", "/ip4/3.3.3.3/tcp/2", "/ip4/3.3.3.3/tcp/3")
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.Params(nil)
		params.IPColocationFactorWeight = -1
		params.IPColocationFactorThreshold = 1
		s := scoretest.New(t, params, peerscore.WithHost(observer))
		scoretest.Connect(s, ids...)
		// Three peers on 3.3.3.3: (3-1)² = 4.
		require.Equal(t, 4.0, scoretest.Snap(t, s, ids[0]).IPColocationFactor)

		s.Start(context.Background())
		defer func() { require.NoError(t, s.Close()) }()
		require.NoError(t, mn.DisconnectPeers(observer.ID(), ids[2]))
		synctest.Wait()

		// Until the minute is up, the scorer still counts ids[2].
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		require.Equal(t, 4.0, scoretest.Snap(t, s, ids[0]).IPColocationFactor)

		// Then it re-reads: two peers, (2-1)² = 1; ids[2] has no
		// address left and is still known (connected, as far as the
		// router has said).
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.Equal(t, 1.0, scoretest.Snap(t, s, ids[0]).IPColocationFactor)
		scoretest.Near(t, -1, s.Score(ids[1]), "after the refresh of addresses")
		snap := scoretest.Snap(t, s, ids[2])
		require.Empty(t, snap.IPs)
		require.True(t, snap.Connected)
		require.Equal(t, 0.0, snap.Score)
	})
}
