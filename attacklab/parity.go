package attacklab

// Live parity: in the native arm, every honest node runs a peerscore
// Scorer beside the router's own scorer, as a passive raw tracer that the
// router never asks for a score, with the same parameters, thresholds,
// host and GossipSub parameters. Both are started at the same instant of
// the run's fake clock, so they decay at the same instants. At the
// router's score inspections (pubsub.WithPeerScoreInspect), each peer's
// score and counters are compared with the Scorer's, and every divergence
// is put down to a cause: one docs/compatibility.md's list of differences
// explains, or none.

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// Parity is what the live comparison of the native arm found.
type Parity struct {
	// Inspections is how many of the routers' inspections were compared,
	// over all honest nodes; Peers how many peer scores they held.
	Inspections int64 `json:"inspections"`
	Peers       int64 `json:"peers"`
	// Components says, per part of the score, how many comparisons
	// differed and by how much at most (in the part's own units).
	Components []ParityGap `json:"components"`
	// Causes puts every comparison whose score differed down to one
	// cause, with the largest score difference it accounts for.
	Causes []ParityGap `json:"causes"`
	// Unexplained counts the comparisons with a divergence that no
	// documented difference explains; Example is the first of them.
	Unexplained int64  `json:"unexplained"`
	Example     string `json:"example,omitempty"`
}

// ParityGap is one part or cause of divergence. NonZero, for a part, is
// how many of the comparisons found it non-zero in pubsub's scorer: a
// part that matched while always zero was not put to the test.
type ParityGap struct {
	Name      string  `json:"name"`
	NonZero   int64   `json:"nonzero,omitempty"`
	Diverged  int64   `json:"diverged"`
	Max       float64 `json:"max"`
	Explained bool    `json:"explained"`
}

// The parts compared, in Parity.Components' order.
const (
	partScore = iota
	partPeers
	partP1
	partP2
	partP3
	partP4
	partP5
	partP6
	partP7
	numParts
)

var partNames = [numParts]string{
	"score", "known peers (count of peers known to one scorer only)", "P1 time in mesh (seconds)",
	"P2 first deliveries", "P3 mesh deliveries", "P4 invalid messages",
	"P5 application score", "P6 colocation factor", "P7 behaviour penalty counter",
}

// The causes of a divergent score.
const (
	causeUnderCharged = iota // P7: the rebuilt router penalties charged less
	causeOverCharged         // P7: they charged more
	causeUnexplained
	numCauses
)

var causeNames = [numCauses]string{
	"router penalties rebuilt from the traces charged less than the router (docs/compatibility.md: they lean towards not charging where the traces cannot tell)",
	"router penalties rebuilt from the traces charged more than the router",
	"unexplained",
}

var causeExplained = [numCauses]bool{true, false, false}

// parityTally adds up one run's comparisons, from every honest node's
// inspections.
type parityTally struct {
	every  time.Duration // compare a node's inspections at most this often
	params *peerscore.Params
	closed atomic.Bool // the run is over: later inspections are not compared

	mu          sync.Mutex
	inspections int64
	peers       int64
	parts       [numParts]ParityGap
	causes      [numCauses]ParityGap
	example     string
}

func newParityTally(every time.Duration, params *peerscore.Params) *parityTally {
	t := &parityTally{every: every, params: params}
	for i := range t.parts {
		t.parts[i].Name = partNames[i]
	}
	for i := range t.causes {
		t.causes[i].Name, t.causes[i].Explained = causeNames[i], causeExplained[i]
	}
	return t
}

// parityWatch is one native node's passive Scorer.
type parityWatch struct {
	tally  *parityTally
	scorer *peerscore.Scorer
	// last is when the last comparison was, in UnixNano: pubsub runs each
	// inspection's callback on a goroutine of its own.
	last atomic.Int64
}

// compare compares one inspection of the router's scorer with the passive
// Scorer's state now: the inspection is taken at an instant that no decay,
// heartbeat or message shares (see inspectPeriod), so both are at the same
// point of the node's history.
func (w *parityWatch) compare(theirs map[peer.ID]*pubsub.PeerScoreSnapshot) {
	t := w.tally
	now, last := time.Now().UnixNano(), w.last.Load()
	if t.closed.Load() || now-last < int64(t.every) || !w.last.CompareAndSwap(last, now) {
		return
	}
	mine := w.scorer.Snapshots()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inspections++
	for p, th := range theirs {
		m, ok := mine[p]
		if !ok {
			t.unknown(p, "known to pubsub's scorer only")
			continue
		}
		t.comparePeer(p, th, m)
	}
	for p := range mine {
		if _, ok := theirs[p]; !ok {
			t.unknown(p, "known to peerscore only")
		}
	}
}

func (t *parityTally) unknown(p peer.ID, why string) {
	t.peers++
	t.diverged(partPeers, 1)
	t.blame(causeUnexplained, 0, fmt.Sprintf("peer %s %s", p, why))
}

func (t *parityTally) diverged(part int, by float64) {
	g := &t.parts[part]
	g.Diverged++
	g.Max = max(g.Max, math.Abs(by))
}

func (t *parityTally) blame(cause int, by float64, example string) {
	g := &t.causes[cause]
	g.Diverged++
	g.Max = max(g.Max, math.Abs(by))
	if !causeExplained[cause] && t.example == "" {
		t.example = example
	}
}

// comparePeer compares one peer's score and counters, and puts a divergent
// score down to its cause: a difference of the P7 counter alone that
// accounts for the whole score difference is the rebuilt router
// penalties'; anything else is unexplained.
func (t *parityTally) comparePeer(p peer.ID, th *pubsub.PeerScoreSnapshot, m peerscore.Snapshot) {
	t.peers++
	var other bool // a part other than P7 differs
	check := func(part int, want, got float64) {
		if want != 0 {
			t.parts[part].NonZero++
		}
		if !same(want, got) {
			t.diverged(part, got-want)
			other = other || part != partP7
		}
	}
	for _, name := range topicUnion(th, m) {
		var tt pubsub.TopicScoreSnapshot
		if x := th.Topics[name]; x != nil {
			tt = *x
		}
		mt := m.Topics[name]
		check(partP1, tt.TimeInMesh.Seconds(), mt.TimeInMesh.Seconds())
		check(partP2, tt.FirstMessageDeliveries, mt.FirstMessageDeliveries)
		check(partP3, tt.MeshMessageDeliveries, mt.MeshMessageDeliveries)
		check(partP4, tt.InvalidMessageDeliveries, mt.InvalidMessageDeliveries)
	}
	check(partP5, th.AppSpecificScore, m.AppSpecificScore)
	check(partP6, th.IPColocationFactor, m.IPColocationFactor)
	check(partP7, th.BehaviourPenalty, m.BehaviourPenalty)
	if th.Score != 0 {
		t.parts[partScore].NonZero++
	}
	if same(th.Score, m.Score) {
		if other {
			t.blame(causeUnexplained, 0, fmt.Sprintf("peer %s: counters differ at the same score", p))
		}
		return
	}
	diff := m.Score - th.Score
	t.diverged(partScore, diff)
	// The score peerscore would give with the router's P7 counter.
	withTheirs := m.Score - m.P7 + weightedP7(t.params, th.BehaviourPenalty)
	switch {
	case other || !same(th.Score, withTheirs):
		t.blame(causeUnexplained, diff, fmt.Sprintf("peer %s: score %v, pubsub's %v; P7 counter %v, pubsub's %v",
			p, m.Score, th.Score, m.BehaviourPenalty, th.BehaviourPenalty))
	case m.BehaviourPenalty < th.BehaviourPenalty:
		t.blame(causeUnderCharged, diff, "")
	default:
		t.blame(causeOverCharged, diff, fmt.Sprintf("peer %s: P7 counter %v, pubsub's %v",
			p, m.BehaviourPenalty, th.BehaviourPenalty))
	}
}

// weightedP7 is P7 for a counter, as the score function computes it.
func weightedP7(p *peerscore.Params, counter float64) float64 {
	if p.BehaviourPenaltyWeight == 0 || counter <= p.BehaviourPenaltyThreshold {
		return 0
	}
	x := counter - p.BehaviourPenaltyThreshold
	return x * x * p.BehaviourPenaltyWeight
}

func topicUnion(th *pubsub.PeerScoreSnapshot, m peerscore.Snapshot) []string {
	var names []string
	for name := range th.Topics {
		names = append(names, name)
	}
	for name := range m.Topics {
		if _, ok := th.Topics[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// same is equality to 1e-9 relative, as the parity test compares.
func same(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// result is the run's comparison, or nil if nothing was compared.
func (t *parityTally) result() *Parity {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &Parity{Inspections: t.inspections, Peers: t.peers, Example: t.example,
		Components: slices.Clone(t.parts[:]), Causes: slices.Clone(t.causes[:])}
	for _, c := range t.causes {
		if !c.Explained {
			p.Unexplained += c.Diverged
		}
	}
	return p
}

// inspectPeriod is the period of both scoring arms' score inspections:
// ScoreEvery and 1,007 ns more. Decays and router heartbeats come at whole
// milliseconds from the routers' start (every lab configuration's
// intervals and delays are whole milliseconds), and so would the
// inspections; with the odd nanoseconds, the k-th inspection falls on a
// whole millisecond only when k·1,007 ns is one, which takes k = 10⁶, more
// inspections than any run makes. An inspection that shared its instant
// with a decay could come before it or after it, at random: the live
// parity needs the router's inspection and the Scorer's snapshot on the
// same side of every event.
func inspectPeriod(cfg *Config) time.Duration { return cfg.ScoreEvery + 1007 }

// merge adds q's comparisons to p's (the report's totals over scenarios).
func (p *Parity) merge(q *Parity) {
	if len(p.Components) == 0 {
		p.Components = slices.Clone(q.Components)
		p.Causes = slices.Clone(q.Causes)
		for i := range p.Components {
			p.Components[i].NonZero, p.Components[i].Diverged, p.Components[i].Max = 0, 0, 0
		}
		for i := range p.Causes {
			p.Causes[i].Diverged, p.Causes[i].Max = 0, 0
		}
	}
	p.Inspections += q.Inspections
	p.Peers += q.Peers
	p.Unexplained += q.Unexplained
	if p.Example == "" {
		p.Example = q.Example
	}
	for i, g := range q.Components {
		c := &p.Components[i]
		c.NonZero += g.NonZero
		c.Diverged += g.Diverged
		c.Max = max(c.Max, g.Max)
	}
	for i, g := range q.Causes {
		c := &p.Causes[i]
		c.Diverged += g.Diverged
		c.Max = max(c.Max, g.Max)
	}
}

// parityTotal is the live parity over every native run, or nil if none
// compared anything.
func parityTotal(runs []*Result) *Parity {
	var total *Parity
	for _, r := range runs {
		if r.Arm == ArmNative && r.Parity != nil {
			if total == nil {
				total = new(Parity)
			}
			total.merge(r.Parity)
		}
	}
	return total
}

// writeParity is the report's section on the live parity.
func writeParity(w io.Writer, s *Suite) {
	total := s.Parity
	if total == nil {
		return
	}
	fmt.Fprintf(w, "## Live parity: peerscore beside pubsub's own scorer\n\n")
	fmt.Fprintf(w, "In the native arm, every honest node ran a peerscore Scorer beside the router's own scorer: a passive tracer, "+
		"not asked for scores, with the same parameters, thresholds, host and GossipSub parameters, started with the router so that both "+
		"decay at the same instants. Every %v at most, each node's score inspection (`pubsub.WithPeerScoreInspect`) was compared with the "+
		"Scorer's snapshot, peer by peer, to 1e-9: the score, and the counters pubsub's inspection shows.\n\n", s.Config.ParityEvery)
	fmt.Fprintf(w, "| scenario | seed | inspections | peer scores | scores that differ | unexplained |\n|---|---:|---:|---:|---:|---:|\n")
	for _, r := range s.Runs {
		if p := r.Parity; r.Arm == ArmNative && p != nil {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d |\n", r.Scenario, r.Seed, p.Inspections, p.Peers, p.Components[partScore].Diverged, p.Unexplained)
		}
	}
	fmt.Fprintf(w, "\nPer part, over every scenario (non-zero: how many comparisons found it non-zero in pubsub's scorer; a part that is never non-zero was not put to the test):\n\n")
	fmt.Fprintf(w, "| part | non-zero | differ | largest difference |\n|---|---:|---:|---:|\n")
	for _, g := range total.Components {
		fmt.Fprintf(w, "| %s | %d | %d | %.6g |\n", g.Name, g.NonZero, g.Diverged, g.Max)
	}
	fmt.Fprintln(w)
	if total.Components[partScore].Diverged == 0 && total.Unexplained == 0 {
		fmt.Fprintf(w, "Every one of the %d scores was pubsub's, to 1e-9.\n\n", total.Peers)
		return
	}
	fmt.Fprintf(w, "Causes of the scores that differ:\n\n| cause | explained | scores | largest difference |\n|---|---|---:|---:|\n")
	for _, g := range total.Causes {
		if g.Diverged > 0 {
			fmt.Fprintf(w, "| %s | %s | %d | %.6g |\n", g.Name, yesNo(g.Explained), g.Diverged, g.Max)
		}
	}
	fmt.Fprintln(w)
	if total.Unexplained > 0 {
		fmt.Fprintf(w, "**%d divergences that no documented difference explains**, the first: %s. This is a bug in peerscore: please report it.\n\n",
			total.Unexplained, total.Example)
	}
}
