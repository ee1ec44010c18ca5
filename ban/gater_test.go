package ban_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/testnet"
)

var (
	peerA = peer.ID("gater-peer-a")
	peerB = peer.ID("gater-peer-b")
	addr  = ma.StringCast("/ip4/1.2.3.4/udp/8000/quic-v1")
)

// allows asks every interception about p and reports each answer.
func allows(g connmgr.ConnectionGater, p peer.ID) map[string]bool {
	up, _ := g.InterceptUpgraded(nil)
	return map[string]bool{
		"PeerDial":        g.InterceptPeerDial(p),
		"AddrDial":        g.InterceptAddrDial(p, addr),
		"Accept":          g.InterceptAccept(nil),
		"SecuredInbound":  g.InterceptSecured(network.DirInbound, p, nil),
		"SecuredOutbound": g.InterceptSecured(network.DirOutbound, p, nil),
		"Upgraded":        up,
	}
}

func allowsAll() map[string]bool {
	return map[string]bool{"PeerDial": true, "AddrDial": true, "Accept": true, "SecuredInbound": true, "SecuredOutbound": true, "Upgraded": true}
}

// A banned peer is refused wherever its ID is known (not at Accept, where it
// is not yet, nor at Upgraded, which comes after Secured).
func refusesBanned() map[string]bool {
	return map[string]bool{"PeerDial": false, "AddrDial": false, "Accept": true, "SecuredInbound": false, "SecuredOutbound": false, "Upgraded": true}
}

func TestGaterBans(t *testing.T) {
	type step struct {
		at     time.Duration // since the start
		do     func(g *ban.Gater, start time.Time)
		banned bool          // is peer A banned after the step
		until  time.Duration // and until when, since the start
	}
	banFor := func(d time.Duration) func(*ban.Gater, time.Time) {
		return func(g *ban.Gater, start time.Time) { g.Ban(peerA, start.Add(d)) }
	}
	unban := func(g *ban.Gater, _ time.Time) { g.Unban(peerA) }
	wait := func(*ban.Gater, time.Time) {}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{name: "never banned", steps: []step{{do: wait}}},
		{name: "ban then expiry", steps: []step{
			{do: banFor(time.Minute), banned: true, until: time.Minute},
			{at: time.Minute - time.Nanosecond, do: wait, banned: true, until: time.Minute},
			{at: time.Minute, do: wait}, // ends exactly at until
		}},
		{name: "longer ban extends", steps: []step{
			{do: banFor(time.Minute), banned: true, until: time.Minute},
			{at: time.Second, do: banFor(time.Hour), banned: true, until: time.Hour},
			{at: 2 * time.Minute, do: wait, banned: true, until: time.Hour},
		}},
		{name: "shorter ban does not shorten", steps: []step{
			{do: banFor(time.Hour), banned: true, until: time.Hour},
			{at: time.Second, do: banFor(time.Minute), banned: true, until: time.Hour},
			{at: 2 * time.Minute, do: wait, banned: true, until: time.Hour},
		}},
		{name: "unban lifts at once", steps: []step{
			{do: banFor(time.Hour), banned: true, until: time.Hour},
			{at: time.Second, do: unban},
			{at: 2 * time.Second, do: banFor(time.Minute), banned: true, until: time.Minute},
		}},
		{name: "unban of unbanned peer", steps: []step{{do: unban}}},
		{name: "ban in the past does nothing", steps: []step{
			{at: time.Minute, do: banFor(time.Second)},
			{at: time.Minute, do: banFor(time.Minute)},
		}},
		{name: "rebanned after expiry", steps: []step{
			{do: banFor(time.Minute), banned: true, until: time.Minute},
			{at: 2 * time.Minute, do: banFor(3 * time.Minute), banned: true, until: 3 * time.Minute},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				g := ban.NewGater()
				start := time.Now()
				for i, s := range tc.steps {
					time.Sleep(time.Until(start.Add(s.at)))
					s.do(g, start)
					until, banned := g.Banned(peerA)
					require.Equal(t, s.banned, banned, "step %d", i)
					want, wantBans := allowsAll(), []ban.Entry{}
					if s.banned {
						require.Equal(t, start.Add(s.until), until, "step %d", i)
						want, wantBans = refusesBanned(), []ban.Entry{{Peer: peerA, Until: until}}
					} else {
						require.True(t, until.IsZero(), "step %d", i)
					}
					require.Equal(t, want, allows(g, peerA), "step %d", i)
					require.Equal(t, wantBans, g.Bans(), "step %d", i)
					// Another peer is never affected.
					require.Equal(t, allowsAll(), allows(g, peerB), "step %d", i)
				}
			})
		})
	}
}

func TestGaterBansIsACopy(t *testing.T) {
	g := ban.NewGater()
	until := time.Now().Add(time.Hour)
	g.Ban(peerA, until)
	bans := g.Bans()
	bans[0] = ban.Entry{Peer: peerB, Until: until.Add(time.Hour)}
	got, ok := g.Banned(peerA)
	require.True(t, ok)
	require.Equal(t, until, got)
	_, ok = g.Banned(peerB)
	require.False(t, ok)
	require.Equal(t, []ban.Entry{{Peer: peerA, Until: until}}, g.Bans())
}

// keyedPeers returns n real peer IDs (of Ed25519 keys from a fixed seed),
// which, unlike the tests' made-up IDs, survive a JSON round trip.
func keyedPeers(t *testing.T, n int) []peer.ID {
	t.Helper()
	keys := rand.NewChaCha8([32]byte{'b', 'a', 'n'})
	ps := make([]peer.ID, n)
	for i := range ps {
		_, pub, err := crypto.GenerateEd25519Key(keys)
		require.NoError(t, err)
		ps[i], err = peer.IDFromPublicKey(pub)
		require.NoError(t, err)
	}
	return ps
}

// The ban table lists the bans in force, soonest to end first and then by
// peer ID, and marshals to JSON with each peer ID in its text form (not
// its raw bytes, which is what a map keyed by peer.ID would give).
func TestGaterBansJSON(t *testing.T) {
	ps := keyedPeers(t, 4)
	g := ban.NewGater()
	late := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	early := time.Date(2098, 6, 7, 8, 9, 10, 0, time.UTC)
	g.Ban(ps[0], late)
	g.Ban(ps[1], early)
	g.Ban(ps[2], late)
	g.Ban(ps[3], time.Now().Add(time.Hour))
	g.Unban(ps[3])

	first, second := ps[0], ps[2]
	if second < first {
		first, second = second, first
	}
	want := []ban.Entry{{Peer: ps[1], Until: early}, {Peer: first, Until: late}, {Peer: second, Until: late}}
	requireBansJSON(t, g.Bans(), want, fmt.Sprintf(`[
		{"peer": %q, "until": "2098-06-07T08:09:10Z"},
		{"peer": %q, "until": "2099-01-02T03:04:05Z"},
		{"peer": %q, "until": "2099-01-02T03:04:05Z"}]`, ps[1], first, second))
}

// requireBansJSON checks that bans are want, that they marshal to the JSON
// wantJSON, and that it unmarshals back to want.
func requireBansJSON(t *testing.T, bans, want []ban.Entry, wantJSON string) {
	t.Helper()
	require.Equal(t, want, bans)
	out, err := json.Marshal(bans)
	require.NoError(t, err)
	require.JSONEq(t, wantJSON, string(out))
	var back []ban.Entry
	require.NoError(t, json.Unmarshal(out, &back))
	require.Equal(t, want, back)
}

// Expired bans are dropped by later Bans, so the table stays in proportion
// to the bans in force, however many peers were banned over time.
func TestGaterPrunesExpiredBans(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		g := ban.NewGater()
		size := func() int { return ban.TableSize(g) }
		// Many short bans over time, at most ten in force at once.
		for i := range 10_000 {
			g.Ban(peer.ID(fmt.Sprintf("short-%d", i)), time.Now().Add(time.Second))
			if i%10 == 9 {
				time.Sleep(time.Second)
			}
			require.LessOrEqual(t, size(), ban.MinSweep)
		}
		// Many long bans: all kept, and the expired ones go.
		for i := range 1000 {
			g.Ban(peer.ID(fmt.Sprintf("long-%d", i)), time.Now().Add(time.Hour))
		}
		require.Len(t, g.Bans(), 1000)
		require.LessOrEqual(t, size(), 2*1000+ban.MinSweep)
		time.Sleep(2 * time.Hour)
		require.Empty(t, g.Bans())
		for i := range 100 {
			g.Ban(peer.ID(fmt.Sprintf("later-%d", i)), time.Now().Add(time.Hour))
		}
		require.LessOrEqual(t, size(), 1000+ban.MinSweep)
		require.Len(t, g.Bans(), 100)
	})
}

// nextGater is a gater whose answers are set by the test; it records which
// interceptions reached it.
type nextGater struct {
	mu     sync.Mutex
	allow  bool
	reason control.DisconnectReason
	calls  []string
}

func (n *nextGater) record(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, name)
	return n.allow
}

func (n *nextGater) InterceptPeerDial(peer.ID) bool { return n.record("PeerDial") }
func (n *nextGater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool {
	return n.record("AddrDial")
}
func (n *nextGater) InterceptAccept(network.ConnMultiaddrs) bool { return n.record("Accept") }
func (n *nextGater) InterceptSecured(network.Direction, peer.ID, network.ConnMultiaddrs) bool {
	return n.record("Secured")
}
func (n *nextGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) {
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
		{name: "both allow", nextAllow: true, want: allowsAll(), wantCalls: all},
		{
			name:      "next refuses",
			want:      map[string]bool{"PeerDial": false, "AddrDial": false, "Accept": false, "SecuredInbound": false, "SecuredOutbound": false, "Upgraded": false},
			wantCalls: all,
		},
		{
			// A banned peer is refused without asking next, except where
			// the ban is not checked.
			name: "banned", nextAllow: true, banned: true,
			want:      refusesBanned(),
			wantCalls: []string{"Accept", "Upgraded"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := &nextGater{allow: tc.nextAllow, reason: 7}
			g := ban.NewGater(ban.WithNext(next))
			if tc.banned {
				g.Ban(peerA, time.Now().Add(time.Hour))
			}
			require.Equal(t, tc.want, allows(g, peerA))
			require.ElementsMatch(t, tc.wantCalls, next.calls)
			_, reason := g.InterceptUpgraded(nil)
			require.Equal(t, control.DisconnectReason(7), reason)
		})
	}

	// A nil next is no next.
	g := ban.NewGater(ban.WithNext(nil))
	require.Equal(t, allowsAll(), allows(g, peerA))
	_, reason := g.InterceptUpgraded(nil)
	require.Zero(t, reason)
}

// Nil options are skipped: NewGater(nil) is a Gater with no next gater.
func TestNewGaterSkipsNilOptions(t *testing.T) {
	g := ban.NewGater(nil)
	require.Equal(t, allowsAll(), allows(g, peerA))

	next := &nextGater{allow: false}
	g = ban.NewGater(nil, ban.WithNext(next), nil)
	require.False(t, g.InterceptPeerDial(peerA), "the next gater was dropped")
	require.Equal(t, []string{"PeerDial"}, next.calls)
}

// Bans, unbans, checks and listings from many goroutines at once leave the
// gater as the operations say, whatever their interleaving: a ban is never
// lost or shortened by a concurrent one (the latest end wins), each
// goroutine sees its own bans and unbans at once, the listing is always
// sorted, and the table afterwards holds exactly the bans in force, before
// and after some of them expire. Time stands still in the bubble while the
// goroutines run, so the expected table is exact. Run with -race.
func TestGaterConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const workers, shared, own = 8, 40, 120
		g := ban.NewGater()
		start := time.Now()
		sharedPeer := func(k int) peer.ID { return peer.ID(fmt.Sprintf("shared-%d", k)) }
		ownPeer := func(w, i int) peer.ID { return peer.ID(fmt.Sprintf("own-%d-%d", w, i)) }
		// Every worker bans every shared peer, each until another time.
		sharedUntil := func(w, k int) time.Time {
			return start.Add(time.Hour + time.Duration((w*7+k)%13)*time.Minute)
		}
		// A third of the own bans end after a second, the rest after hours;
		// a fifth are lifted at once.
		ownUntil := func(i int) time.Time {
			if i%3 == 0 {
				return start.Add(time.Second)
			}
			return start.Add(2*time.Hour + time.Duration(i)*time.Second)
		}
		unbanned := func(i int) bool { return i%5 == 0 }
		sorted := func(bans []ban.Entry) bool {
			return slices.IsSortedFunc(bans, func(a, b ban.Entry) int {
				if c := a.Until.Compare(b.Until); c != 0 {
					return c
				}
				return strings.Compare(string(a.Peer), string(b.Peer))
			})
		}

		// concurrently runs work on each of the workers at once, while two
		// readers list the bans and gate peers, until the workers are done.
		concurrently := func(work func(w int)) {
			stop := make(chan struct{})
			var readers, wg sync.WaitGroup
			for r := range 2 {
				readers.Go(func() {
					for n := 0; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						_ = g.Bans()
						g.InterceptSecured(network.DirInbound, ownPeer(n%workers, n%own), nil)
						g.InterceptPeerDial(sharedPeer((n + r) % shared))
					}
				})
			}
			for w := range workers {
				wg.Go(func() { work(w) })
			}
			wg.Wait()
			close(stop)
			readers.Wait()
		}

		concurrently(func(w int) {
			for i := range own {
				p := ownPeer(w, i)
				g.Ban(p, ownUntil(i))
				if unbanned(i) {
					g.Unban(p)
				}
				until, ok := g.Banned(p)
				if ok == unbanned(i) || ok && !until.Equal(ownUntil(i)) {
					t.Errorf("worker %d, own peer %d: Banned = %v, %v", w, i, until, ok)
				}
				if g.InterceptSecured(network.DirInbound, p, nil) == ok {
					t.Errorf("worker %d, own peer %d: InterceptSecured disagrees with Banned", w, i)
				}

				k := (w + i) % shared
				g.Ban(sharedPeer(k), sharedUntil(w, k))
				if until, ok := g.Banned(sharedPeer(k)); !ok || until.Before(sharedUntil(w, k)) {
					t.Errorf("worker %d: shared peer %d banned until %v, %v after banning it until %v",
						w, k, until, ok, sharedUntil(w, k))
				}
				if i%25 == 0 && !sorted(g.Bans()) {
					t.Errorf("worker %d: Bans not sorted", w)
				}
			}
		})

		// What the operations leave, worked out one by one.
		want := map[peer.ID]time.Time{}
		for w := range workers {
			for i := range own {
				if !unbanned(i) {
					want[ownPeer(w, i)] = ownUntil(i)
				}
				k := (w + i) % shared
				if u := sharedUntil(w, k); u.After(want[sharedPeer(k)]) {
					want[sharedPeer(k)] = u
				}
			}
		}
		inForce := func() []ban.Entry {
			var es []ban.Entry
			now := time.Now()
			for p, until := range want {
				if now.Before(until) {
					es = append(es, ban.Entry{Peer: p, Until: until})
				}
			}
			return es
		}
		bans := g.Bans()
		require.True(t, sorted(bans))
		require.ElementsMatch(t, inForce(), bans)

		// The short bans expire; more bans from every worker at once make
		// Ban sweep them while the readers read.
		time.Sleep(time.Minute)
		concurrently(func(w int) {
			for i := range own {
				g.Ban(peer.ID(fmt.Sprintf("late-%d-%d", w, i)), start.Add(3*time.Hour))
				if _, ok := g.Banned(ownPeer(w, i)); ok != (!unbanned(i) && i%3 != 0) {
					t.Errorf("worker %d, own peer %d: banned = %v after the short bans ended", w, i, ok)
				}
				if i%25 == 0 && !sorted(g.Bans()) {
					t.Errorf("worker %d: Bans not sorted", w)
				}
			}
		})
		for w := range workers {
			for i := range own {
				want[peer.ID(fmt.Sprintf("late-%d-%d", w, i))] = start.Add(3 * time.Hour)
			}
		}
		bans = g.Bans()
		require.True(t, sorted(bans))
		require.ElementsMatch(t, inForce(), bans)
		require.LessOrEqual(t, ban.TableSize(g), 2*len(bans)+ban.MinSweep, "expired bans not swept")
	})
}

// The Gater on its own, with real hosts: a banned peer cannot connect in
// either direction, and can again after Unban or once the ban expires.
func TestGaterRealHosts(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		net := newGatedNet(t, 2)
		g := net.gaters[0]
		other := net.hosts[1].ID()

		g.Ban(other, time.Now().Add(time.Hour))
		net.requireRefused(t, ctx, 0, 1)
		g.Unban(other)
		require.NoError(t, net.connect(ctx, 0, 1))
		require.True(t, net.connected(0, 1))

		require.NoError(t, net.hosts[0].Network().ClosePeer(other))
		time.Sleep(time.Second)
		g.Ban(other, time.Now().Add(time.Minute))
		net.requireRefused(t, ctx, 0, 1)
		time.Sleep(time.Minute)
		require.NoError(t, net.connect(ctx, 1, 0))
		time.Sleep(time.Second)
		require.True(t, net.connected(0, 1))
	})
}
