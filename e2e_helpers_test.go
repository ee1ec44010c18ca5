package peerscore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/testnet"
)

// End-to-end harness: real go-libp2p hosts on a simulated network, real
// GossipSub routers, every honest node scoring with peerscore (or, for the
// parity runs, with pubsub's own scorer), all on synctest's fake clock.

const e2eTopic = scenario.Topic

// e2eTest runs body on synctest's fake clock, on one thread
// (testnet.Bubble), unless -short.
func e2eTest(t *testing.T, body func(t *testing.T)) {
	e2eSkipShort(t)
	testnet.Bubble(t, body)
}

// e2eSkipShort skips an end-to-end test under -short. A test that runs
// subtests calls it first, before any t.Run, so that it reports SKIP rather
// than a PASS of subtests that all skipped and of comparisons between the
// verdicts they never returned.
func e2eSkipShort(t *testing.T) {
	if testing.Short() {
		t.Helper()
		t.Skip("end-to-end test; skipped with -short")
	}
}

// e2eNode is one host with its router, and its scorer when it scores with
// peerscore.
type e2eNode struct {
	name   string
	h      host.Host
	ps     *pubsub.PubSub
	topic  *pubsub.Topic
	scorer *peerscore.Scorer // nil for pubsub's own scoring or no scoring
	native *nativeScores     // pubsub's own scores, when it scores natively
	mesh   *meshWatch
	inbox  *inbox
}

// e2eNet builds the network and its nodes; close it before the bubble ends.
type e2eNet struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	net    *testnet.Network
	nodes  []*e2eNode
	native bool // score with pubsub's own scorer instead of peerscore
	params *peerscore.Params
	thr    *peerscore.Thresholds

	scorerOpts []peerscore.Option // given to every scorer after WithHost
	routerOpts []pubsub.Option    // given to every router after the scoring options
}

func newE2ENet(t *testing.T, native bool) *e2eNet {
	ctx, cancel := context.WithCancel(context.Background())
	n := &e2eNet{t: t, ctx: ctx, cancel: cancel, net: testnet.New(time.Millisecond),
		native: native, params: scenario.Params(), thr: scenario.Thresholds()}
	t.Cleanup(func() {
		n.cancel()
		for _, node := range n.nodes {
			if node.scorer != nil {
				_ = node.scorer.Close()
			}
		}
		n.net.Close()
	})
	return n
}

// host adds a bare host at ip:port.
func (n *e2eNet) host(ip string, port int) host.Host {
	h, err := n.net.AddHost(ip, port)
	require.NoError(n.t, err)
	return h
}

type validator = pubsub.ValidatorEx

// router starts GossipSub on h, scoring unless scored is false, validating
// with v (nil: accept everything), subscribed to the topic, with any extra
// options. Call after the network has started.
func (n *e2eNet) router(name string, h host.Host, scored bool, v validator, extra ...pubsub.Option) *e2eNode {
	t := n.t
	node := &e2eNode{name: name, h: h, mesh: newMeshWatch(), inbox: newInbox()}
	opts := append([]pubsub.Option{pubsub.WithRawTracer(node.mesh)}, extra...)
	switch {
	case scored && n.native:
		node.native = newNativeScores()
		opts = append(opts,
			pubsub.WithPeerScore(n.params.ToPubsub(), n.thr.ToPubsub()),
			pubsub.WithPeerScoreInspect(node.native.update, 100*time.Millisecond))
	case scored:
		s, err := peerscore.New(n.params, append([]peerscore.Option{peerscore.WithHost(h), peerscore.WithThresholds(n.thr)}, n.scorerOpts...)...)
		require.NoError(t, err)
		scoring, err := s.GossipSubOptions()
		require.NoError(t, err)
		opts = append(opts, scoring...)
		node.scorer = s
		s.Start(n.ctx)
	}
	opts = append(opts, n.routerOpts...)
	ps, err := pubsub.NewGossipSub(n.ctx, h, opts...)
	require.NoError(t, err)
	if v != nil {
		require.NoError(t, ps.RegisterTopicValidator(e2eTopic, v))
	}
	topic, err := ps.Join(e2eTopic)
	require.NoError(t, err)
	sub, err := topic.Subscribe()
	require.NoError(t, err)
	go node.inbox.drain(n.ctx, sub)
	node.ps, node.topic = ps, topic
	n.nodes = append(n.nodes, node)
	return node
}

func (n *e2eNet) connect(a, b host.Host) {
	require.NoError(n.t, testnet.Connect(n.ctx, a, b))
}

// score is observer's score of target, from whichever scorer observer uses.
func (n *e2eNet) score(observer *e2eNode, target peer.ID) float64 {
	if observer.scorer != nil {
		return observer.scorer.Score(target)
	}
	return observer.native.get(target)
}

func (n *e2eNet) publish(node *e2eNode, data string) {
	require.NoError(n.t, node.topic.Publish(n.ctx, []byte(data)))
}

// publishHonest publishes count messages "honest-<i>", one every interval,
// round-robin over the given nodes, and returns their payloads.
func (n *e2eNet) publishHonest(from []*e2eNode, count int, interval time.Duration, prefix string) []string {
	var sent []string
	for i := 0; i < count; i++ {
		data := fmt.Sprintf("%s-%d", prefix, i)
		n.publish(from[i%len(from)], data)
		sent = append(sent, data)
		time.Sleep(interval)
	}
	return sent
}

// inbox records the payloads a node's subscription delivered.
type inbox struct {
	mu  sync.Mutex
	got map[string]bool
}

func newInbox() *inbox { return &inbox{got: map[string]bool{}} }

func (in *inbox) drain(ctx context.Context, sub *pubsub.Subscription) {
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return
		}
		in.mu.Lock()
		in.got[string(m.Data)] = true
		in.mu.Unlock()
	}
}

func (in *inbox) has(data string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.got[data]
}

func (in *inbox) countPrefix(prefix string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := 0
	for d := range in.got {
		if strings.HasPrefix(d, prefix) {
			c++
		}
	}
	return c
}

// meshWatch follows a router's mesh through its Graft and Prune traces.
type meshWatch struct {
	mu     sync.Mutex
	in     map[peer.ID]bool
	pruned map[peer.ID]int
	pubsub.RawTracer
}

func newMeshWatch() *meshWatch {
	return &meshWatch{in: map[peer.ID]bool{}, pruned: map[peer.ID]int{}, RawTracer: noTrace{}}
}

func (w *meshWatch) Graft(p peer.ID, _ string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.in[p] = true
}

func (w *meshWatch) Prune(p peer.ID, _ string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.in[p] = false
	w.pruned[p]++
}

func (w *meshWatch) inMesh(p peer.ID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.in[p]
}

func (w *meshWatch) prunes(p peer.ID) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pruned[p]
}

// nativeScores keeps the latest scores pubsub's own scorer reported.
type nativeScores struct {
	mu     sync.Mutex
	scores map[peer.ID]*pubsub.PeerScoreSnapshot
}

func newNativeScores() *nativeScores {
	return &nativeScores{scores: map[peer.ID]*pubsub.PeerScoreSnapshot{}}
}

func (s *nativeScores) update(m map[peer.ID]*pubsub.PeerScoreSnapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scores = m
}

func (s *nativeScores) get(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap, ok := s.scores[p]; ok {
		return snap.Score
	}
	return 0
}

func (s *nativeScores) snapshot(p peer.ID) *pubsub.PeerScoreSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scores[p]
}

// noTrace is a RawTracer that ignores everything.
type noTrace struct{}

func (noTrace) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (noTrace) OnClosedOutboundStream(peer.ID)           {}
func (noTrace) Join(string)                              {}
func (noTrace) Leave(string)                             {}
func (noTrace) Graft(peer.ID, string)                    {}
func (noTrace) Prune(peer.ID, string)                    {}
func (noTrace) ValidateMessage(*pubsub.Message)          {}
func (noTrace) DeliverMessage(*pubsub.Message)           {}
func (noTrace) RejectMessage(*pubsub.Message, string)    {}
func (noTrace) DuplicateMessage(*pubsub.Message)         {}
func (noTrace) ThrottlePeer(peer.ID)                     {}
func (noTrace) RecvRPC(*pubsub.RPC)                      {}
func (noTrace) SendRPC(*pubsub.RPC, peer.ID)             {}
func (noTrace) DropRPC(*pubsub.RPC, peer.ID)             {}
func (noTrace) UndeliverableMessage(*pubsub.Message)     {}

// SendRPCCompleted is in RawTracer from pubsub v0.19.0 on; an extra method
// is harmless with older releases.
func (noTrace) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
