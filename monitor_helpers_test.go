package peerscore_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/x/simlibp2p"
	"github.com/marcopolo/simnet"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// monSynctest runs body in a synctest bubble (fake time) with GOMAXPROCS
// at 1, which works around a runtime issue with synctest timers under the
// race detector.
func monSynctest(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	synctest.Test(t, body)
}

// monNet is a simulated network of real libp2p hosts, each built with a
// Gater of its own. It must be created inside a synctest bubble; it closes
// itself when the test ends.
type monNet struct {
	hosts  []host.Host
	gaters []*peerscore.Gater

	mu    sync.Mutex
	conns []map[peer.ID]int // per host, connections opened per remote peer
}

func newMonNet(t *testing.T, n int) *monNet {
	t.Helper()
	nw := &simnet.Simnet{LatencyFunc: simnet.StaticLatency(time.Millisecond)}
	link := simnet.NodeBiDiLinkSettings{
		Downlink: simnet.LinkSettings{BitsPerSecond: 20 * simlibp2p.OneMbps},
		Uplink:   simnet.LinkSettings{BitsPerSecond: 20 * simlibp2p.OneMbps},
	}
	net := &monNet{}
	for i := range n {
		g := peerscore.NewGater()
		h, err := libp2p.New(
			libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/udp/8000/quic-v1", simnet.IntToPublicIPv4(i))),
			simlibp2p.QUICSimnet(nw, link),
			libp2p.DisableIdentifyAddressDiscovery(),
			libp2p.ResourceManager(&network.NullResourceManager{}),
			libp2p.ConnectionGater(g),
		)
		require.NoError(t, err)
		net.hosts = append(net.hosts, h)
		net.gaters = append(net.gaters, g)
		net.conns = append(net.conns, map[peer.ID]int{})
		h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
			net.mu.Lock()
			net.conns[i][c.RemotePeer()]++
			net.mu.Unlock()
		}})
	}
	nw.Start()
	t.Cleanup(func() {
		for _, h := range net.hosts {
			h.Close()
		}
		nw.Close()
	})
	return net
}

// connect dials b from a.
func (n *monNet) connect(ctx context.Context, a, b int) error {
	hb := n.hosts[b]
	return n.hosts[a].Connect(ctx, peer.AddrInfo{ID: hb.ID(), Addrs: hb.Addrs()})
}

// connected reports whether a and b see a connection to each other (either
// side counts, so a half-closed connection still counts as connected).
func (n *monNet) connected(a, b int) bool {
	ha, hb := n.hosts[a], n.hosts[b]
	return ha.Network().Connectedness(hb.ID()) == network.Connected ||
		hb.Network().Connectedness(ha.ID()) == network.Connected
}

// opened is how many connections host a has opened with host b so far.
func (n *monNet) opened(a, b int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[a][n.hosts[b].ID()]
}

// requireRefused checks that a, whose gater bans b, refuses a connection
// with b in either direction: a's dial fails at once, and b's dial never
// becomes a connection on a's side. (Over QUIC, b's Connect may return nil:
// a's listener turns b away only after the handshake, so b briefly sees a
// connection that a closes.)
func (n *monNet) requireRefused(t *testing.T, ctx context.Context, a, b int) {
	t.Helper()
	before := n.opened(a, b)
	require.ErrorContains(t, n.connect(ctx, a, b), "gater disallows", "dial from %d to %d", a, b)
	_ = n.connect(ctx, b, a)
	time.Sleep(time.Second)
	require.Equal(t, before, n.opened(a, b), "%d accepted a connection from %d", a, b)
	require.False(t, n.connected(a, b), "%d and %d connected", a, b)
}

// monScores is a test-controlled score per peer, safe for concurrent use;
// it counts and timestamps its calls.
type monScores struct {
	mu    sync.Mutex
	score map[peer.ID]float64
	calls map[peer.ID][]time.Time
}

func newMonScores() *monScores {
	return &monScores{score: map[peer.ID]float64{}, calls: map[peer.ID][]time.Time{}}
}

func (s *monScores) set(p peer.ID, v float64) {
	s.mu.Lock()
	s.score[p] = v
	s.mu.Unlock()
}

// get is a score function without call records, for AppSpecificScore.
func (s *monScores) get(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.score[p]
}

// Score is a Monitor's score function; it records the call.
func (s *monScores) Score(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[p] = append(s.calls[p], time.Now())
	return s.score[p]
}

func (s *monScores) callTimes(p peer.ID) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls[p])
}

// allCallTimes returns the time of every call, sorted.
func (s *monScores) allCallTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []time.Time
	for _, ts := range s.calls {
		all = append(all, ts...)
	}
	slices.SortFunc(all, time.Time.Compare)
	return all
}

// monBan is one OnBan callback.
type monBan struct {
	peer  peer.ID
	score float64
	until time.Time
}

// monBans records OnBan callbacks.
type monBans struct {
	mu   sync.Mutex
	list []monBan
}

func (b *monBans) onBan(p peer.ID, score float64, until time.Time) {
	b.mu.Lock()
	b.list = append(b.list, monBan{p, score, until})
	b.mu.Unlock()
}

func (b *monBans) get() []monBan {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.list)
}

// monScoredRouter wires a Scorer into a GossipSub router on h, the way an
// application would; app is its application-specific score. The scorer and
// router stop with ctx.
func monScoredRouter(t *testing.T, ctx context.Context, h host.Host, app func(peer.ID) float64, retain time.Duration) *peerscore.Scorer {
	t.Helper()
	params := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificScore:  app,
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       retain,
	}
	s, err := peerscore.New(params, peerscore.WithHost(h),
		peerscore.WithThresholds(&peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}))
	require.NoError(t, err)
	opts, err := s.GossipSubOptions()
	require.NoError(t, err)
	_, err = pubsub.NewGossipSub(ctx, h, opts...)
	require.NoError(t, err)
	s.Start(ctx)
	t.Cleanup(func() { s.Close() })
	return s
}

// monPlainRouter runs an unscored GossipSub router on h, so that a scored
// router elsewhere learns of h.
func monPlainRouter(t *testing.T, ctx context.Context, h host.Host) {
	t.Helper()
	_, err := pubsub.NewGossipSub(ctx, h)
	require.NoError(t, err)
}

// fakeMonHost is a host.Host whose network lists a settable set of peers;
// only Network().Peers and Network().ClosePeer work. It lets the spreading
// of checks be tested with thousands of peers.
type fakeMonHost struct {
	host.Host
	net *fakeMonNetwork
}

func newFakeMonHost(peers ...peer.ID) *fakeMonHost {
	return &fakeMonHost{net: &fakeMonNetwork{peers: peers}}
}

func (h *fakeMonHost) Network() network.Network { return h.net }

type fakeMonNetwork struct {
	network.Network
	mu     sync.Mutex
	peers  []peer.ID
	closed []peer.ID
}

func (n *fakeMonNetwork) Peers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.peers)
}

func (n *fakeMonNetwork) setPeers(peers []peer.ID) {
	n.mu.Lock()
	n.peers = slices.Clone(peers)
	n.mu.Unlock()
}

func (n *fakeMonNetwork) ClosePeer(p peer.ID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = append(n.closed, p)
	n.peers = slices.DeleteFunc(n.peers, func(q peer.ID) bool { return q == p })
	return nil
}

func (n *fakeMonNetwork) closedPeers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.closed)
}

// fakeMonPeers makes n distinct peer IDs (not real keys; the Monitor only
// compares them).
func fakeMonPeers(n int) []peer.ID {
	ps := make([]peer.ID, n)
	for i := range ps {
		ps[i] = peer.ID(fmt.Sprintf("fake-peer-%05d", i))
	}
	return ps
}
