package peerscore

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"
)

// gaterSynctest runs body in a synctest bubble with GOMAXPROCS at 1 (a
// workaround for synctest timers under the race detector).
func gaterSynctest(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	synctest.Test(t, body)
}

var (
	gaterPeerA = peer.ID("gater-peer-a")
	gaterPeerB = peer.ID("gater-peer-b")
	gaterAddr  = ma.StringCast("/ip4/1.2.3.4/udp/8000/quic-v1")
)

// gaterAllows asks every interception about p and reports each answer.
func gaterAllows(g connmgr.ConnectionGater, p peer.ID) map[string]bool {
	up, _ := g.InterceptUpgraded(nil)
	return map[string]bool{
		"PeerDial":        g.InterceptPeerDial(p),
		"AddrDial":        g.InterceptAddrDial(p, gaterAddr),
		"Accept":          g.InterceptAccept(nil),
		"SecuredInbound":  g.InterceptSecured(network.DirInbound, p, nil),
		"SecuredOutbound": g.InterceptSecured(network.DirOutbound, p, nil),
		"Upgraded":        up,
	}
}

func gaterAllowsAll() map[string]bool {
	return map[string]bool{"PeerDial": true, "AddrDial": true, "Accept": true, "SecuredInbound": true, "SecuredOutbound": true, "Upgraded": true}
}

// A banned peer is refused wherever its ID is known (not at Accept, where it
// is not yet, nor at Upgraded, which comes after Secured).
func gaterRefusesBanned() map[string]bool {
	return map[string]bool{"PeerDial": false, "AddrDial": false, "Accept": true, "SecuredInbound": false, "SecuredOutbound": false, "Upgraded": true}
}

func TestGaterBans(t *testing.T) {
	type step struct {
		at     time.Duration // since the start
		do     func(g *Gater, start time.Time)
		banned bool          // is peer A banned after the step
		until  time.Duration // and until when, since the start
	}
	ban := func(d time.Duration) func(*Gater, time.Time) {
		return func(g *Gater, start time.Time) { g.Ban(gaterPeerA, start.Add(d)) }
	}
	unban := func(g *Gater, _ time.Time) { g.Unban(gaterPeerA) }
	wait := func(*Gater, time.Time) {}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{name: "never banned", steps: []step{{do: wait}}},
		{name: "ban then expiry", steps: []step{
			{do: ban(time.Minute), banned: true, until: time.Minute},
			{at: time.Minute - time.Nanosecond, do: wait, banned: true, until: time.Minute},
			{at: time.Minute, do: wait}, // ends exactly at until
		}},
		{name: "longer ban extends", steps: []step{
			{do: ban(time.Minute), banned: true, until: time.Minute},
			{at: time.Second, do: ban(time.Hour), banned: true, until: time.Hour},
			{at: 2 * time.Minute, do: wait, banned: true, until: time.Hour},
		}},
		{name: "shorter ban does not shorten", steps: []step{
			{do: ban(time.Hour), banned: true, until: time.Hour},
			{at: time.Second, do: ban(time.Minute), banned: true, until: time.Hour},
			{at: 2 * time.Minute, do: wait, banned: true, until: time.Hour},
		}},
		{name: "unban lifts at once", steps: []step{
			{do: ban(time.Hour), banned: true, until: time.Hour},
			{at: time.Second, do: unban},
			{at: 2 * time.Second, do: ban(time.Minute), banned: true, until: time.Minute},
		}},
		{name: "unban of unbanned peer", steps: []step{{do: unban}}},
		{name: "ban in the past does nothing", steps: []step{
			{at: time.Minute, do: ban(time.Second)},
			{at: time.Minute, do: ban(time.Minute)},
		}},
		{name: "rebanned after expiry", steps: []step{
			{do: ban(time.Minute), banned: true, until: time.Minute},
			{at: 2 * time.Minute, do: ban(3 * time.Minute), banned: true, until: 3 * time.Minute},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gaterSynctest(t, func(t *testing.T) {
				g := NewGater()
				start := time.Now()
				for i, s := range tc.steps {
					time.Sleep(time.Until(start.Add(s.at)))
					s.do(g, start)
					until, banned := g.Banned(gaterPeerA)
					require.Equal(t, s.banned, banned, "step %d", i)
					want, wantBans := gaterAllowsAll(), map[peer.ID]time.Time{}
					if s.banned {
						require.Equal(t, start.Add(s.until), until, "step %d", i)
						want, wantBans = gaterRefusesBanned(), map[peer.ID]time.Time{gaterPeerA: until}
					} else {
						require.True(t, until.IsZero(), "step %d", i)
					}
					require.Equal(t, want, gaterAllows(g, gaterPeerA), "step %d", i)
					require.Equal(t, wantBans, g.Bans(), "step %d", i)
					// Another peer is never affected.
					require.Equal(t, gaterAllowsAll(), gaterAllows(g, gaterPeerB), "step %d", i)
				}
			})
		})
	}
}

func TestGaterBansIsACopy(t *testing.T) {
	g := NewGater()
	g.Ban(gaterPeerA, time.Now().Add(time.Hour))
	bans := g.Bans()
	delete(bans, gaterPeerA)
	bans[gaterPeerB] = time.Now().Add(time.Hour)
	_, ok := g.Banned(gaterPeerA)
	require.True(t, ok)
	_, ok = g.Banned(gaterPeerB)
	require.False(t, ok)
}

// Expired bans are dropped by later Bans, so the table stays in proportion
// to the bans in force, however many peers were banned over time.
func TestGaterPrunesExpiredBans(t *testing.T) {
	gaterSynctest(t, func(t *testing.T) {
		g := NewGater()
		size := func() int {
			g.mu.RLock()
			defer g.mu.RUnlock()
			return len(g.bans)
		}
		// Many short bans over time, at most ten in force at once.
		for i := range 10_000 {
			g.Ban(peer.ID(fmt.Sprintf("short-%d", i)), time.Now().Add(time.Second))
			if i%10 == 9 {
				time.Sleep(time.Second)
			}
			require.LessOrEqual(t, size(), minSweep)
		}
		// Many long bans: all kept, and the expired ones go.
		for i := range 1000 {
			g.Ban(peer.ID(fmt.Sprintf("long-%d", i)), time.Now().Add(time.Hour))
		}
		require.Len(t, g.Bans(), 1000)
		require.LessOrEqual(t, size(), 2*1000+minSweep)
		time.Sleep(2 * time.Hour)
		require.Empty(t, g.Bans())
		for i := range 100 {
			g.Ban(peer.ID(fmt.Sprintf("later-%d", i)), time.Now().Add(time.Hour))
		}
		require.LessOrEqual(t, size(), 1000+minSweep)
		require.Len(t, g.Bans(), 100)
	})
}

// gaterNext is a gater whose answers are set by the test; it records which
// interceptions reached it.
type gaterNext struct {
	mu     sync.Mutex
	allow  bool
	reason control.DisconnectReason
	calls  []string
}

func (n *gaterNext) record(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, name)
	return n.allow
}

func (n *gaterNext) InterceptPeerDial(peer.ID) bool { return n.record("PeerDial") }
func (n *gaterNext) InterceptAddrDial(peer.ID, ma.Multiaddr) bool {
	return n.record("AddrDial")
}
func (n *gaterNext) InterceptAccept(network.ConnMultiaddrs) bool { return n.record("Accept") }
func (n *gaterNext) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return n.record("Secured")
}
func (n *gaterNext) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
	return n.record("Upgraded"), n.reason
}

func TestGaterChainsNext(t *testing.T) {
	all := []string{"PeerDial", "AddrDial", "Accept", "Secured", "Secured", "Upgraded"}
	for _, tc := range []struct {
		name      string
		nextAllow bool
		banned    bool
		want      map[string]bool
		wantCalls []string // interceptions that reached the next gater
	}{
		{name: "both allow", nextAllow: true, want: gaterAllowsAll(), wantCalls: all},
		{
			name:      "next refuses",
			want:      map[string]bool{"PeerDial": false, "AddrDial": false, "Accept": false, "SecuredInbound": false, "SecuredOutbound": false, "Upgraded": false},
			wantCalls: all,
		},
		{
			// A banned peer is refused without asking next, except where
			// the ban is not checked.
			name: "banned", nextAllow: true, banned: true,
			want:      gaterRefusesBanned(),
			wantCalls: []string{"Accept", "Upgraded"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := &gaterNext{allow: tc.nextAllow, reason: 7}
			g := NewGater(WithNextGater(next))
			if tc.banned {
				g.Ban(gaterPeerA, time.Now().Add(time.Hour))
			}
			require.Equal(t, tc.want, gaterAllows(g, gaterPeerA))
			require.ElementsMatch(t, tc.wantCalls, next.calls)
			_, reason := g.InterceptUpgraded(nil)
			require.Equal(t, control.DisconnectReason(7), reason)
		})
	}

	// A nil next is no next.
	g := NewGater(WithNextGater(nil))
	require.Equal(t, gaterAllowsAll(), gaterAllows(g, gaterPeerA))
	_, reason := g.InterceptUpgraded(nil)
	require.Zero(t, reason)
}

// Bans, checks and listings from many goroutines at once (for -race).
func TestGaterConcurrent(t *testing.T) {
	g := NewGater()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				p := peer.ID(fmt.Sprintf("peer-%d", (w*500+i)%300))
				switch i % 4 {
				case 0:
					g.Ban(p, time.Now().Add(time.Duration(i)*time.Millisecond))
				case 1:
					g.InterceptSecured(network.DirInbound, p, nil)
				case 2:
					g.Unban(p)
				case 3:
					_ = g.Bans()
				}
			}
		})
	}
	wg.Wait()
}
