package attacklab

import (
	"fmt"
	"slices"
	"time"
)

// What a scenario says about the parameters under test. Every arm is
// judged against its own baseline (the same arm with no attack), on the
// medians over the seeds:
//
//   - delivery: at least HoldDelivery (scoring arms), and no more than
//     half a point below the baseline's;
//   - latency: p99 no more than twice the baseline's (or up by less than
//     100 ms, one hop); no more than 1 point more of the deliveries after
//     the suite's 3 s deadline, and 0.1 point more after its 6 s one;
//   - at the victim, in the scenarios aimed at one node (Result.Victim):
//     the same delivery and p99 rules, against the baseline network's
//     figures, since an attack on one node hardly moves the network's;
//   - false positives (scoring arms): no honest link below the gossip
//     threshold, and never more than 5% of honest links below zero at
//     once;
//   - the attackers (scoring arms): where they forward nothing (a Drop of
//     1: the eclipses, cold boot, covert flash, attack at dawn, IP
//     colocation) and held 5% of the honest mesh places or more, their
//     share must have at least halved by the end of publishing. Attackers
//     that forward some or most messages (degradation, censorship) earn
//     P3 credit by design, and their hold is a note, not a failure;
//   - peerscore against native: not worse, by delivery or by a p99 that a
//     Mann-Whitney test tells apart at p < 0.05 (with five seeds or more;
//     with fewer, by more than twice native's p99 plus 100 ms);
//   - in the baseline, scoring against no scoring: the same latency and
//     delivery rules, with the unscored baseline as the reference.
//
// A scoring arm whose medians break none of these holds; an unscored arm
// (none, vanilla) whose medians break a harm rule was hurt by the attack.
// The rules are also applied to each seed alone, and the verdict says in
// how many seeds they failed.

// Verdict is one scenario in one arm.
type Verdict struct {
	Scenario string `json:"scenario"`
	Arm      Arm    `json:"arm"`
	Seeds    int    `json:"seeds"`
	// Judged says whether the arm's baseline ran, without which nothing
	// about harm can be said.
	Judged bool `json:"judged"`
	// Holds: a scoring arm whose medians broke no rule. Hurt: an
	// unscored arm whose medians broke a harm rule.
	Holds bool `json:"holds"`
	Hurt  bool `json:"hurt"`
	// FailingSeeds counts the seeds whose own figures broke a rule.
	FailingSeeds int `json:"failing_seeds"`
	// Reasons are the rules broken, with their figures; Notes facts that
	// break no rule; Advice which parameters to change, and how.
	Reasons []string `json:"reasons"`
	Notes   []string `json:"notes,omitempty"`
	Advice  []string `json:"advice,omitempty"`
}

// Holding thresholds of the rules above.
const (
	deliveryDrop    = 0.005 // delivery may fall this much below the baseline's
	over3sRise      = 0.01  // the share after 3 s may rise this much
	over6sRise      = 0.001 // the share after 6 s may rise this much
	honestZeroShare = 0.05  // share of honest links below zero at once
	minSeedsForTest = 5     // fewer seeds: no Mann-Whitney test
)

// figures are the numbers the rules read, of one run or the medians of
// several.
type figures struct {
	delivery, over3s, over6s float64
	p99                      time.Duration
	belowGossip              float64 // honest links ever below the gossip threshold
	zeroAtOnce, linksSeen    float64 // most honest links below zero at once, of those scored
	held                     bool    // silent attackers held a share of the mesh places
	peak, end                float64 // their peak share, and at the end of publishing
	// The victim's delivery and p99, where the scenario aims at one node.
	hasVictim      bool
	victimDelivery float64
	victimP99      time.Duration
}

func figuresOf(r *Result) figures {
	f := figures{delivery: r.Delivery, over3s: r.Over3s, over6s: r.Over6s, p99: r.P99}
	for _, hb := range r.HonestBelow {
		switch hb.Level.Name {
		case "gossip":
			f.belowGossip = float64(hb.Links)
		case "zero":
			f.zeroAtOnce, f.linksSeen = float64(hb.MostAtOnce), float64(hb.LinksSeen)
		}
	}
	if e := r.Eviction; e != nil {
		f.held, f.peak, f.end = e.Held() && r.Plan.Scenario.Drop == 1, e.Peak, e.End
	}
	if v := r.Victim; v != nil {
		f.hasVictim, f.victimDelivery, f.victimP99 = true, v.Delivery, v.P99
	}
	return f
}

// medianFigures are the medians of runs' figures.
func medianFigures(runs []*Result) figures {
	fs := make([]figures, len(runs))
	for i, r := range runs {
		fs[i] = figuresOf(r)
	}
	med := func(get func(figures) float64) float64 {
		xs := make([]float64, len(fs))
		for i := range fs {
			xs[i] = get(fs[i])
		}
		return spreadOf(xs).Median
	}
	held, victims := 0, 0
	for _, f := range fs {
		if f.held {
			held++
		}
		if f.hasVictim {
			victims++
		}
	}
	return figures{
		delivery:    med(func(f figures) float64 { return f.delivery }),
		over3s:      med(func(f figures) float64 { return f.over3s }),
		over6s:      med(func(f figures) float64 { return f.over6s }),
		p99:         time.Duration(med(func(f figures) float64 { return float64(f.p99) })),
		belowGossip: med(func(f figures) float64 { return f.belowGossip }),
		zeroAtOnce:  med(func(f figures) float64 { return f.zeroAtOnce }),
		linksSeen:   med(func(f figures) float64 { return f.linksSeen }),
		held:        2*held > len(fs),
		peak:        med(func(f figures) float64 { return f.peak }),
		end:         med(func(f figures) float64 { return f.end }),
		// A scenario's runs all aim at one node, or none does.
		hasVictim:      victims == len(fs) && victims > 0,
		victimDelivery: med(func(f figures) float64 { return f.victimDelivery }),
		victimP99:      time.Duration(med(func(f figures) float64 { return float64(f.victimP99) })),
	}
}

// harm lists how f is worse than base, the same arm's baseline: the rules
// every arm is held to.
func harm(f, base figures) []string {
	var out []string
	if f.delivery < base.delivery-deliveryDrop {
		out = append(out, fmt.Sprintf("delivery %.2f%% against the baseline's %.2f%%", 100*f.delivery, 100*base.delivery))
	}
	if slowerThan(f.p99, base.p99) {
		out = append(out, fmt.Sprintf("p99 %s against the baseline's %s", ms(f.p99), ms(base.p99)))
	}
	if f.over3s > base.over3s+over3sRise {
		out = append(out, fmt.Sprintf("%.1f%% of deliveries after the 3 s deadline (baseline %.1f%%)", 100*f.over3s, 100*base.over3s))
	}
	if f.over6s > base.over6s+over6sRise {
		out = append(out, fmt.Sprintf("%.2f%% of deliveries after the 6 s deadline (baseline %.2f%%)", 100*f.over6s, 100*base.over6s))
	}
	if f.hasVictim {
		if f.victimDelivery < base.delivery-deliveryDrop {
			out = append(out, fmt.Sprintf("at the victim, delivery %.2f%% against the baseline's %.2f%%", 100*f.victimDelivery, 100*base.delivery))
		}
		if slowerThan(f.victimP99, base.p99) {
			out = append(out, fmt.Sprintf("at the victim, p99 %s against the baseline's %s", ms(f.victimP99), ms(base.p99)))
		}
	}
	return out
}

// slowerThan: p99 more than doubled against the reference, and up by at
// least 100 ms, the scale of one more hop.
func slowerThan(p99, ref time.Duration) bool {
	return p99 > 2*ref && p99-ref >= 100*time.Millisecond
}

// scoringFaults lists how a scoring arm's f breaks the rules of scoring
// arms alone (beyond harm).
func scoringFaults(f figures, attacked bool) []string {
	var out []string
	if f.delivery < HoldDelivery {
		out = append(out, fmt.Sprintf("delivery %.2f%% below %.0f%%", 100*f.delivery, 100*HoldDelivery))
	}
	if f.belowGossip > 0 {
		out = append(out, fmt.Sprintf("%.0f honest links fell below the gossip threshold", f.belowGossip))
	}
	if f.linksSeen > 0 && f.zeroAtOnce > honestZeroShare*f.linksSeen {
		out = append(out, fmt.Sprintf("up to %.0f of %.0f honest links (%.0f%%) below zero at once", f.zeroAtOnce, f.linksSeen, 100*f.zeroAtOnce/f.linksSeen))
	}
	if attacked && f.held && f.end > f.peak/2 {
		out = append(out, fmt.Sprintf("the attackers kept %.0f%% of the honest mesh places to the end of publishing (peak %.0f%%)", 100*f.end, 100*f.peak))
	}
	return out
}

// cell is one scenario in one arm, over its seeds.
type cell struct {
	scenario string
	arm      Arm
	runs     []*Result
}

// grid groups runs by scenario and arm, scenarios in Scenarios' order
// (then any other, as first met) and arms in Arms' order.
type grid struct {
	scenarios []string
	arms      []Arm
	cells     map[string]map[Arm]*cell
}

func newGrid(runs []*Result) *grid {
	g := &grid{cells: map[string]map[Arm]*cell{}}
	for _, r := range runs {
		row := g.cells[r.Scenario]
		if row == nil {
			row = map[Arm]*cell{}
			g.cells[r.Scenario] = row
			g.scenarios = append(g.scenarios, r.Scenario)
		}
		c := row[r.Arm]
		if c == nil {
			c = &cell{scenario: r.Scenario, arm: r.Arm}
			row[r.Arm] = c
			if !slices.Contains(g.arms, r.Arm) {
				g.arms = append(g.arms, r.Arm)
			}
		}
		c.runs = append(c.runs, r)
	}
	order := func(s string) int {
		if i := slices.IndexFunc(Scenarios, func(sc Scenario) bool { return sc.Name == s }); i >= 0 {
			return i
		}
		return len(Scenarios)
	}
	slices.SortStableFunc(g.scenarios, func(a, b string) int { return order(a) - order(b) })
	slices.SortFunc(g.arms, func(a, b Arm) int { return slices.Index(Arms, a) - slices.Index(Arms, b) })
	for _, row := range g.cells {
		for _, c := range row {
			slices.SortFunc(c.runs, func(a, b *Result) int { return int(a.Seed) - int(b.Seed) })
		}
	}
	return g
}

func (g *grid) get(scenario string, arm Arm) *cell {
	if c := g.cells[scenario][arm]; c != nil && len(c.runs) > 0 {
		return c
	}
	return nil
}

// baselineName is the scenario every other is measured against.
const baselineName = "baseline"

// verdicts judges every cell of g, with advice where a scoring arm fails.
func (g *grid) verdicts(cfg SuiteConfig) []Verdict {
	var out []Verdict
	for _, sc := range g.scenarios {
		for _, arm := range g.arms {
			if c := g.get(sc, arm); c != nil {
				v := g.judge(c)
				advise(&v, c, cfg)
				out = append(out, v)
			}
		}
	}
	return out
}

// judge applies the rules to one cell.
func (g *grid) judge(c *cell) Verdict {
	v := Verdict{Scenario: c.scenario, Arm: c.arm, Seeds: len(c.runs)}
	attacked := c.runs[0].Plan.Scenario.Attacked()
	// The reference: the arm's own baseline; for a scoring arm in the
	// baseline, the unscored baseline. The unscored baseline is itself the
	// reference, and is not judged.
	var ref *cell
	switch {
	case attacked:
		ref = g.get(baselineName, c.arm)
	case c.arm.scores():
		ref = g.get(baselineName, ArmNone)
	}
	v.Judged = ref != nil
	faults := func(f figures) []string {
		var out []string
		if ref != nil {
			out = append(out, harm(f, medianFigures(ref.runs))...)
		}
		if c.arm.scores() {
			out = append(out, scoringFaults(f, attacked)...)
		}
		return out
	}
	v.Reasons = faults(medianFigures(c.runs))
	for _, r := range c.runs {
		if len(faults(figuresOf(r))) > 0 {
			v.FailingSeeds++
		}
	}
	if c.arm == ArmPeerscore {
		v.Reasons = append(v.Reasons, g.againstNative(c)...)
	}
	if c.arm.scores() {
		v.Holds = v.Judged && len(v.Reasons) == 0
		v.Notes = scoringNotes(c)
		if note := g.nativeNote(c); note != "" && c.arm == ArmPeerscore {
			v.Notes = append(v.Notes, note)
		}
	} else {
		v.Hurt = attacked && v.Judged && len(v.Reasons) > 0
	}
	if v.Reasons == nil {
		v.Reasons = []string{}
	}
	return v
}

// againstNative compares peerscore's distribution with native's in the
// same scenario.
func (g *grid) againstNative(c *cell) []string {
	n := g.get(c.scenario, ArmNative)
	if n == nil {
		return nil
	}
	var out []string
	pf, nf := medianFigures(c.runs), medianFigures(n.runs)
	if pf.delivery < nf.delivery-0.001 {
		out = append(out, fmt.Sprintf("delivery %.2f%% below native's %.2f%%", 100*pf.delivery, 100*nf.delivery))
	}
	p99 := func(r *Result) float64 { return r.P99.Seconds() }
	if len(c.runs) >= minSeedsForTest && len(n.runs) >= minSeedsForTest {
		if p, larger := mannWhitney(over(c.runs, p99), over(n.runs, p99)); p < 0.05 && larger {
			out = append(out, fmt.Sprintf("p99 %s against native's %s (Mann-Whitney p = %.3f)", ms(pf.p99), ms(nf.p99), p))
		}
	}
	return out
}

// nativeNote says how peerscore's p99 compares with native's when too few
// seeds ran to tell their distributions apart: with the scores equal
// (live parity), one run's difference is the runs' own noise.
func (g *grid) nativeNote(c *cell) string {
	n := g.get(c.scenario, ArmNative)
	if n == nil || (len(c.runs) >= minSeedsForTest && len(n.runs) >= minSeedsForTest) {
		return ""
	}
	pf, nf := medianFigures(c.runs), medianFigures(n.runs)
	if !slowerThan(pf.p99, nf.p99) && !slowerThan(nf.p99, pf.p99) {
		return ""
	}
	return fmt.Sprintf("p99 %s against native's %s, which %d seeds cannot tell from the runs' noise (run -seeds %d or more)",
		ms(pf.p99), ms(nf.p99), min(len(c.runs), len(n.runs)), minSeedsForTest)
}

// scoringNotes are a scoring arm's facts that break no rule: honest links
// below zero within the tolerance, attackers pushed out or held down.
func scoringNotes(c *cell) []string {
	var out []string
	f := medianFigures(c.runs)
	if f.zeroAtOnce > 0 && f.zeroAtOnce <= honestZeroShare*f.linksSeen {
		out = append(out, fmt.Sprintf("up to %.0f of %.0f honest links below zero at once (median over seeds)", f.zeroAtOnce, f.linksSeen))
	}
	if !c.runs[0].Plan.Scenario.Attacked() {
		return out
	}
	var outAt []float64
	for _, r := range c.runs {
		if e := r.Eviction; e != nil && e.Held() && e.Out >= 0 {
			outAt = append(outAt, (e.Out - e.At).Seconds())
		}
	}
	switch {
	case f.peak < 0.05:
		out = append(out, fmt.Sprintf("the attackers never held 5%% of the honest mesh places (peak %.1f%%, median)", 100*f.peak))
	case len(outAt) > 0:
		s := spreadOf(outAt)
		out = append(out, fmt.Sprintf("attackers pushed out of the meshes in %d of %d seeds, %.0f s after the attack began (median; %.0f–%.0f s)",
			len(outAt), len(c.runs), s.Median, s.Min, s.Max))
	case f.end <= f.peak/2:
		out = append(out, fmt.Sprintf("the attackers' share of mesh places fell from %.0f%% to %.0f%% but they were not pushed out", 100*f.peak, 100*f.end))
	case !f.held:
		out = append(out, fmt.Sprintf("the attackers, who forward some messages, kept %.0f%% of the honest mesh places to the end of publishing (peak %.0f%%)", 100*f.end, 100*f.peak))
	}
	return out
}
