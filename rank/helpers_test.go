package rank_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	cmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// trimNet is a simulated network of real libp2p hosts: host 0, the
// observer, has go-libp2p's connection manager with the given watermarks
// and no grace period (every connection may be trimmed at once), wrapped
// to count the calls made under one tag. It must be created inside a
// synctest bubble; it closes itself when the test ends.
type trimNet struct {
	hosts []host.Host
	cm    *countingConnMgr
}

func newTrimNet(t *testing.T, n, low, high int) *trimNet {
	t.Helper()
	nw := testnet.New(time.Millisecond)
	t.Cleanup(nw.Close)
	basic, err := cmgr.NewConnManager(low, high, cmgr.WithGracePeriod(0))
	require.NoError(t, err)
	cm := &countingConnMgr{BasicConnMgr: basic, tag: "peerscore", calls: map[string]int{}}
	net := &trimNet{cm: cm}
	for i := range n {
		var opts []libp2p.Option
		if i == 0 {
			opts = append(opts, libp2p.ConnectionManager(cm))
		}
		h, err := nw.AddHost(testnet.PublicIP(i), 8000, opts...)
		require.NoError(t, err)
		net.hosts = append(net.hosts, h)
	}
	nw.Start()
	return net
}

func (n *trimNet) id(i int) peer.ID { return n.hosts[i].ID() }

// connectAll dials every other host from the observer.
func (n *trimNet) connectAll(t *testing.T, ctx context.Context) {
	t.Helper()
	for i := 1; i < len(n.hosts); i++ {
		require.NoError(t, testnet.Connect(ctx, n.hosts[0], n.hosts[i]))
	}
}

// connected reports whether the observer has a connection to host i.
func (n *trimNet) connected(i int) bool {
	return n.hosts[0].Network().Connectedness(n.id(i)) == network.Connected
}

// tag returns the value of the observer's tag on host i, and whether the
// host has one.
func (n *trimNet) tag(i int, name string) (int, bool) {
	info := n.cm.GetTagInfo(n.id(i))
	if info == nil {
		return 0, false
	}
	v, ok := info.Tags[name]
	return v, ok
}

// countingConnMgr is go-libp2p's connection manager, counting the calls
// that change tags or protections under one tag name.
type countingConnMgr struct {
	*cmgr.BasicConnMgr
	tag string

	mu    sync.Mutex
	calls map[string]int
}

func (c *countingConnMgr) count(method, tag string) {
	if tag != c.tag {
		return
	}
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
}

// counts returns the calls so far, by method.
func (c *countingConnMgr) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}

func (c *countingConnMgr) TagPeer(p peer.ID, tag string, v int) {
	c.count("TagPeer", tag)
	c.BasicConnMgr.TagPeer(p, tag, v)
}

func (c *countingConnMgr) UntagPeer(p peer.ID, tag string) {
	c.count("UntagPeer", tag)
	c.BasicConnMgr.UntagPeer(p, tag)
}

func (c *countingConnMgr) UpsertTag(p peer.ID, tag string, f func(int) int) {
	c.count("UpsertTag", tag)
	c.BasicConnMgr.UpsertTag(p, tag, f)
}

func (c *countingConnMgr) Protect(p peer.ID, tag string) {
	c.count("Protect", tag)
	c.BasicConnMgr.Protect(p, tag)
}

func (c *countingConnMgr) Unprotect(p peer.ID, tag string) bool {
	c.count("Unprotect", tag)
	return c.BasicConnMgr.Unprotect(p, tag)
}

// newScoreTable returns a test-controlled score per peer, which records
// the calls of its Score method.
var newScoreTable = pkgtest.NewScoreTable

// scoredRouter wires a Scorer into a GossipSub router on h, the way an
// application would; app is its application-specific score, and every
// AddPenalty costs the square of the peer's count (decaying slowly). The
// scorer and router stop with ctx.
func scoredRouter(t *testing.T, ctx context.Context, h host.Host, app func(peer.ID) float64) *peerscore.Scorer {
	t.Helper()
	params := &peerscore.Params{
		Topics:                 map[string]*peerscore.TopicParams{},
		AppSpecificScore:       app,
		AppSpecificWeight:      1,
		BehaviourPenaltyWeight: -1,
		BehaviourPenaltyDecay:  0.999,
		DecayInterval:          time.Second,
		DecayToZero:            0.01,
		RetainScore:            time.Hour,
	}
	thresholds := &peerscore.Thresholds{GossipThreshold: -1000, PublishThreshold: -2000, GraylistThreshold: -3000}
	s, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
	require.NoError(t, err)
	scoretest.Router(t, ctx, h, s)
	return s
}

// newRand returns a deterministic random source.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
