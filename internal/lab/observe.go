package lab

import (
	"math"
	"slices"
	"time"

	"github.com/peerscore/peerscore"
)

// Level is a score threshold the report follows attackers across.
type Level struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// levels are zero and the router's thresholds, from mildest to harshest:
// below zero a peer is pruned and its GRAFTs refused; below gossip it gets
// no gossip; below publish no published messages; below graylist its RPCs
// are ignored.
func levels(t *peerscore.Thresholds) []Level {
	return []Level{
		{"zero", 0},
		{"gossip", t.GossipThreshold},
		{"publish", t.PublishThreshold},
		{"graylist", t.GraylistThreshold},
	}
}

// ScoreSample is how the honest nodes scored the attackers and each other
// at one moment. An attacker's score is its worst at any honest node that
// scores it (as examples/attack counts it).
type ScoreSample struct {
	At time.Duration `json:"at"`
	// Scored is how many attackers some honest node scored.
	Scored int `json:"scored"`
	// SybilMin, SybilMedian and SybilMax are over those attackers.
	SybilMin    float64 `json:"sybil_min"`
	SybilMedian float64 `json:"sybil_median"`
	SybilMax    float64 `json:"sybil_max"`
	// Below counts attackers below each level (zero, gossip, publish,
	// graylist).
	Below []int `json:"below"`
	// HonestMin is the lowest score an honest node gave another;
	// HonestNegative how many honest links scored below zero.
	HonestMin      float64 `json:"honest_min"`
	HonestNegative int     `json:"honest_negative"`
}

// MeshSample is how many of the honest nodes' mesh places Sybils held.
type MeshSample struct {
	At     time.Duration `json:"at"`
	Places int           `json:"places"`
	Sybils int           `json:"sybils"`
}

// observer samples a run.
type observer struct {
	r          *run
	levels     []Level
	worst      []float64         // per Sybil, this sample
	crossed    [][]time.Duration // per Sybil and level, -1 until crossed
	scoredOnce []bool            // per Sybil: some sample scored it
	scores     []ScoreSample
	mesh       []MeshSample
	blame      map[peerscore.Component]*blame
	lastSnap   time.Duration
}

// blame tallies the dominant component of negative attacker scores.
type blame struct {
	links int
	sum   float64
}

func newObserver(r *run) *observer {
	o := &observer{r: r, levels: levels(r.thr), worst: make([]float64, len(r.sybils)),
		crossed: make([][]time.Duration, len(r.sybils)), scoredOnce: make([]bool, len(r.sybils)), blame: make(map[peerscore.Component]*blame)}
	for i := range o.crossed {
		o.crossed[i] = []time.Duration{-1, -1, -1, -1}
	}
	return o
}

func (o *observer) sample(at time.Duration) {
	o.sampleMesh(at)
	if o.r.arm == ArmNone {
		return
	}
	o.sampleScores(at)
	if o.r.arm == ArmPeerscore && !o.r.cfg.SkipSnapshots && len(o.r.sybils) > 0 && at-o.lastSnap >= o.r.cfg.SnapshotEvery {
		o.lastSnap = at
		o.snapshots()
	}
}

func (o *observer) sampleMesh(at time.Duration) {
	var m MeshSample
	m.At = at
	for _, n := range o.r.honest {
		size, sybils := n.rec.meshCounts()
		m.Places += size
		m.Sybils += sybils
	}
	o.mesh = append(o.mesh, m)
}

func (o *observer) sampleScores(at time.Duration) {
	for i := range o.worst {
		o.worst[i] = math.Inf(1)
	}
	s := ScoreSample{At: at, HonestMin: math.Inf(1), Below: make([]int, len(o.levels))}
	for _, n := range o.r.honest {
		m := n.scores.Load()
		if m == nil {
			continue
		}
		for p, score := range *m {
			if j, ok := o.r.sybIdx[p]; ok {
				o.worst[j] = min(o.worst[j], score)
				continue
			}
			s.HonestMin = min(s.HonestMin, score)
			if score < 0 {
				s.HonestNegative++
			}
		}
	}
	var scored []float64
	for j, w := range o.worst {
		if math.IsInf(w, 1) {
			continue
		}
		scored = append(scored, w)
		o.scoredOnce[j] = true
		for l, lv := range o.levels {
			if w < lv.Value {
				s.Below[l]++
				if o.crossed[j][l] < 0 {
					o.crossed[j][l] = at
				}
			}
		}
	}
	if math.IsInf(s.HonestMin, 1) {
		s.HonestMin = 0
	}
	s.Scored = len(scored)
	if len(scored) > 0 {
		slices.Sort(scored)
		s.SybilMin, s.SybilMedian, s.SybilMax = scored[0], scored[len(scored)/2], scored[len(scored)-1]
	}
	o.scores = append(o.scores, s)
}

// snapshots takes the attackers apart at up to SnapshotNodes honest
// nodes, attacked nodes first, and tallies the most negative component of
// each negative score (Snapshot.Dominant).
func (o *observer) snapshots() {
	looked := 0
	for _, n := range o.attackedFirst() {
		if looked >= o.r.cfg.SnapshotNodes {
			return
		}
		any := false
		for _, p := range n.h.Network().Peers() {
			if _, ok := o.r.sybIdx[p]; !ok {
				continue
			}
			any = true
			snap, ok := n.scorer.Snapshot(p)
			if !ok || snap.Score >= 0 {
				continue
			}
			c, v := snap.Dominant()
			b := o.blame[c]
			if b == nil {
				b = new(blame)
				o.blame[c] = b
			}
			b.links++
			b.sum += v
		}
		if any {
			looked++
		}
	}
}

// attackedFirst lists the honest nodes the scenario's Sybils target
// first.
func (o *observer) attackedFirst() []*honestNode {
	switch o.r.plan.Scenario.Targets {
	case TargetOne:
		return o.r.honest[:1]
	case TargetPublishers:
		return o.r.honest[:o.r.plan.Publishers]
	}
	return o.r.honest
}
