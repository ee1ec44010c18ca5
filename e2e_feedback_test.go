package peerscore_test

import (
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/testnet"
)

// feedbackVerdict is what the victim's scorer held about its neighbour in
// the topic after the application's feedback.
type feedbackVerdict struct {
	first, mesh, invalid [2]float64 // counters after the useful, then the invalid feedback
	score                [2]float64
	inMesh               bool // the neighbour was in the victim's mesh when credited
}

// An application using partial messages tells the router's scorer which
// peer gave it a useful part and which an invalid one: with pubsub's own
// scoring through PubSub.PeerFeedback, with peerscore plugged in through
// Scorer.PeerFeedback. On real routers, the P2, P3 and P4 counters and the
// scores come out the same.
func TestE2EPeerFeedback(t *testing.T) {
	e2eSkipShort(t)
	verdicts := bothVerdicts(t, "", peerFeedback)
	t.Logf("peerscore %+v, pubsub %+v", verdicts[0], verdicts[1])
	ours, native := verdicts[0], verdicts[1]
	require.True(t, native.inMesh && ours.inMesh, "the neighbour should be in the mesh, for P3")
	for k, phase := range []string{"after the useful feedback", "after the invalid feedback"} {
		assert.InDelta(t, native.first[k], ours.first[k], 1e-9, "P2 counter %s", phase)
		assert.InDelta(t, native.mesh[k], ours.mesh[k], 1e-9, "P3 counter %s", phase)
		assert.InDelta(t, native.invalid[k], ours.invalid[k], 1e-9, "P4 counter %s", phase)
		assert.InDelta(t, native.score[k], ours.score[k], 1e-9, "score %s", phase)
	}
	// Three useful parts, within the P2 cap of 10 and the P3 cap of 20, read
	// before a decay; a second later, after one decay of 0.9, two invalid
	// ones.
	for _, v := range verdicts {
		assert.InDeltaSlice(t, []float64{3, 2.7}, v.first[:], 1e-9, "P2 counter")
		assert.InDeltaSlice(t, []float64{3, 2.7}, v.mesh[:], 1e-9, "P3 counter")
		assert.InDeltaSlice(t, []float64{0, 2}, v.invalid[:], 1e-9, "P4 counter")
	}
}

func peerFeedback(t *testing.T, native bool) feedbackVerdict {
	n := newE2ENet(t, native)
	victimHost := n.host(testnet.PublicIP(1), 8000)
	friendHost := n.host(testnet.PublicIP(2), 8000)
	n.net.Start()
	victim := n.router("victim", victimHost, true, nil)
	start := time.Now() // both scorers decay a whole number of seconds after this
	n.router("friend", friendHost, false, nil)
	n.connect(friendHost, victimHost)
	time.Sleep(3 * time.Second)

	friend := friendHost.ID()
	feedback := func(kind pubsub.PeerFeedbackKind, times int) {
		for range times {
			if native {
				require.NoError(t, victim.ps.PeerFeedback(e2eTopic, friend, kind))
			} else {
				victim.scorer.PeerFeedback(e2eTopic, friend, kind)
			}
		}
	}
	var v feedbackVerdict
	// Read between two decays and after a native inspection (every 100 ms),
	// so that a decay and an inspection never fall on the same instant.
	read := func(k int) {
		sleepToPhase(start, 650*time.Millisecond)
		if native {
			snap := victim.native.snapshot(friend)
			require.NotNil(t, snap)
			ts := snap.Topics[e2eTopic]
			require.NotNil(t, ts)
			v.first[k], v.mesh[k], v.invalid[k] = ts.FirstMessageDeliveries, ts.MeshMessageDeliveries, ts.InvalidMessageDeliveries
			v.score[k] = snap.Score
			return
		}
		snap, ok := victim.scorer.Snapshot(friend)
		require.True(t, ok)
		ts := snap.Topics[e2eTopic]
		v.first[k], v.mesh[k], v.invalid[k] = ts.FirstMessageDeliveries, ts.MeshMessageDeliveries, ts.InvalidMessageDeliveries
		v.score[k] = snap.Score
	}

	sleepToPhase(start, 200*time.Millisecond)
	v.inMesh = victim.mesh.inMesh(friend)
	feedback(pubsub.PeerFeedbackUsefulMessage, 3)
	read(0)
	sleepToPhase(start, 200*time.Millisecond)
	feedback(pubsub.PeerFeedbackInvalidMessage, 2)
	read(1)
	return v
}

// sleepToPhase sleeps until the next instant that is a whole number of
// seconds and phase after start.
func sleepToPhase(start time.Time, phase time.Duration) {
	into := time.Since(start) % time.Second
	wait := phase - into
	if wait <= 0 {
		wait += time.Second
	}
	time.Sleep(wait)
}
