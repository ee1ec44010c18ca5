package attacklab

import (
	"slices"
	"sort"
	"time"

	"github.com/peerscore/peerscore"
)

// Result is what one scenario in one arm showed, with one seed.
type Result struct {
	Scenario string `json:"scenario"`
	Arm      Arm    `json:"arm"`
	Seed     uint64 `json:"seed"`
	Plan     Plan   `json:"plan"`
	Params   string `json:"params"`

	// Published messages; Expected deliveries (published × honest nodes,
	// the publisher's own delivery included, as the evaluation's tracestat
	// counted); Delivered of them.
	Published int     `json:"published"`
	Expected  int64   `json:"expected"`
	Delivered int64   `json:"delivered"`
	Delivery  float64 `json:"delivery"` // Delivered / Expected

	// Latency percentiles of the delivered, from publication to delivery
	// at each honest node, in simulated time; Over3s and Over6s the
	// fractions later than the deadlines the evaluation drew (Eth2 3 s,
	// Filecoin 6 s; notebook_helper.py:506).
	P50    time.Duration `json:"p50"`
	P99    time.Duration `json:"p99"`
	Max    time.Duration `json:"max"`
	Over3s float64       `json:"over_3s"`
	Over6s float64       `json:"over_6s"`
	// Duplicates is the copies of a message an honest node received after
	// its first, on average.
	Duplicates float64 `json:"duplicates_per_message_per_node"`

	// Latencies, sorted (not in the JSON); LatencyQuantiles their
	// percentiles 0 to 100, which the JSON keeps for the CDF plots.
	Latencies        []time.Duration `json:"-"`
	LatencyQuantiles []time.Duration `json:"latency_quantiles"`
	// DeliveryOverTime is the delivery rate of the messages published in
	// each bucket of DeliveryBucket, from the start of publishing, and
	// P99OverTime their p99 latency.
	DeliveryOverTime []float64       `json:"delivery_over_time"`
	P99OverTime      []time.Duration `json:"p99_over_time"`
	Scores           []ScoreSample   `json:"scores,omitempty"`
	Mesh             []MeshSample    `json:"mesh"`
	Levels           []Level         `json:"levels"`
	Crossings        []Crossing      `json:"crossings,omitempty"`
	// HonestBelow is the false positives: honest links and peers below
	// each level (scoring arms).
	HonestBelow []HonestBelow `json:"honest_below,omitempty"`
	// Blame and HonestBlame say which component was the most negative part
	// of negative attacker and honest scores; Breakdowns whether they were
	// looked for (the peerscore arm without -no-snapshots).
	Blame       []Blame `json:"blame,omitempty"`
	HonestBlame []Blame `json:"honest_blame,omitempty"`
	Breakdowns  bool    `json:"breakdowns"`
	// Eviction is how the attackers' hold on the honest meshes went.
	Eviction *Eviction `json:"eviction,omitempty"`

	// Sybil is what the Sybils did: GRAFTs sent, PRUNEs received, new
	// messages received, dropped by the attack, copies forwarded, and
	// copies dropped at a full queue.
	Sybil struct {
		Grafts, Prunes, Received, Dropped, Forwarded, QueueDrops int64
	} `json:"sybil"`
	DialFailures int64 `json:"dial_failures"`
	// Victim is the targeted node's view, in the scenarios aimed at one.
	Victim *Victim `json:"victim,omitempty"`
	// Parity is the native arm's live comparison with peerscore.
	Parity *Parity `json:"parity,omitempty"`

	// Wall is how long the run took in real time (set by the caller).
	Wall time.Duration `json:"wall"`
}

// DeliveryBucket is the width of Result.DeliveryOverTime's buckets.
const DeliveryBucket = 5 * time.Second

// Crossing is when the attackers fell below one level: of Of attackers
// scored, Crossed did, the first at First, half of those by Median, the
// last at Last (from the start of the run).
type Crossing struct {
	Level   Level         `json:"level"`
	Of      int           `json:"of"`
	Crossed int           `json:"crossed"`
	First   time.Duration `json:"first"`
	Median  time.Duration `json:"median"`
	Last    time.Duration `json:"last"`
}

// Blame is how often a component was the most negative part of a negative
// attacker score (peerscore arm, from snapshots), and its mean value then.
type Blame struct {
	Component peerscore.Component `json:"component"`
	Links     int                 `json:"links"`
	Share     float64             `json:"share"`
	Mean      float64             `json:"mean"`
}

func (r *run) result() *Result {
	res := &Result{
		Scenario: r.plan.Scenario.Name, Arm: r.arm, Seed: r.cfg.Seed, Plan: r.plan, Params: r.cfg.Params.Name,
		Scores: r.obs.scores, Mesh: r.obs.mesh,
		DialFailures: r.dialErr.Load(),
	}
	if r.arm.scores() {
		res.Levels = r.obs.levels
		res.HonestBelow = r.obs.honest.result(r.plan.Total())
	}
	res.Sybil.Grafts = r.stats.Grafts.Load()
	res.Sybil.Prunes = r.stats.Prunes.Load()
	res.Sybil.Received = r.stats.Received.Load()
	res.Sybil.Dropped = r.stats.Dropped.Load()
	res.Sybil.Forwarded = r.stats.Forwarded.Load()
	res.Sybil.QueueDrops = r.stats.QueueDrops.Load()

	honest := int64(len(r.honest))
	var buckets [][2]int64 // delivered, expected
	publishStart := r.start.Add(r.plan.Warmup).UnixNano()
	bucketOf := make([]int, len(r.ledger.published))
	for seq := range r.ledger.published {
		at := r.ledger.published[seq].Load()
		if at == 0 {
			bucketOf[seq] = -1
			continue
		}
		res.Published++
		got := int64(r.ledger.delivered[seq].Load())
		res.Delivered += got
		b := max(0, int((at-publishStart)/int64(DeliveryBucket)))
		bucketOf[seq] = b
		for len(buckets) <= b {
			buckets = append(buckets, [2]int64{})
		}
		buckets[b][0] += got
		buckets[b][1] += honest
	}
	res.Expected = int64(res.Published) * honest
	if res.Expected > 0 {
		res.Delivery = float64(res.Delivered) / float64(res.Expected)
	}
	for _, b := range buckets {
		rate := 1.0
		if b[1] > 0 {
			rate = float64(b[0]) / float64(b[1])
		}
		res.DeliveryOverTime = append(res.DeliveryOverTime, rate)
	}

	var dups int64
	perBucket := make([][]time.Duration, len(buckets))
	for _, n := range r.honest {
		n.rec.mu.Lock()
		for _, d := range n.rec.deliveries {
			res.Latencies = append(res.Latencies, d.latency)
			if b := bucketOf[d.seq]; b >= 0 {
				perBucket[b] = append(perBucket[b], d.latency)
			}
		}
		dups += n.rec.duplicates
		n.rec.mu.Unlock()
	}
	for _, lat := range perBucket {
		var p99 time.Duration
		if len(lat) > 0 {
			slices.Sort(lat)
			p99 = percentile(lat, 0.99)
		}
		res.P99OverTime = append(res.P99OverTime, p99)
	}
	if res.Expected > 0 {
		res.Duplicates = float64(dups) / float64(res.Expected)
	}
	slices.Sort(res.Latencies)
	res.LatencyQuantiles = quantiles(res.Latencies)
	if k := len(res.Latencies); k > 0 {
		res.P50 = percentile(res.Latencies, 0.50)
		res.P99 = percentile(res.Latencies, 0.99)
		res.Max = res.Latencies[k-1]
		res.Over3s = float64(k-sort.Search(k, func(i int) bool { return res.Latencies[i] > 3*time.Second })) / float64(k)
		res.Over6s = float64(k-sort.Search(k, func(i int) bool { return res.Latencies[i] > 6*time.Second })) / float64(k)
	}
	if r.arm.scores() && len(r.sybils) > 0 {
		res.Crossings = r.obs.crossings()
	}
	res.Blame, res.HonestBlame = blames(r.obs.blame), blames(r.obs.honestBlame)
	res.Eviction = r.obs.eviction()
	res.Breakdowns = r.arm == ArmPeerscore && !r.cfg.SkipSnapshots
	res.Victim = r.victim()
	res.Parity = r.parity.result()
	return res
}

// Victim is what the one node a scenario aims at saw: in the eclipse of a
// single target, the deliveries at the target; in its censorship, the
// deliveries of the target's own messages at every node. An attack on one
// node hardly moves the network's percentiles.
type Victim struct {
	Delivery float64       `json:"delivery"`
	P99      time.Duration `json:"p99"`
	Max      time.Duration `json:"max"`
}

func (r *run) victim() *Victim {
	sc := r.plan.Scenario
	if sc.Targets != TargetOne && !sc.Censor {
		return nil
	}
	var lat []time.Duration
	var expected int64
	if sc.Censor { // the first publisher's messages: seq < Messages
		for seq := range r.plan.Messages {
			if r.ledger.published[seq].Load() != 0 {
				expected += int64(len(r.honest))
			}
		}
		for _, n := range r.honest {
			n.rec.mu.Lock()
			for _, d := range n.rec.deliveries {
				if int(d.seq) < r.plan.Messages {
					lat = append(lat, d.latency)
				}
			}
			n.rec.mu.Unlock()
		}
	} else {
		for seq := range r.ledger.published {
			if r.ledger.published[seq].Load() != 0 {
				expected++
			}
		}
		rec := r.honest[0].rec
		rec.mu.Lock()
		for _, d := range rec.deliveries {
			lat = append(lat, d.latency)
		}
		rec.mu.Unlock()
	}
	v := &Victim{}
	if expected > 0 {
		v.Delivery = float64(len(lat)) / float64(expected)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		v.P99, v.Max = percentile(lat, 0.99), lat[len(lat)-1]
	}
	return v
}

// percentile is the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func (o *observer) crossings() []Crossing {
	out := make([]Crossing, len(o.levels))
	for l, lv := range o.levels {
		c := Crossing{Level: lv}
		var at []time.Duration
		for j := range o.crossed {
			if o.everScored(j) {
				c.Of++
			}
			if t := o.crossed[j][l]; t >= 0 {
				at = append(at, t)
			}
		}
		c.Crossed = len(at)
		if len(at) > 0 {
			slices.Sort(at)
			c.First, c.Median, c.Last = at[0], at[(len(at)-1)/2], at[len(at)-1]
		}
		out[l] = c
	}
	return out
}

// everScored reports whether any sample scored Sybil j; a Sybil that
// crossed nothing but was scored counts in Crossing.Of.
func (o *observer) everScored(j int) bool {
	return o.scoredOnce[j]
}

// quantiles are the percentiles 0 to 100 of sorted, nil if it is empty.
func quantiles(sorted []time.Duration) []time.Duration {
	if len(sorted) == 0 {
		return nil
	}
	out := make([]time.Duration, 101)
	for q := range out {
		out[q] = percentile(sorted, float64(q)/100)
	}
	out[0] = sorted[0]
	return out
}

func blames(tally map[peerscore.Component]*blame) []Blame {
	total := 0
	for _, b := range tally {
		total += b.links
	}
	var out []Blame
	for c, b := range tally {
		out = append(out, Blame{Component: c, Links: b.links, Share: float64(b.links) / float64(total), Mean: b.sum / float64(b.links)})
	}
	slices.SortFunc(out, func(a, b Blame) int { return b.Links - a.Links })
	return out
}
