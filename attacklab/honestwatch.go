package attacklab

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// False positives: honest peers that the honest nodes' scores put below
// zero or a threshold. Each honest link (one honest node's score of one
// honest peer) is followed from sample to sample: when it first fell
// below each level, and for how long it stayed there.

// HonestBelow is what one level did to honest peers in one run.
type HonestBelow struct {
	Level Level `json:"level"`
	// Links is how many honest links were ever below the level, Peers how
	// many honest peers were, at some honest node.
	Links int `json:"links"`
	Peers int `json:"peers"`
	// MostAtOnce is the most links below it at one sample, out of
	// LinksSeen, the honest links scored at that sample.
	MostAtOnce int `json:"most_at_once"`
	LinksSeen  int `json:"links_seen"`
	// First is when the first link fell below it (-1: none); Time the
	// time links spent below it, summed over links; Longest the longest a
	// link stayed below it without a break.
	First   time.Duration `json:"first"`
	Time    time.Duration `json:"time"`
	Longest time.Duration `json:"longest"`
}

// honestLink is one honest node's view of one honest peer.
type honestLink struct {
	node int
	peer peer.ID
}

// honestWatch follows honest links across samples.
type honestWatch struct {
	levels  []Level
	since   []map[honestLink]time.Duration // per level: links below it now, since when
	seen    []map[honestLink]bool          // per level: links below it this sample
	ever    []map[honestLink]bool
	peers   []map[peer.ID]bool
	out     []HonestBelow
	scored  int // links scored this sample
	mostAll int
}

func newHonestWatch(levels []Level) *honestWatch {
	w := &honestWatch{levels: levels}
	for _, lv := range levels {
		w.since = append(w.since, map[honestLink]time.Duration{})
		w.seen = append(w.seen, map[honestLink]bool{})
		w.ever = append(w.ever, map[honestLink]bool{})
		w.peers = append(w.peers, map[peer.ID]bool{})
		w.out = append(w.out, HonestBelow{Level: lv, First: -1})
	}
	return w
}

// see takes one honest link's score at a sample.
func (w *honestWatch) see(l honestLink, score float64, at time.Duration) {
	w.scored++
	for i, lv := range w.levels {
		if score >= lv.Value {
			continue
		}
		w.seen[i][l] = true
		if _, below := w.since[i][l]; !below {
			w.since[i][l] = at
		}
		w.ever[i][l] = true
		w.peers[i][l.peer] = true
		if w.out[i].First < 0 {
			w.out[i].First = at
		}
	}
}

// endSample closes, at at, the stretches of the links that are no longer
// below a level (or no longer scored).
func (w *honestWatch) endSample(at time.Duration) {
	for i := range w.levels {
		for l, from := range w.since[i] {
			if !w.seen[i][l] {
				w.close(i, at-from)
				delete(w.since[i], l)
			}
		}
		o := &w.out[i]
		if n := len(w.seen[i]); n > o.MostAtOnce {
			o.MostAtOnce, o.LinksSeen = n, w.scored
		}
		clear(w.seen[i])
	}
	w.mostAll = max(w.mostAll, w.scored)
	w.scored = 0
}

func (w *honestWatch) close(level int, d time.Duration) {
	o := &w.out[level]
	o.Time += d
	o.Longest = max(o.Longest, d)
}

// belowNow counts the links below each level at the last sample.
func (w *honestWatch) belowNow() []int {
	out := make([]int, len(w.levels))
	for i := range w.levels {
		out[i] = len(w.since[i])
	}
	return out
}

// result closes every open stretch at end and returns the levels' tally.
func (w *honestWatch) result(end time.Duration) []HonestBelow {
	for i := range w.levels {
		for _, from := range w.since[i] {
			w.close(i, end-from)
		}
		clear(w.since[i])
		w.out[i].Links = len(w.ever[i])
		w.out[i].Peers = len(w.peers[i])
		if w.out[i].LinksSeen == 0 {
			w.out[i].LinksSeen = w.mostAll
		}
	}
	return w.out
}

// Eviction is how the attackers' hold on the honest meshes went, from
// the start of their attack (At: the earliest a Sybil could attack, its
// connect delay plus the scenario's AttackDelay) to the end of publishing.
type Eviction struct {
	At time.Duration `json:"attack_at"`
	// Peak is the largest share of the honest nodes' mesh places the
	// Sybils held, and PeakAt when; End their share when publishing ended.
	Peak   float64       `json:"peak_share"`
	PeakAt time.Duration `json:"peak_at"`
	End    float64       `json:"end_share"`
	// Out is when the Sybils' share fell to a tenth of its peak and
	// stayed there to the end of publishing (-1: it did not, or they
	// never held a place).
	Out time.Duration `json:"out_at"`
}

// Held reports whether the Sybils held a meaningful share of the mesh
// places: 5% or more at their peak.
func (e *Eviction) Held() bool { return e != nil && e.Peak >= 0.05 }

// eviction reads the attackers' mesh share from the mesh samples; nil
// without an attack.
func (o *observer) eviction() *Eviction {
	p := o.r.plan
	if !p.Scenario.Attacked() {
		return nil
	}
	e := &Eviction{At: time.Duration(float64(p.Scenario.SybilConnect)*1.05) + p.Scenario.AttackDelay, Out: -1}
	end := p.Warmup + p.Run
	share := func(m MeshSample) float64 {
		if m.Places == 0 {
			return 0
		}
		return float64(m.Sybils) / float64(m.Places)
	}
	for _, m := range o.mesh {
		if m.At < e.At || m.At > end {
			continue
		}
		if v := share(m); v > e.Peak {
			e.Peak, e.PeakAt = v, m.At
		}
		e.End = share(m)
	}
	if e.Peak == 0 {
		return e
	}
	for _, m := range o.mesh {
		if m.At < e.PeakAt || m.At > end {
			continue
		}
		if share(m) <= e.Peak/10 {
			if e.Out < 0 {
				e.Out = m.At
			}
		} else {
			e.Out = -1
		}
	}
	return e
}
