package peerscore_test

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/rawpeer"
	"github.com/peerscore/peerscore/internal/testnet"
)

// routerReportsWrites tells whether this pubsub reports write times to
// raw tracers (RawTracer.SendRPCCompleted, from v0.19.0 on).
func routerReportsWrites() bool {
	_, ok := reflect.TypeFor[pubsub.RawTracer]().MethodByName("SendRPCCompleted")
	return ok
}

// writeLog records, from the router's own traces, what it wrote to one
// peer and how long each write took, and what it dropped.
type writeLog struct {
	noTrace
	peer      peer.ID
	threshold time.Duration

	mu                  sync.Mutex
	fast, slow, dropped int
	longest             time.Duration
}

func (w *writeLog) SendRPCCompleted(_ *pubsub.RPC, p peer.ID, took time.Duration) {
	if p != w.peer {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if took > w.threshold {
		w.slow++
	} else {
		w.fast++
	}
	w.longest = max(w.longest, took)
}

func (w *writeLog) DropRPC(rpc *pubsub.RPC, p peer.ID) {
	if p != w.peer {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dropped += len(rpc.GetPublish())
}

func (w *writeLog) counts() (fast, slow, dropped int, longest time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fast, w.slow, w.dropped, w.longest
}

// TestE2ESlowWrites: a peer that stops reading for a while (a raw peer
// that stalls its inbound stream, so QUIC flow control holds the router's
// writes until it reads again) is charged one slow-peer point per write
// that took longer than SlowPeerWriteThreshold: exactly the slow writes
// the router reports, while its queue never overflows (no DropRPC), so
// every point comes from the write-time signal. It needs pubsub v0.19.0 or
// later, which reports write times; .ci/pubsub-compat v0.19.0 runs it.
func TestE2ESlowWrites(t *testing.T) {
	if !routerReportsWrites() {
		t.Skip("this pubsub reports no write times (RawTracer has no SendRPCCompleted before v0.19.0); " +
			"run .ci/pubsub-compat v0.19.0")
	}
	e2eTest(t, func(t *testing.T) {
		const threshold = 500 * time.Millisecond
		n := newE2ENet(t, false)
		// Slow-peer points count, but stay under the penalty's threshold, so
		// the peer keeps a score at which the router goes on sending to it.
		n.params.SlowPeerWeight, n.params.SlowPeerThreshold, n.params.SlowPeerDecay = -1, 1000, 0.99
		n.params.SlowPeerWriteThreshold = threshold
		// And no P3: a mesh peer that forwards nothing would soon score below
		// zero and be pruned, after which the router sends it no messages.
		tp := *n.params.Topics[e2eTopic]
		tp.MeshMessageDeliveriesWeight, tp.MeshFailurePenaltyWeight = 0, 0
		n.params.Topics = map[string]*peerscore.TopicParams{e2eTopic: &tp}
		srcHost := n.host(testnet.PublicIP(1), 8000)
		slowHost := n.host("77.77.77.77", 8000)
		writes := &writeLog{peer: slowHost.ID(), threshold: threshold}
		n.routerOpts = []pubsub.Option{pubsub.WithRawTracer(writes)}
		n.net.Start()
		src := n.router("source", srcHost, true, nil)
		slow := rawpeer.New(slowHost, nil)
		t.Cleanup(slow.Resume) // a stalled reader would outlive the bubble
		n.connect(slowHost, srcHost)
		time.Sleep(time.Second)
		require.NoError(t, slow.Send(srcHost.ID(), rawpeer.Subscribe(e2eTopic)))
		time.Sleep(time.Second)

		payload := bytes.Repeat([]byte("s"), 300<<10)
		sent := 0
		publish := func() {
			data := append(fmt.Appendf(nil, "%d-", sent), payload...)
			require.NoError(t, src.topic.Publish(n.ctx, data))
			sent++
			time.Sleep(250 * time.Millisecond)
		}
		completed := func() int {
			fast, slow, _, _ := writes.counts()
			return fast + slow
		}
		for range 4 {
			publish() // reading: every write is quick
		}
		fast, slowWrites, _, _ := writes.counts()
		require.Positive(t, fast, "the router writes to the peer")
		require.Zero(t, slowWrites, "no slow write while the peer reads")

		// Each stall lasts until the router's writes have stopped completing
		// (the flow-control window is full, whatever size QUIC has tuned it
		// to) and 2 s more; the queue holds the messages meanwhile.
		const stalls = 3
		for round := 1; round <= stalls; round++ {
			slow.Stall()
			before := sent
			flat, last := 0, completed()
			for i := 0; i < 28 && flat < 4; i++ {
				publish()
				if now := completed(); now == last {
					flat++
				} else {
					flat, last = 0, now
				}
			}
			require.Equal(t, 4, flat, "stall %d: the router's writes never blocked", round)
			t.Logf("stall %d: writes blocked after %d messages", round, sent-before-flat)
			time.Sleep(2 * time.Second)
			slow.Resume()
			time.Sleep(4 * time.Second) // the queue drains
			_, sw, dr, lg := writes.counts()
			t.Logf("after stall %d: slow writes %d, longest %v, dropped %d", round, sw, lg, dr)
		}

		_, slowWrites, dropped, longest := writes.counts()
		t.Logf("slow writes %d, longest %v, dropped %d", slowWrites, longest, dropped)
		require.GreaterOrEqual(t, slowWrites, stalls, "each stall holds up a write")
		require.Zero(t, dropped, "the queue never overflowed: every point is from write times")
		st := src.scorer.Stats()
		assert.Equal(t, uint64(slowWrites), st.Penalties[peerscore.PenaltySlowPeer], "one point per slow write")
		snap, ok := src.scorer.Snapshot(slowHost.ID())
		require.True(t, ok)
		assert.Positive(t, snap.SlowPeerCounter)
		assert.LessOrEqual(t, snap.SlowPeerCounter, float64(slowWrites), "decaying since")
		slow.Close()
	})
}
