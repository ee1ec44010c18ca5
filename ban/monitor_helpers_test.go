package ban_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// gatedNet is a simulated network of real libp2p hosts, each built with a
// Gater of its own. It must be created inside a synctest bubble; it closes
// itself when the test ends.
type gatedNet struct {
	hosts  []host.Host
	gaters []*ban.Gater

	mu    sync.Mutex
	conns []map[peer.ID]int // per host, connections opened per remote peer
}

// quiet keeps a Monitor's logs (a line for every ban) out of the test
// output; the tests that check the logs pass a logger of their own.
var quiet = ban.WithLogger(slog.New(slog.DiscardHandler))

func newGatedNet(t *testing.T, n int) *gatedNet {
	t.Helper()
	nw := testnet.New(time.Millisecond)
	t.Cleanup(nw.Close)
	net := &gatedNet{}
	for i := range n {
		g := ban.NewGater()
		h, err := nw.AddHost(testnet.PublicIP(i), 8000, libp2p.ConnectionGater(g))
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
	return net
}

// connect dials b from a.
func (n *gatedNet) connect(ctx context.Context, a, b int) error {
	return testnet.Connect(ctx, n.hosts[a], n.hosts[b])
}

// connected reports whether a and b see a connection to each other (either
// side counts, so a half-closed connection still counts as connected).
func (n *gatedNet) connected(a, b int) bool {
	ha, hb := n.hosts[a], n.hosts[b]
	return ha.Network().Connectedness(hb.ID()) == network.Connected ||
		hb.Network().Connectedness(ha.ID()) == network.Connected
}

// opened is how many connections host a has opened with host b so far.
func (n *gatedNet) opened(a, b int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[a][n.hosts[b].ID()]
}

// requireRefused checks that a, whose gater bans b, refuses a connection
// with b in either direction: a's dial fails at once, and b's dial never
// becomes a connection on a's side. (Over QUIC, b's Connect may return nil:
// a's listener turns b away only after the handshake, so b briefly sees a
// connection that a closes.)
func (n *gatedNet) requireRefused(t *testing.T, ctx context.Context, a, b int) {
	t.Helper()
	before := n.opened(a, b)
	require.ErrorContains(t, n.connect(ctx, a, b), "gater disallows", "dial from %d to %d", a, b)
	_ = n.connect(ctx, b, a)
	time.Sleep(time.Second)
	require.Equal(t, before, n.opened(a, b), "%d accepted a connection from %d", a, b)
	require.False(t, n.connected(a, b), "%d and %d connected", a, b)
}

// newScoreTable returns a test-controlled score per peer, which records
// the calls of its Score method.
var newScoreTable = pkgtest.NewScoreTable

// banCall is one WithOnBan callback.
type banCall struct {
	peer  peer.ID
	score float64
	until time.Time
}

// banLog records WithOnBan callbacks.
type banLog struct {
	mu   sync.Mutex
	list []banCall
}

func (b *banLog) onBan(p peer.ID, score float64, until time.Time) {
	b.mu.Lock()
	b.list = append(b.list, banCall{p, score, until})
	b.mu.Unlock()
}

func (b *banLog) get() []banCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.list)
}

// routerThresholds are the thresholds of scoredRouter's scorer.
var routerThresholds = peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}

// scoredRouter wires a Scorer into a GossipSub router on h, the way an
// application would; app is its application-specific score. The scorer and
// router stop with ctx.
func scoredRouter(t *testing.T, ctx context.Context, h host.Host, app func(peer.ID) float64, retain time.Duration) *peerscore.Scorer {
	t.Helper()
	params := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificScore:  app,
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       retain,
	}
	thresholds := routerThresholds
	s, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(&thresholds))
	require.NoError(t, err)
	scoretest.Router(t, ctx, h, s)
	return s
}

// fakeHost is a host.Host whose network lists a settable set of peers;
// only Network().Peers and Network().ClosePeer work. It lets the spreading
// of checks be tested with thousands of peers.
type fakeHost struct {
	host.Host
	net *fakeNetwork
}

func newFakeHost(peers ...peer.ID) *fakeHost {
	return &fakeHost{net: &fakeNetwork{peers: slices.Clone(peers)}}
}

func (h *fakeHost) Network() network.Network { return h.net }

type fakeNetwork struct {
	network.Network
	mu     sync.Mutex
	peers  []peer.ID
	closed []peer.ID
	remote map[peer.ID][]ma.Multiaddr // the remote address of each connection
}

// setRemote gives p connections from addrs (for ConnsToPeer).
func (n *fakeNetwork) setRemote(p peer.ID, addrs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.remote == nil {
		n.remote = map[peer.ID][]ma.Multiaddr{}
	}
	for _, a := range addrs {
		n.remote[p] = append(n.remote[p], ma.StringCast(a))
	}
}

func (n *fakeNetwork) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if slices.Contains(n.closed, p) {
		return nil
	}
	var cs []network.Conn
	for _, a := range n.remote[p] {
		cs = append(cs, fakeConn{remote: a})
	}
	return cs
}

// fakeConn is a connection of which only RemoteMultiaddr works.
type fakeConn struct {
	network.Conn
	remote ma.Multiaddr
}

func (c fakeConn) RemoteMultiaddr() ma.Multiaddr { return c.remote }

func (n *fakeNetwork) Peers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.peers)
}

func (n *fakeNetwork) setPeers(peers []peer.ID) {
	n.mu.Lock()
	n.peers = slices.Clone(peers)
	n.mu.Unlock()
}

func (n *fakeNetwork) ClosePeer(p peer.ID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = append(n.closed, p)
	n.peers = slices.DeleteFunc(n.peers, func(q peer.ID) bool { return q == p })
	return nil
}

func (n *fakeNetwork) closedPeers() []peer.ID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.closed)
}

// fakePeers makes n distinct peer IDs (not real keys; the Monitor only
// compares them).
func fakePeers(n int) []peer.ID {
	ps := make([]peer.ID, n)
	for i := range ps {
		ps[i] = peer.ID(fmt.Sprintf("fake-peer-%05d", i))
	}
	return ps
}

// bannedPeers lists the peers of a ban table, in its order.
func bannedPeers(bans []ban.Entry) []peer.ID {
	ps := make([]peer.ID, len(bans))
	for i, e := range bans {
		ps[i] = e.Peer
	}
	return ps
}
