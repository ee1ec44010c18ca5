package replay

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

// What a replay watches: every peer's score at every sample, when it fell
// below zero and each threshold and which component did it, and how far
// the replay's scores were from the live ones the recording holds.

// Level is a score the report follows peers across: zero, and the
// router's thresholds.
type Level struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

func levelsOf(t *peerscore.Thresholds) []Level {
	out := []Level{{"zero", 0}}
	if t != nil {
		out = append(out, Level{"gossip", t.GossipThreshold}, Level{"publish", t.PublishThreshold}, Level{"graylist", t.GraylistThreshold})
	}
	return out
}

// Crossing is one peer's history at one level.
type Crossing struct {
	Level Level `json:"level"`
	// First is when the peer first fell below the level (from the start
	// of the trace), Component and Value the most negative part of its
	// score then; Below is the time it spent below, summed over samples.
	First     time.Duration       `json:"first"`
	Component peerscore.Component `json:"component"`
	Value     float64             `json:"value"`
	Below     time.Duration       `json:"below"`
}

// PeerOutcome is one peer's replay.
type PeerOutcome struct {
	Peer string `json:"peer"`
	// Min is its lowest sampled score, at MinAt; Last its last.
	Min   float64       `json:"min"`
	MinAt time.Duration `json:"min_at"`
	Last  float64       `json:"last"`
	// Crossed are the levels it fell below, mildest first.
	Crossed []Crossing `json:"crossed,omitempty"`
	// HonestLooking flags a peer pushed below zero though it never sent an
	// invalid message nor broke a router rule (no P4, no P7), was never
	// penalised by the application nor as a slow peer (no negative P5 or
	// slow-peer penalty), and did relay messages (sent the node copies,
	// first or not): its penalty came from mesh delivery (P3, P3b) or from
	// its address (P6) alone, which an honest peer that is rarely first
	// also earns. A peer that never sent a message is not flagged: that is
	// what the evaluation's silent attackers do.
	HonestLooking bool `json:"honest_looking"`
	// Samples are its score over time, from its first dip below zero
	// (bounded: neighbours are merged, keeping the lower, when it grows).
	Samples []Sample `json:"samples,omitempty"`

	invalid, misbehaved, penalised bool
}

// Sample is a score at a time (from the start of the trace).
type Sample struct {
	At    time.Duration `json:"at"`
	Score float64       `json:"score"`
}

// Band is every peer's score at one sample: lowest, median, highest.
type Band struct {
	At     time.Duration `json:"at"`
	Peers  int           `json:"peers"`
	Min    float64       `json:"min"`
	Median float64       `json:"median"`
	Max    float64       `json:"max"`
}

// Check is how far the replay's scores were from the live ones a
// recording holds (KindScores).
type Check struct {
	Checkpoints int64   `json:"checkpoints"`
	Scores      int64   `json:"scores"`
	NonZero     int64   `json:"nonzero"` // of the live scores checked
	Differ      int64   `json:"differ"`  // beyond 1e-9 relative
	MaxDiff     float64 `json:"max_diff"`
	Example     string  `json:"example,omitempty"`
}

// maxSamples bounds each peer's series and the band: past it, neighbours
// are merged in pairs.
const maxSamples = 1024

type observer struct {
	start   time.Time
	levels  []Level
	peers   map[peer.ID]*PeerOutcome
	relayed map[peer.ID]struct{} // peers that sent the node a message
	band    []Band
	last    time.Time
	checked Check
}

func newObserver(t *peerscore.Thresholds, start time.Time) *observer {
	return &observer{start: start, levels: levelsOf(t), peers: map[peer.ID]*PeerOutcome{}, relayed: map[peer.ID]struct{}{}, last: start}
}

// sample reads every known peer's score at at.
func (o *observer) sample(at time.Time, s *peerscore.Scorer) {
	snaps := s.Snapshots()
	dt := at.Sub(o.last)
	o.last = at
	rel := at.Sub(o.start)
	scores := make([]float64, 0, len(snaps))
	for id, snap := range snaps {
		scores = append(scores, snap.Score)
		po := o.peers[id]
		if po == nil {
			po = &PeerOutcome{Peer: id.String(), Min: math.Inf(1)}
			o.peers[id] = po
		}
		o.follow(po, snap, rel, dt)
	}
	if len(scores) > 0 {
		slices.Sort(scores)
		o.band = appendBounded(o.band, Band{At: rel, Peers: len(scores), Min: scores[0], Median: scores[len(scores)/2], Max: scores[len(scores)-1]}, mergeBands)
	}
}

// follow takes one peer's snapshot at rel, dt after the last sample.
func (o *observer) follow(po *PeerOutcome, snap peerscore.Snapshot, rel, dt time.Duration) {
	score := snap.Score
	po.Last = score
	if score < po.Min {
		po.Min, po.MinAt = score, rel
	}
	po.misbehaved = po.misbehaved || snap.BehaviourPenalty > 0
	po.penalised = po.penalised || snap.P5 < 0 || snap.SlowPeer < 0
	for _, ts := range snap.Topics {
		po.invalid = po.invalid || ts.InvalidMessageDeliveries > 0
	}
	for i, lv := range o.levels {
		if score >= lv.Value {
			continue
		}
		if i >= len(po.Crossed) {
			c, v := snap.Dominant()
			po.Crossed = append(po.Crossed, Crossing{Level: lv, First: rel, Component: c, Value: v})
		}
		po.Crossed[i].Below += dt
	}
	if len(po.Crossed) > 0 {
		po.Samples = appendBounded(po.Samples, Sample{At: rel, Score: score}, mergeSamples)
	}
}

// check compares the live scores a recording holds with the replay's.
func (o *observer) check(x *Extra, s *peerscore.Scorer) {
	o.checked.Checkpoints++
	for id, live := range x.Scores {
		p, err := decodePeer(id)
		if err != nil {
			continue
		}
		got := s.Score(p)
		o.checked.Scores++
		if live != 0 {
			o.checked.NonZero++
		}
		d := math.Abs(got - live)
		if d <= 1e-9*math.Max(1, math.Max(math.Abs(got), math.Abs(live))) {
			continue
		}
		o.checked.Differ++
		if d > o.checked.MaxDiff {
			o.checked.MaxDiff = d
		}
		if o.checked.Example == "" {
			o.checked.Example = id + ": live " + fmtScore(live) + ", replayed " + fmtScore(got) + " at " + time.Unix(0, x.At).UTC().Format(time.RFC3339Nano)
		}
	}
}

// appendBounded appends v, merging neighbours in pairs when the slice
// reaches maxSamples.
func appendBounded[T any](xs []T, v T, merge func(a, b T) T) []T {
	xs = append(xs, v)
	if len(xs) < maxSamples {
		return xs
	}
	half := xs[:0]
	for i := 0; i+1 < len(xs); i += 2 {
		half = append(half, merge(xs[i], xs[i+1]))
	}
	if len(xs)%2 == 1 {
		half = append(half, xs[len(xs)-1])
	}
	return half
}

func mergeSamples(a, b Sample) Sample {
	if b.Score < a.Score {
		return b
	}
	return a
}

func mergeBands(a, b Band) Band {
	return Band{At: a.At, Peers: max(a.Peers, b.Peers), Min: min(a.Min, b.Min), Median: (a.Median + b.Median) / 2, Max: max(a.Max, b.Max)}
}

// Outcome is what a replay found.
type Outcome struct {
	Info   Info          `json:"info"`
	Levels []Level       `json:"levels,omitempty"`
	Peers  []PeerOutcome `json:"peers,omitempty"` // lowest first
	Band   []Band        `json:"band,omitempty"`
	Check  *Check        `json:"check,omitempty"`
}

func (o *observer) outcome(info Info) *Outcome {
	out := &Outcome{Info: info, Levels: o.levels, Band: o.band}
	for id, po := range o.peers {
		_, relayed := o.relayed[id]
		po.HonestLooking = len(po.Crossed) > 0 && !po.invalid && !po.misbehaved && !po.penalised && relayed
		out.Peers = append(out.Peers, *po)
	}
	slices.SortFunc(out.Peers, func(a, b PeerOutcome) int {
		switch {
		case a.Min < b.Min:
			return -1
		case a.Min > b.Min:
			return 1
		}
		return cmp.Compare(a.Peer, b.Peer)
	})
	if o.checked.Checkpoints > 0 {
		c := o.checked
		out.Check = &c
	}
	return out
}
