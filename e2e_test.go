package peerscore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/rawpeer"
	"github.com/peerscore/peerscore/internal/scenario"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// honestRing adds n honest, scoring nodes at distinct addresses, each
// connected to the next three: a ring with chords, degree six, enough for
// GossipSub's default mesh.
func (n *e2eNet) honestRing(count int) []*e2eNode {
	hosts := make([]*e2eNode, count)
	for i := range hosts {
		h := n.host(testnet.PublicIP(i+1), 8000)
		hosts[i] = &e2eNode{h: h}
	}
	n.net.Start()
	for i := range hosts {
		hosts[i] = n.router(fmt.Sprintf("honest-%d", i), hosts[i].h, true, scenario.RejectBad)
	}
	for i := range hosts {
		for k := 1; k <= 3; k++ {
			n.connect(hosts[i].h, hosts[(i+k)%count].h)
		}
	}
	return hosts
}

// assertHonestNonNegative checks that no honest node scores another honest
// node below zero.
func (n *e2eNet) assertHonestNonNegative(honest []*e2eNode) {
	n.t.Helper()
	for _, obs := range honest {
		for _, other := range honest {
			if obs != other {
				assert.GreaterOrEqual(n.t, n.score(obs, other.h.ID()), 0.0, "%s scores honest %s", obs.name, other.name)
			}
		}
	}
}

// backgroundTraffic publishes honest messages every interval until stop is
// closed, and returns what it published when wait is called.
func (n *e2eNet) backgroundTraffic(from []*e2eNode, interval time.Duration) (stop func() []string) {
	done := make(chan struct{})
	var sent []string
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
			data := fmt.Sprintf("honest-%d", i)
			if err := from[i%len(from)].topic.Publish(n.ctx, []byte(data)); err == nil {
				sent = append(sent, data)
			}
		}
	})
	return func() []string {
		close(done)
		wg.Wait()
		return sent
	}
}

// Scenarios 1, 6, 7 and 8: an invalid-message spammer falls below the
// graylist threshold of its neighbours, after which even its valid messages
// go nowhere; disconnecting and reconnecting does not clean its score;
// honest messages keep arriving everywhere and honest peers stay at or above
// zero. Run with peerscore and with pubsub's own scorer on the same
// parameters: both must reach the same verdict.
func TestE2EInvalidSpammer(t *testing.T) { bothScorers(t, invalidSpammer) }

// bothScorers runs scenario once scoring with peerscore and once with
// pubsub's own scorer.
func bothScorers(t *testing.T, scenario func(t *testing.T, native bool)) {
	e2eSkipShort(t)
	bothVerdicts(t, "", func(t *testing.T, native bool) struct{} {
		scenario(t, native)
		return struct{}{}
	})
}

// bothVerdicts runs scenario as two end-to-end subtests, prefix+"peerscore"
// scoring with peerscore and prefix+"pubsub-native" with pubsub's own
// scorer, and returns what each returned, peerscore's first. The caller
// calls e2eSkipShort first.
func bothVerdicts[V any](t *testing.T, prefix string, scenario func(t *testing.T, native bool) V) [2]V {
	var verdicts [2]V
	for i, native := range []bool{false, true} {
		name := map[bool]string{false: "peerscore", true: "pubsub-native"}[native]
		t.Run(prefix+name, func(t *testing.T) {
			e2eTest(t, func(t *testing.T) { verdicts[i] = scenario(t, native) })
		})
	}
	return verdicts
}

func invalidSpammer(t *testing.T, native bool) {
	n := newE2ENet(t, native)
	attackerHost := n.host("66.66.66.66", 8000)
	honest := n.honestRing(12)
	attacker := n.router("spammer", attackerHost, false, nil)
	neighbours := honest[:4]
	for _, nb := range neighbours {
		n.connect(attacker.h, nb.h)
	}
	time.Sleep(3 * time.Second) // meshes form

	stop := n.backgroundTraffic(honest, 100*time.Millisecond)
	for i := 0; i < 20; i++ {
		n.publish(attacker, fmt.Sprintf("bad-%d", i))
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	for _, nb := range neighbours {
		assert.Less(t, n.score(nb, attacker.h.ID()), n.thr.GraylistThreshold, "%s's score of the spammer", nb.name)
	}

	// Graylisted: its RPCs are dropped unread, valid messages included.
	for i := 0; i < 10; i++ {
		n.publish(attacker, fmt.Sprintf("spammer-valid-%d", i))
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	for _, h := range honest {
		assert.Zero(t, h.inbox.countPrefix("spammer-valid-"), "%s received the graylisted spammer's messages", h.name)
	}

	// Leaving and coming back keeps the score: it was retained.
	observer := neighbours[0]
	before := n.score(observer, attacker.h.ID())
	for _, nb := range neighbours {
		require.NoError(t, attacker.h.Network().ClosePeer(nb.h.ID()))
	}
	time.Sleep(3 * time.Second)
	if observer.scorer != nil {
		snap, ok := observer.scorer.Snapshot(attacker.h.ID())
		require.True(t, ok, "a disconnected peer with a negative score is retained")
		assert.False(t, snap.Connected)
		assert.False(t, snap.RetainedUntil.IsZero())
		assert.Equal(t, before, snap.Score, "retained scores do not decay")
	}
	for _, nb := range neighbours {
		n.connect(attacker.h, nb.h)
	}
	time.Sleep(2 * time.Second)
	for _, nb := range neighbours {
		assert.Less(t, n.score(nb, attacker.h.ID()), n.thr.GraylistThreshold, "%s after reconnect", nb.name)
	}

	sent := stop()
	time.Sleep(2 * time.Second) // let the last messages land
	require.NotEmpty(t, sent)
	for _, h := range honest {
		missing := 0
		for _, d := range sent {
			if !h.inbox.has(d) {
				missing++
			}
		}
		assert.Zero(t, missing, "%s missed %d of %d honest messages", h.name, missing, len(sent))
	}
	n.assertHonestNonNegative(honest)
}

// Scenarios 4, 7 and 8: a mesh peer that takes messages and never forwards
// any is charged P3 once its activation passes, driven below zero and
// pruned; the P3 deficit it owed stays as P3b after the prune, and, as in
// pubsub, P3 goes on charging it. Same verdict with pubsub's own scorer.
func TestE2ENonForwarder(t *testing.T) { bothScorers(t, nonForwarder) }

func nonForwarder(t *testing.T, native bool) {
	n := newE2ENet(t, native)
	silentHost := n.host("77.77.77.77", 8000)
	honest := n.honestRing(10)
	silent := n.router("non-forwarder", silentHost, false, scenario.IgnoreAll)
	neighbours := honest[:6]
	for _, nb := range neighbours {
		n.connect(silent.h, nb.h)
	}
	stop := n.backgroundTraffic(honest, 100*time.Millisecond)

	// Watch the neighbours' view of the silent peer while it is in their mesh.
	grafted := map[*e2eNode]bool{}
	worstP3 := map[*e2eNode]float64{}
	for step := 0; step < 300; step++ { // 30 s
		time.Sleep(100 * time.Millisecond)
		for _, nb := range neighbours {
			if !nb.mesh.inMesh(silent.h.ID()) {
				continue
			}
			grafted[nb] = true
			if nb.scorer != nil {
				snap, _ := nb.scorer.Snapshot(silent.h.ID())
				worstP3[nb] = min(worstP3[nb], snap.Topics[e2eTopic].P3)
			}
		}
	}
	sent := stop()
	time.Sleep(time.Second)

	require.NotEmpty(t, grafted, "the silent peer never made it into a mesh")
	for nb := range grafted {
		id := silent.h.ID()
		assert.Less(t, n.score(nb, id), 0.0, "%s's score of the silent peer", nb.name)
		assert.False(t, nb.mesh.inMesh(id), "%s still has the silent peer in its mesh", nb.name)
		assert.Positive(t, nb.mesh.prunes(id), "%s never pruned the silent peer", nb.name)
		if nb.scorer == nil {
			continue
		}
		assert.Less(t, worstP3[nb], 0.0, "%s never charged P3", nb.name)
		snap, _ := nb.scorer.Snapshot(id)
		ts := snap.Topics[e2eTopic]
		assert.False(t, ts.InMesh)
		assert.Positive(t, ts.MeshFailurePenalty, "%s: P3b counter", nb.name)
		assert.Negative(t, ts.P3b, "%s: P3b stays after the prune", nb.name)
		assert.True(t, ts.MeshDeliveriesActive, "%s: P3 stays active after the prune, as in pubsub", nb.name)
		assert.Negative(t, ts.P3, "%s: P3 still charged after the prune, as in pubsub", nb.name)
	}
	for _, h := range honest {
		for _, d := range sent[:len(sent)-5] {
			assert.True(t, h.inbox.has(d), "%s missed %s", h.name, d)
		}
	}
	n.assertHonestNonNegative(honest)
}

// Scenario 2: a peer that advertises messages with IHAVE and never answers
// the IWANTs is charged the rebuilt broken-promise penalty and falls below
// the gossip threshold, after which the router stops asking it.
func TestE2EBrokenPromises(t *testing.T) {
	e2eTest(t, func(t *testing.T) {
		n := newE2ENet(t, false)
		liarHost := n.host("88.88.88.88", 8000)
		honest := n.honestRing(10)
		victim := honest[0]

		var mu sync.Mutex
		var iwants []time.Time
		liar := rawpeer.New(liarHost, func(_ peer.ID, rpc *pb.RPC) {
			if len(rpc.GetControl().GetIwant()) > 0 {
				mu.Lock()
				iwants = append(iwants, time.Now())
				mu.Unlock()
			}
		})
		n.connect(liarHost, victim.h)
		time.Sleep(2 * time.Second)
		require.NoError(t, liar.Send(victim.h.ID(), rawpeer.Subscribe(e2eTopic)))
		time.Sleep(time.Second)

		var below time.Time
		for i := 0; i < 60 && below.IsZero(); i++ {
			ids := make([]string, 3)
			for k := range ids {
				ids[k] = fmt.Sprintf("never-sent-%d-%d", i, k)
			}
			require.NoError(t, liar.Send(victim.h.ID(), rawpeer.IHave(e2eTopic, ids...)))
			time.Sleep(500 * time.Millisecond)
			if victim.scorer.Score(liarHost.ID()) < n.thr.GossipThreshold {
				below = time.Now()
			}
		}
		require.False(t, below.IsZero(), "the liar never fell below the gossip threshold")
		st := victim.scorer.Stats()
		assert.GreaterOrEqual(t, st.Penalties[peerscore.PenaltyBrokenPromise], uint64(3))
		snap, _ := victim.scorer.Snapshot(liarHost.ID())
		assert.Less(t, snap.P7, n.thr.GossipThreshold, "the score is low because of P7")

		// Below the gossip threshold, its IHAVEs are ignored.
		for i := 0; i < 10; i++ {
			require.NoError(t, liar.Send(victim.h.ID(), rawpeer.IHave(e2eTopic, fmt.Sprintf("later-%d", i))))
			time.Sleep(500 * time.Millisecond)
		}
		mu.Lock()
		late := 0
		for _, at := range iwants {
			if at.After(below.Add(100 * time.Millisecond)) {
				late++
			}
		}
		asked := len(iwants)
		mu.Unlock()
		assert.Positive(t, asked, "the victim never asked the liar for anything")
		assert.Zero(t, late, "IWANTs sent to a peer below the gossip threshold")
		liar.Close()
	})
}

// Scenario 3: a peer that GRAFTs again during the backoff its own PRUNE asked
// for is charged 2 inside the graft flood window and 1 after it, exactly as
// the router charges its own scorer.
func TestE2EGraftDuringBackoff(t *testing.T) {
	e2eSkipShort(t)
	counters := bothVerdicts(t, "", graftDuringBackoff)
	assert.InDelta(t, counters[1], counters[0], 1e-9, "rebuilt P7 counter equals the router's own")
}

func graftDuringBackoff(t *testing.T, native bool) float64 {
	n := newE2ENet(t, native)
	rudeHost := n.host("99.99.99.99", 8000)
	honest := n.honestRing(10)
	victim := honest[0]
	rude := rawpeer.New(rudeHost, nil)
	n.connect(rudeHost, victim.h)
	time.Sleep(2 * time.Second)
	send := func(rpc *pb.RPC) { require.NoError(t, rude.Send(victim.h.ID(), rpc)) }
	send(rawpeer.Subscribe(e2eTopic))
	time.Sleep(500 * time.Millisecond)

	send(rawpeer.Graft(e2eTopic))
	time.Sleep(500 * time.Millisecond)
	require.True(t, victim.mesh.inMesh(rudeHost.ID()), "the victim accepted the first GRAFT")

	penalties := func() uint64 {
		if victim.scorer == nil {
			return 0
		}
		return victim.scorer.Stats().Penalties[peerscore.PenaltyGraftBackoff]
	}
	send(rawpeer.Prune(e2eTopic, 60)) // asks for a 60 s backoff
	time.Sleep(500 * time.Millisecond)
	send(rawpeer.Graft(e2eTopic)) // inside the backoff and the 10 s flood window: +2
	time.Sleep(500 * time.Millisecond)
	if !native {
		assert.Equal(t, uint64(2), penalties())
	}
	time.Sleep(15 * time.Second)
	send(rawpeer.Graft(e2eTopic)) // still backing off, past the flood window: +1
	time.Sleep(500 * time.Millisecond)
	if !native {
		assert.Equal(t, uint64(3), penalties())
	}
	assert.False(t, victim.mesh.inMesh(rudeHost.ID()))
	rude.Close()

	time.Sleep(2 * time.Second) // quiet: the native scorer's inspection catches up
	if native {
		snap := victim.native.snapshot(rudeHost.ID())
		require.NotNil(t, snap)
		return snap.BehaviourPenalty
	}
	snap, ok := victim.scorer.Snapshot(rudeHost.ID())
	require.True(t, ok)
	return snap.BehaviourPenalty
}

// Scenario 5: peers sharing one IP address are charged P6 once they
// outnumber the threshold; peers on their own addresses are not. Retained
// (disconnected, non-positive) peers keep counting until forgotten, as in
// pubsub, so leaving briefly does not lift the penalty.
func TestE2EIPColocation(t *testing.T) {
	e2eTest(t, func(t *testing.T) {
		n := newE2ENet(t, false)
		var sybilHosts []*e2eNode
		for i := 0; i < 5; i++ {
			sybilHosts = append(sybilHosts, &e2eNode{h: n.host("9.9.9.9", 9001+i)})
		}
		honest := n.honestRing(10)
		victim := honest[0]
		var sybils []*e2eNode
		for i, s := range sybilHosts {
			sybils = append(sybils, n.router(fmt.Sprintf("sybil-%d", i), s.h, false, nil))
			n.connect(s.h, victim.h)
		}
		time.Sleep(3 * time.Second)

		// threshold 3, five peers on 9.9.9.9: (5-3)^2 = 4, times -10
		for _, s := range sybils {
			snap, ok := victim.scorer.Snapshot(s.h.ID())
			require.True(t, ok)
			assert.Equal(t, []string{"9.9.9.9"}, snap.IPs)
			assert.Equal(t, 4.0, snap.IPColocationFactor, s.name)
			assert.Equal(t, -40.0, snap.P6, s.name)
		}
		for _, h := range honest[1:4] {
			snap := scoretest.Snap(t, victim.scorer, h.h.ID())
			assert.Zero(t, snap.P6, "%s has an address of its own", h.name)
		}

		// Two Sybils leave: retained with their negative scores, they still count.
		for _, s := range sybils[:2] {
			require.NoError(t, s.h.Network().ClosePeer(victim.h.ID()))
		}
		time.Sleep(2 * time.Second)
		snap, _ := victim.scorer.Snapshot(sybils[4].h.ID())
		assert.Equal(t, -40.0, snap.P6, "retained peers keep counting")

		// Once forgotten (RetainScore passed), three are left: at the threshold, no penalty.
		time.Sleep(n.params.RetainScore + 2*time.Second)
		snap = scoretest.Snap(t, victim.scorer, sybils[4].h.ID()) // still connected
		assert.Zero(t, snap.IPColocationFactor)
		assert.Zero(t, snap.P6)
		_, ok := victim.scorer.Snapshot(sybils[0].h.ID())
		assert.False(t, ok, "forgotten after RetainScore")
	})
}
