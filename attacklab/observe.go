package attacklab

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
	// HonestMin and HonestMedian are the lowest and the median score an
	// honest node gave another (over honest links: one honest node's view
	// of one honest peer); HonestBelow counts the honest links below each
	// level.
	HonestMin    float64 `json:"honest_min"`
	HonestMedian float64 `json:"honest_median"`
	HonestBelow  []int   `json:"honest_below"`
}

// MeshSample is how many of the honest nodes' mesh places Sybils held.
type MeshSample struct {
	At     time.Duration `json:"at"`
	Places int           `json:"places"`
	Sybils int           `json:"sybils"`
}

// observer samples a run.
type observer struct {
	r           *run
	levels      []Level
	worst       []float64         // per Sybil, this sample
	crossed     [][]time.Duration // per Sybil and level, -1 until crossed
	scoredOnce  []bool            // per Sybil: some sample scored it
	scores      []ScoreSample
	mesh        []MeshSample
	honest      *honestWatch
	blame       map[peerscore.Component]*blame // of negative attacker scores
	honestBlame map[peerscore.Component]*blame // of negative honest scores
	lastSnap    time.Duration
}

// blame tallies the dominant component of negative attacker scores.
type blame struct {
	links int
	sum   float64
}

func newObserver(r *run) *observer {
	o := &observer{r: r, levels: levels(r.thr), worst: make([]float64, len(r.sybils)),
		crossed: make([][]time.Duration, len(r.sybils)), scoredOnce: make([]bool, len(r.sybils)),
		blame: make(map[peerscore.Component]*blame), honestBlame: make(map[peerscore.Component]*blame)}
	o.honest = newHonestWatch(o.levels)
	for i := range o.crossed {
		o.crossed[i] = []time.Duration{-1, -1, -1, -1}
	}
	return o
}

func (o *observer) sample(at time.Duration) {
	o.sampleMesh(at)
	if !o.r.arm.scores() {
		return
	}
	o.sampleScores(at)
	if o.r.arm == ArmPeerscore && !o.r.cfg.SkipSnapshots && at-o.lastSnap >= o.r.cfg.SnapshotEvery {
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
	s := ScoreSample{At: at, Below: make([]int, len(o.levels))}
	var honest []float64
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
			honest = append(honest, score)
			o.honest.see(honestLink{n.idx, p}, score, at)
		}
	}
	o.honest.endSample(at)
	s.HonestBelow = o.honest.belowNow()
	if len(honest) > 0 {
		slices.Sort(honest)
		s.HonestMin, s.HonestMedian = honest[0], honest[len(honest)/2]
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
	s.Scored = len(scored)
	if len(scored) > 0 {
		slices.Sort(scored)
		s.SybilMin, s.SybilMedian, s.SybilMax = scored[0], scored[len(scored)/2], scored[len(scored)-1]
	}
	o.scores = append(o.scores, s)
}

// snapshots takes scores apart at up to SnapshotNodes honest nodes,
// attacked nodes first, and tallies the most negative component of each
// negative score (Snapshot.Dominant), attackers' and honest peers' apart.
func (o *observer) snapshots() {
	looked := 0
	for _, n := range o.attackedFirst() {
		if looked >= o.r.cfg.SnapshotNodes {
			return
		}
		for _, p := range n.h.Network().Peers() {
			snap, ok := n.scorer.Snapshot(p)
			if !ok || snap.Score >= 0 {
				continue
			}
			tally := o.honestBlame
			if _, sybil := o.r.sybIdx[p]; sybil {
				tally = o.blame
			}
			c, v := snap.Dominant()
			b := tally[c]
			if b == nil {
				b = new(blame)
				tally[c] = b
			}
			b.links++
			b.sum += v
		}
		looked++
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
