package peerscore

// The router check: does the router score with our score alone?
//
// Invariant: the check only reads and reports (a log line, a count); it
// never changes a score or a book. Its state is atomic, so that the
// router's score queries and RPCs pass it without a lock, but for the
// suspects, which only inspections touch, under routerCheck.mu.

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// defaultRouterCheckPeriod: see WithRouterCheck.
const defaultRouterCheckPeriod = 10 * time.Second

// The router check. GossipSubOptions arms the router's internal scorer with
// zero weights and our score as its application-specific score, so that its
// thresholds act on our score alone. Two mistakes undo that silently, and
// each has its own detector:
//
//   - Topic.SetScoreParams (Prysm calls it for every topic) arms the
//     router's internal scorer with real topic weights: every peer is then
//     scored twice. The router's extended score inspection (installed by
//     GossipSubOptions) shows it: with our wiring its snapshots have no
//     topics and a score equal to the application-specific score.
//   - pubsub.WithPeerScore after GossipSubOptions replaces the router's
//     scorer, our inspection with it, and the router never again asks for
//     our score. The Scorer sees that from its side: RPCs from connected
//     peers arrive (each one makes the router ask for its sender's score)
//     but the score function it handed the router is never called.
type routerCheck struct {
	period time.Duration // 0: off

	// watching is set by GossipSubOptions and cleared by the router's
	// first call for a connected peer's score, which proves the wiring for
	// good: a router's scorer cannot be replaced after it is built.
	watching atomic.Bool
	// unasked counts RPCs from connected peers received while watching.
	unasked atomic.Uint64
	// reported is unasked at the last report; only the loop touches it.
	reported uint64

	mismatches atomic.Uint64 // periods (per detector) that found a mismatch

	mu       sync.Mutex           // serialises inspections, which pubsub runs on goroutines of their own
	suspects map[peer.ID]struct{} // peers whose score alone differed at the last inspection
}

// routerScore is the application-specific score GossipSubOptions gives the
// router: the engine's Score, noting that the router asked. Once the
// wiring is proven the note costs one atomic load.
func (r *routerMirror) routerScore(p peer.ID) float64 {
	if r.check.watching.Load() {
		r.noteAsked(p)
	}
	return r.eng.Score(p)
}

// noteAsked ends the watch if p is connected. An ask for a peer that is
// not proves nothing: a scorer the router replaced still gets the router's
// traces, and asks for a disconnecting peer's score (after our own trace
// marked it disconnected) to decide whether to retain it.
func (r *routerMirror) noteAsked(p peer.ID) {
	if r.eng.connected(p) {
		r.check.watching.Store(false)
	}
}

// noteRecv counts an RPC for the "never asked" detector while it waits for
// the router's first call (RecvRPC calls it only then). Only RPCs from
// peers we know as connected count: the router learns peers from the same
// trace, just after us, and asks for the score of every such RPC's sender
// (but a direct peer's) right after tracing it, so a second such RPC with
// no call in between means the router is not asking us.
func (r *routerMirror) noteRecv(rpc *pubsub.RPC) {
	if rpc != nil && !r.direct.has(rpc.From()) && r.eng.connected(rpc.From()) {
		r.check.unasked.Add(1)
	}
}

// checkRouterAsked is the "never asked" detector, which the loop runs once
// per period: it reports the router if it received RPCs from connected
// peers, two at least and some since the last report, without ever asking
// for our score.
func (r *routerMirror) checkRouterAsked() {
	c := &r.check
	if !c.watching.Load() {
		return
	}
	n := c.unasked.Load()
	if n < 2 || n == c.reported {
		return
	}
	c.reported = n
	c.mismatches.Add(1)
	r.eng.logger.Error("peerscore: the GossipSub router is not scoring with peerscore: "+
		"it received RPCs from connected peers but never asked for peerscore's score. "+
		"Likely cause: pubsub.WithPeerScore after the options of Scorer.GossipSubOptions, "+
		"which replaces the router's scorer; drop it and configure peerscore's Params instead "+
		"(topic parameters with Scorer.SetTopicParams, not Topic.SetScoreParams; "+
		"inspection with peerscore.WithInspect, not pubsub.WithPeerScoreInspect)",
		"rpcs_unasked", n)
}

// inspectRouter is the router's extended score inspection
// (pubsub.WithPeerScoreInspect, installed by GossipSubOptions). The router
// builds each snapshot under its scorer's lock: Score is its own total,
// whose only nonzero part must be our score (through AppSpecificScore,
// weight 1), then AppSpecificScore is our score asked again; Topics are
// the topics its internal scorer has parameters for, which must be none.
//
// Topics in a snapshot are reported at once. A Score apart from
// AppSpecificScore with no topics is reported only when the same peer shows
// it at two inspections in a row: our score can change between the
// router's two calls (an event, a decay, the application's own score), and
// no known misconfiguration gives it without topics; it is there for a
// future pubsub whose scorer gains a component our zero weights miss.
func (r *routerMirror) inspectRouter(snaps map[peer.ID]*pubsub.PeerScoreSnapshot) {
	c := &r.check
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		bad     int
		example peer.ID
		snap    *pubsub.PeerScoreSnapshot
	)
	suspects := make(map[peer.ID]struct{})
	for p, pss := range snaps {
		if pss == nil {
			continue
		}
		mismatch := len(pss.Topics) > 0
		if !mismatch && !scoresAgree(pss.Score, pss.AppSpecificScore) {
			_, again := c.suspects[p]
			suspects[p] = struct{}{}
			mismatch = again
		}
		if mismatch {
			bad++
			if example == "" || p < example { // the same example for the same state
				example, snap = p, pss
			}
		}
	}
	c.suspects = suspects
	if bad == 0 {
		return
	}
	c.mismatches.Add(1)
	topics := make([]string, 0, len(snap.Topics))
	for t := range snap.Topics {
		topics = append(topics, t)
	}
	r.eng.logger.Error("peerscore: the GossipSub router scores peers on its own besides peerscore's score, "+
		"so its thresholds act on a different score. "+
		"Likely cause: Topic.SetScoreParams on this router, which arms the router's internal scorer "+
		"with real weights (call Scorer.SetTopicParams instead); or pubsub.WithPeerScore or "+
		"pubsub.WithPeerScoreInspect added to the options of Scorer.GossipSubOptions "+
		"(configure peerscore's Params, and use peerscore.WithInspect)",
		"peers", bad, "example", example, "router_score", snap.Score,
		"peerscore_score", snap.AppSpecificScore, "router_topics", topics)
}

// scoresAgree tells whether the router's total equals our score, to 1e-9
// relative and 1e-12 absolute (the router adds zero components to it).
// Equal infinities agree; an infinity and anything else do not.
func scoresAgree(router, ours float64) bool {
	if router == ours {
		return true
	}
	if math.IsInf(router, 0) || math.IsInf(ours, 0) {
		return false
	}
	return math.Abs(router-ours) <= 1e-9*math.Max(math.Abs(router), math.Abs(ours))+1e-12
}
