package peerscore_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/rawpeer"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// extVerdict is what one run of the repeated-extensions scenario saw.
type extVerdict struct {
	charged        []float64 // the attacker's P7 counter after each of five repeats
	graylistedAt   int       // the repeat after which it was below the graylist threshold (0: never)
	attackerFinal  float64   // its P7 counter at the end
	honestPenalty  float64   // the honest neighbour's P7 counter at the end
	honestReturned bool      // the honest neighbour was connected again at the end
}

// A raw gossipsub v1.3 peer sends an extensions control message in its
// first RPC, as allowed, and then again and again: the router charges 10
// per repeat until the peer is graylisted, after which it reads nothing
// from it. An honest v1.3 router with an extension on, which sends its
// extensions once per stream, is never charged, even when it leaves and
// comes back on a new stream. The same with peerscore plugged in and with
// pubsub's own scorer, on the scenario parameters and on a P7 weight small
// enough for three charges before the graylist.
func TestE2ERepeatedExtensions(t *testing.T) {
	e2eSkipShort(t)
	for _, weight := range []float64{-10, -0.1} {
		verdicts := bothVerdicts(t, fmt.Sprintf("weight%v/", weight), func(t *testing.T, native bool) extVerdict {
			return repeatedExtensions(t, native, weight)
		})
		t.Logf("weight %v: peerscore %+v, pubsub %+v", weight, verdicts[0], verdicts[1])
		ours, native := verdicts[0], verdicts[1]
		require.NotZero(t, native.graylistedAt, "weight %v: pubsub never graylisted the attacker", weight)
		assert.Equal(t, native.graylistedAt, ours.graylistedAt, "weight %v: graylisted after the same repeat", weight)
		// The counters are compared exactly once things are quiet; after each
		// repeat, a decay and the native scorer's inspection can fall on the
		// same instant in either order, so there the charges are counted.
		assert.InDelta(t, native.attackerFinal, ours.attackerFinal, 1e-9, "weight %v: final P7 counter", weight)
		assert.Equal(t, charges(native.charged), charges(ours.charged), "weight %v: charges after each repeat", weight)
		for _, v := range verdicts {
			want := []int{1, 2, 3, 4, 5}
			for k := v.graylistedAt; k < len(want); k++ {
				want[k] = v.graylistedAt // nothing is read from a graylisted peer
			}
			assert.Equal(t, want, charges(v.charged), "weight %v: 10 per repeat until graylisted", weight)
			assert.Zero(t, v.honestPenalty, "weight %v: the honest neighbour was charged", weight)
			assert.True(t, v.honestReturned, "weight %v", weight)
		}
	}
}

func repeatedExtensions(t *testing.T, native bool, weight float64) extVerdict {
	n := newE2ENet(t, native)
	n.params.BehaviourPenaltyWeight = weight
	victimHost := n.host(testnet.PublicIP(1), 8000)
	friendHost := n.host(testnet.PublicIP(2), 8000)
	attackerHost := n.host("55.55.55.55", 8000)
	n.net.Start()
	seen := newExtensionsSeen()
	victim := n.router("victim", victimHost, true, nil, pubsub.WithRawTracer(seen))
	extensionsRouter(t, n, friendHost)
	n.connect(friendHost, victimHost)
	attacker := rawpeer.New(attackerHost, nil, rawpeer.WithProtocol(pubsub.GossipSubID_v13))
	n.connect(attackerHost, victimHost)
	time.Sleep(2 * time.Second)

	var v extVerdict
	penalty := func(p peer.ID) float64 {
		// The peer must be known: a zero read of an unknown one proves nothing.
		if victim.scorer != nil {
			return scoretest.Snap(t, victim.scorer, p).BehaviourPenalty
		}
		snap := victim.native.snapshot(p)
		require.NotNilf(t, snap, "pubsub's scorer does not know %s", p)
		return snap.BehaviourPenalty
	}
	send := func(rpc *pb.RPC) {
		require.NoError(t, attacker.Send(victimHost.ID(), rpc))
		time.Sleep(500 * time.Millisecond) // the native scorer's inspection catches up
	}
	send(rawpeer.WithExtensions(rawpeer.Subscribe(e2eTopic))) // the hello: allowed
	require.Zero(t, penalty(attackerHost.ID()), "extensions in the first RPC")
	send(rawpeer.Subscribe(e2eTopic))
	require.Zero(t, penalty(attackerHost.ID()), "an RPC without extensions")
	for k := 1; k <= 5; k++ {
		send(rawpeer.WithExtensions(&pb.RPC{}))
		v.charged = append(v.charged, penalty(attackerHost.ID()))
		if v.graylistedAt == 0 && n.score(victim, attackerHost.ID()) < n.thr.GraylistThreshold {
			v.graylistedAt = k
		}
	}

	// The honest neighbour leaves and comes back: its new stream's hello
	// carries its extensions again, which is allowed.
	require.NoError(t, friendHost.Network().ClosePeer(victimHost.ID()))
	time.Sleep(2 * time.Second)
	n.connect(friendHost, victimHost)
	time.Sleep(3 * time.Second)
	v.honestReturned = slices.Contains(victim.ps.ListPeers(e2eTopic), friendHost.ID())
	v.honestPenalty = penalty(friendHost.ID())
	v.attackerFinal = penalty(attackerHost.ID())
	// The scenario did what it says: six extensions messages came from the
	// attacker (the first allowed), one per stream from the neighbour.
	assert.Equal(t, 6, seen.count(attackerHost.ID()))
	assert.Equal(t, 2, seen.count(friendHost.ID()))
	if victim.scorer != nil {
		charged := victim.scorer.Stats().Penalties[peerscore.PenaltyRepeatedExtensions]
		assert.Equal(t, uint64(10*v.graylistedAt), charged, "charged 10 per repeat until graylisted, then nothing")
	}
	attacker.Close()
	return v
}

// extensionsRouter starts an unscored GossipSub router on h with pubsub's
// test extension on, so that the hello of each stream it opens carries an
// extensions control message, subscribed to the scenario's topic.
func extensionsRouter(t *testing.T, n *e2eNet, h host.Host) *pubsub.PubSub {
	t.Helper()
	ps, err := pubsub.NewGossipSub(n.ctx, h, pubsub.WithTestExtension(pubsub.TestExtensionConfig{}))
	require.NoError(t, err)
	topic, err := ps.Join(e2eTopic)
	require.NoError(t, err)
	sub, err := topic.Subscribe()
	require.NoError(t, err)
	go newInbox().drain(n.ctx, sub)
	return ps
}

// charges turns P7 counters, each read within seconds of its last charge of
// 10 (the counter decays by 1% a second), into the number of charges.
func charges(counters []float64) []int {
	out := make([]int, len(counters))
	for i, c := range counters {
		out[i] = int(math.Round(c / 10))
	}
	return out
}

// extensionsSeen counts, per peer, the RPCs with an extensions control
// message a router received.
type extensionsSeen struct {
	noTrace
	mu sync.Mutex
	n  map[peer.ID]int
}

func newExtensionsSeen() *extensionsSeen { return &extensionsSeen{n: map[peer.ID]int{}} }

func (e *extensionsSeen) RecvRPC(rpc *pubsub.RPC) {
	if rpc.GetControl().GetExtensions() != nil {
		e.mu.Lock()
		e.n[rpc.From()]++
		e.mu.Unlock()
	}
}

func (e *extensionsSeen) count(p peer.ID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[p]
}
