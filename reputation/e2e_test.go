package reputation_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/reputation"
)

// End to end, on real go-libp2p hosts and real GossipSub routers (a
// simulated network, synctest's clock): an observer scores with
// peerscore, P5 from a Reputation weighted so that -50 is the graylist
// threshold. A suspect publishes valid gossip the application finds
// useless ("stale" blocks: the validator ignores them and reports a Mid).
// Before, its messages are delivered; after eleven reports (-55 × 1.6 =
// -88 < -80) the router graylists it: its RPCs still arrive, but the
// router drops them unread, so its fresh messages are neither validated
// nor delivered. The observer's snapshot of the suspect says why.
func TestE2EReportedPeerGraylisted(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	testnet.Bubble(t, e2eReportedPeerGraylisted)
}

func e2eReportedPeerGraylisted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	net := testnet.New(time.Millisecond)
	addHost := func(i int) host.Host {
		h, err := net.AddHost(testnet.PublicIP(i), 8000)
		require.NoError(t, err)
		return h
	}
	obsHost, susHost := addHost(1), addHost(2)
	net.Start()

	rep := newRep(t)
	rep.Start(ctx)
	thr := scenario.Thresholds()
	params := scenario.Params()
	params.AppSpecificScore = rep.Score
	params.AppSpecificWeight = thr.GraylistThreshold / -50 // 1.6: below -50 is graylisted
	scorer, err := peerscore.New(params, peerscore.WithHost(obsHost), peerscore.WithThresholds(thr),
		peerscore.WithAppReasons(rep.Reasons))
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, scorer.Close())
		require.NoError(t, rep.Close())
		net.Close()
	})

	// The observer's application: stale blocks are useless, and it says so.
	var seen counts // by payload prefix: messages arriving in RPCs, and validated
	validate := func(_ context.Context, _ peer.ID, m *pubsub.Message) pubsub.ValidationResult {
		seen.add("validated", m.Data)
		if bytes.HasPrefix(m.Data, []byte("stale")) {
			rep.Report(m.ReceivedFrom, reputation.Mid, "stale block")
			return pubsub.ValidationIgnore
		}
		return pubsub.ValidationAccept
	}
	inspect := func(from peer.ID, rpc *pubsub.RPC) error {
		for _, m := range rpc.GetPublish() {
			seen.add("arrived", m.GetData())
		}
		return nil
	}
	scoring, err := scorer.GossipSubOptions()
	require.NoError(t, err)
	obs, err := pubsub.NewGossipSub(ctx, obsHost, append(scoring, pubsub.WithAppSpecificRpcInspector(inspect))...)
	require.NoError(t, err)
	scorer.Start(ctx)
	require.NoError(t, obs.RegisterTopicValidator(scenario.Topic, validate))
	delivered := subscribe(t, ctx, obs)

	// The suspect does not score, and publishes to every peer in the topic
	// (a node's own messages skip the mesh, which the observer leaves as
	// soon as its score of the suspect is negative).
	sus, err := pubsub.NewGossipSub(ctx, susHost, pubsub.WithFloodPublish(true))
	require.NoError(t, err)
	susTopic, err := sus.Join(scenario.Topic)
	require.NoError(t, err)
	_, err = susTopic.Subscribe()
	require.NoError(t, err)
	require.NoError(t, testnet.Connect(ctx, susHost, obsHost))
	time.Sleep(3 * time.Second) // subscriptions and meshes

	publish := func(prefix string, n int) {
		for i := range n {
			require.NoError(t, susTopic.Publish(ctx, fmt.Appendf(nil, "%s-%d", prefix, i)))
			time.Sleep(250 * time.Millisecond)
		}
		time.Sleep(time.Second)
	}
	suspect := susHost.ID()

	// Before: heard and delivered.
	publish("fresh-before", 2)
	require.Equal(t, 2, delivered.get("fresh-before"), "the suspect's messages are delivered at first")
	require.GreaterOrEqual(t, scorer.Score(suspect), 0.0)

	// The application reports each stale block.
	publish("stale", 11)
	require.Equal(t, 11, seen.get("validated", "stale"))
	score := scorer.Score(suspect)
	require.Less(t, score, thr.GraylistThreshold, "eleven Mid reports graylist the suspect")
	snap, ok := scorer.Snapshot(suspect)
	require.True(t, ok)
	require.InDelta(t, -55, snap.AppSpecificScore, 0.5, "eleven Mid reports, a few seconds of decay")
	require.InDelta(t, -55*1.6, snap.P5, 0.8)
	require.Equal(t, []string{"stale block (mid x11)"}, snap.AppReasons)
	dominant, _ := snap.Dominant()
	require.Equal(t, peerscore.ComponentAppSpecific, dominant)

	// After: the RPCs arrive, the router drops them unread.
	publish("fresh-after", 5)
	require.Equal(t, 5, seen.get("arrived", "fresh-after"), "the suspect's messages reach the router")
	require.Zero(t, seen.get("validated", "fresh-after"), "the router ignores a graylisted peer's RPCs")
	require.Zero(t, delivered.get("fresh-after"), "nothing from the graylisted suspect is delivered")
}

// counts counts payloads ("<prefix>-<n>") by event and prefix.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(event string, data []byte) {
	prefix := string(data)
	if i := strings.LastIndexByte(prefix, '-'); i >= 0 {
		prefix = prefix[:i]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[event+" "+prefix]++
}

func (c *counts) get(event, prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[event+" "+prefix]
}

// subscribe joins the scenario's topic and counts what the subscription
// delivers, by prefix.
func subscribe(t *testing.T, ctx context.Context, ps *pubsub.PubSub) *deliveries {
	topic, err := ps.Join(scenario.Topic)
	require.NoError(t, err)
	sub, err := topic.Subscribe()
	require.NoError(t, err)
	d := &deliveries{}
	go func() {
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			d.add("delivered", m.Data)
		}
	}()
	return d
}

type deliveries struct{ counts }

func (d *deliveries) get(prefix string) int { return d.counts.get("delivered", prefix) }
