package attacklab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// minBlameLinks is how many negative scores the snapshots must have taken
// apart before the report names the component at work.
const minBlameLinks = 30

func writeScenario(w io.Writer, dir string, s *Suite, g *grid, name string) error {
	var cells []*cell
	for _, a := range g.arms {
		if c := g.get(name, a); c != nil {
			cells = append(cells, c)
		}
	}
	if len(cells) == 0 {
		return nil
	}
	p := cells[0].runs[0].Plan
	sc := p.Scenario
	fmt.Fprintf(w, "## %s (`%s`)\n\n", sc.Title, sc.Name)
	fmt.Fprintf(w, "Source: %s.\n\n", sc.Source)
	if sc.Attacked() {
		fmt.Fprintf(w, "%d Sybils (%d per IP), each dialling %d of %s at %v + 5–15%%; attack after %v; drop %.0f%%%s. "+
			"Sybil links per attacked node: %.1f here, %.0f in the evaluation.\n\n",
			p.Sybils, p.PerIP, p.AttackDegree, sc.Targets, sc.SybilConnect, sc.AttackDelay, 100*sc.Drop,
			map[bool]string{true: "; the first publisher's messages censored", false: ""}[sc.Censor],
			p.SybilLinks, p.PaperLinks)
	}
	if sc.HonestConnect > 0 {
		fmt.Fprintf(w, "Honest nodes dial each other only at %v + 5–15%%.\n\n", sc.HonestConnect)
	}
	fmt.Fprintf(w, "Publishing %v, %d messages per publisher, one every %v.\n\n", p.Run, p.Messages, p.Interval.Round(time.Millisecond))
	if err := writePlots(w, dir, sc, cells, s.Config); err != nil {
		return err
	}
	writeFigures(w, cells)
	writeVictim(w, sc, cells)
	writeFalsePositives(w, cells)
	if sc.Attacked() {
		writeAttackers(w, cells, s.Config)
		writeSybils(w, cells)
	}
	for _, c := range cells {
		if v := findVerdict(s.Verdicts, name, c.arm); v != nil {
			fmt.Fprintf(w, "%s\n\n", verdictSentence(v))
		}
	}
	return nil
}

func writePlots(w io.Writer, dir string, sc Scenario, cells []*cell, cfg SuiteConfig) error {
	plots := []struct{ name, alt, svg string }{
		{"latency-cdf", "latency CDF", latencyCDF(sc.Title, cells)},
		{"delivery", "delivery over time", deliveryOverTime(sc, cells)},
		{"p99", "p99 over time", p99OverTime(sc, cells)},
	}
	if sc.Attacked() {
		plots = append(plots, struct{ name, alt, svg string }{"mesh", "attackers' share of mesh places", meshShare(sc, cells)})
	}
	plots = append(plots, struct{ name, alt, svg string }{"scores", "scores and thresholds", scorePlot(sc, cells)})
	var refs []string
	for _, pl := range plots {
		if pl.svg == "" {
			continue
		}
		file := sc.Name + "-" + pl.name + ".svg"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(pl.svg), 0o644); err != nil {
			return err
		}
		refs = append(refs, fmt.Sprintf("![%s](%s)", pl.alt, file))
	}
	fmt.Fprintf(w, "%s\n\n", strings.Join(refs, " "))
	return nil
}

func writeFigures(w io.Writer, cells []*cell) {
	fmt.Fprintf(w, "| arm | seeds | delivery | p50 | p99 | max | after 3 s | after 6 s | dups/msg | wall per run |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		fig := func(f func(*Result) float64) Spread { return spreadOf(over(c.runs, f)) }
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %.2f | %s |\n", c.arm, len(c.runs),
			pct(fig(func(r *Result) float64 { return r.Delivery }), 3),
			durSpread(fig(func(r *Result) float64 { return seconds(r.P50) })),
			durSpread(fig(func(r *Result) float64 { return seconds(r.P99) })),
			durSpread(fig(func(r *Result) float64 { return seconds(r.Max) })),
			pct(fig(func(r *Result) float64 { return r.Over3s }), 2),
			pct(fig(func(r *Result) float64 { return r.Over6s }), 2),
			fig(func(r *Result) float64 { return r.Duplicates }).Median,
			durSpread(fig(func(r *Result) float64 { return seconds(r.Wall) })))
	}
	fmt.Fprintln(w)
}

// writeVictim is what the one node a scenario aims at saw, which the
// network's figures hardly show.
func writeVictim(w io.Writer, sc Scenario, cells []*cell) {
	if len(cells) == 0 || cells[0].runs[0].Victim == nil {
		return
	}
	what := "the target's deliveries"
	if sc.Censor {
		what = "the censored node's messages, at every node"
	}
	fmt.Fprintf(w, "At the victim (%s):\n\n| arm | delivery | p99 | max |\n|---|---:|---:|---:|\n", what)
	for _, c := range cells {
		fig := func(f func(*Victim) float64) Spread {
			return spreadOf(over(c.runs, func(r *Result) float64 {
				if r.Victim == nil {
					return 0
				}
				return f(r.Victim)
			}))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.arm,
			pct(fig(func(v *Victim) float64 { return v.Delivery }), 3),
			durSpread(fig(func(v *Victim) float64 { return seconds(v.P99) })),
			durSpread(fig(func(v *Victim) float64 { return seconds(v.Max) })))
	}
	fmt.Fprintln(w)
}

// writeFalsePositives is the scoring arms' honest peers below each level.
func writeFalsePositives(w io.Writer, cells []*cell) {
	any := false
	for _, c := range cells {
		any = any || c.arm.scores()
	}
	if !any {
		return
	}
	fmt.Fprintf(w, "False positives, honest peers scored below each level (medians over seeds; a link is one honest node's score of one honest peer):\n\n")
	fmt.Fprintf(w, "| arm | level | links ever below | peers | most at once | first | link-time below | longest |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		if !c.arm.scores() {
			continue
		}
		for _, lv := range c.runs[0].Levels {
			fig := func(f func(HonestBelow) float64) Spread {
				return spreadOf(over(c.runs, func(r *Result) float64 { return f(honestBelow(r, lv.Name)) }))
			}
			links := fig(func(h HonestBelow) float64 { return float64(h.Links) })
			first := "–"
			if links.Median > 0 {
				var at []float64
				for _, r := range c.runs {
					if h := honestBelow(r, lv.Name); h.First >= 0 {
						at = append(at, h.First.Seconds())
					}
				}
				first = secs(time.Duration(spreadOf(at).Median * float64(time.Second)))
			}
			fmt.Fprintf(w, "| %s | %s (%g) | %s | %s | %s | %s | %s | %s |\n", c.arm, lv.Name, lv.Value, count(links),
				count(fig(func(h HonestBelow) float64 { return float64(h.Peers) })),
				count(fig(func(h HonestBelow) float64 { return float64(h.MostAtOnce) })),
				first,
				durSpread(fig(func(h HonestBelow) float64 { return h.Time.Seconds() })),
				durSpread(fig(func(h HonestBelow) float64 { return h.Longest.Seconds() })))
		}
	}
	fmt.Fprintln(w)
	for _, c := range cells {
		if c.arm == ArmPeerscore {
			if s := blameSentence(c, true); s != "" {
				fmt.Fprintf(w, "%s\n\n", s)
			}
		}
	}
}

// writeAttackers is when the attackers fell below each level, which
// component did it, and how they fared in the meshes.
func writeAttackers(w io.Writer, cells []*cell, cfg SuiteConfig) {
	for _, c := range cells {
		if !c.arm.scores() {
			continue
		}
		fmt.Fprintf(w, "**%s**: the attackers' scores (each its worst at any honest node), medians over seeds:\n\n", c.arm)
		fmt.Fprintf(w, "| level | crossed | first | median | last |\n|---|---:|---:|---:|---:|\n")
		for _, lv := range c.runs[0].Levels {
			cr := func(f func(Crossing) float64) Spread {
				return spreadOf(over(c.runs, func(r *Result) float64 { return f(crossing(r, lv.Name)) }))
			}
			crossed, of := cr(func(x Crossing) float64 { return float64(x.Crossed) }), cr(func(x Crossing) float64 { return float64(x.Of) })
			if crossed.Median == 0 {
				fmt.Fprintf(w, "| %s (%g) | %s of %.0f | – | – | – |\n", lv.Name, lv.Value, count(crossed), of.Median)
				continue
			}
			fmt.Fprintf(w, "| %s (%g) | %s of %.0f | %s | %s | %s |\n", lv.Name, lv.Value, count(crossed), of.Median,
				secs(time.Duration(cr(func(x Crossing) float64 { return float64(x.First) }).Median)),
				secs(time.Duration(cr(func(x Crossing) float64 { return float64(x.Median) }).Median)),
				secs(time.Duration(cr(func(x Crossing) float64 { return float64(x.Last) }).Median)))
		}
		fmt.Fprintln(w)
		if h := spreadOf(over(c.runs, func(r *Result) float64 { return float64(honestBelow(r, "zero").Links) })); h.Median > 0 {
			fmt.Fprintf(w, "Honest links fell below zero too (%s, median over seeds): below zero alone does not tell an attacker from an honest peer that seldom delivers first.\n\n", count(h))
		}
		if c.arm == ArmPeerscore {
			if s := blameSentence(c, false); s != "" {
				fmt.Fprintf(w, "%s\n\n", s)
			}
		}
	}
}

// writeSybils says what the Sybils did in each arm (medians over seeds).
func writeSybils(w io.Writer, cells []*cell) {
	fmt.Fprintf(w, "What the Sybils did (medians over seeds):\n\n| arm | GRAFTs sent | PRUNEs received | messages received | dropped by the attack | copies forwarded | copies dropped at a full queue |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		m := func(f func(r *Result) int64) float64 {
			return spreadOf(over(c.runs, func(r *Result) float64 { return float64(f(r)) })).Median
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", c.arm,
			m(func(r *Result) int64 { return r.Sybil.Grafts }), m(func(r *Result) int64 { return r.Sybil.Prunes }),
			m(func(r *Result) int64 { return r.Sybil.Received }), m(func(r *Result) int64 { return r.Sybil.Dropped }),
			m(func(r *Result) int64 { return r.Sybil.Forwarded }), m(func(r *Result) int64 { return r.Sybil.QueueDrops }))
	}
	fmt.Fprintln(w)
}

// blameSentence says which component made negative scores negative, from
// the peerscore arm's snapshots, or why it cannot.
func blameSentence(c *cell, honest bool) string {
	who := map[bool]string{true: "honest", false: "attacker"}[honest]
	breakdowns := false
	total := map[string]int{}
	sum := map[string]float64{}
	links := 0
	for _, r := range c.runs {
		breakdowns = breakdowns || r.Breakdowns
		bs := r.Blame
		if honest {
			bs = r.HonestBlame
		}
		for _, b := range bs {
			total[string(b.Component)] += b.Links
			sum[string(b.Component)] += b.Mean * float64(b.Links)
			links += b.Links
		}
	}
	switch {
	case !breakdowns:
		return ""
	case links == 0 && honest:
		return ""
	case links == 0:
		return "The snapshots (every 5 s, at the attacked nodes first) caught no negative attacker score."
	case links < minBlameLinks:
		return fmt.Sprintf("The snapshots caught %d negative %s scores over all seeds, too few (under %d) to say which component did the work.", links, who, minBlameLinks)
	}
	var parts []string
	for _, comp := range sortedByCount(total) {
		parts = append(parts, fmt.Sprintf("%s %.0f%% (mean %.3g)", comp, 100*float64(total[comp])/float64(links), sum[comp]/float64(total[comp])))
	}
	return fmt.Sprintf("The most negative part of %d negative %s scores (peerscore's snapshots every 5 s, all seeds): %s.", links, who, strings.Join(parts, "; "))
}

func sortedByCount(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if m[keys[j]] > m[keys[i]] || (m[keys[j]] == m[keys[i]] && keys[j] < keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// verdictSentence puts a verdict in words.
func verdictSentence(v *Verdict) string {
	var b strings.Builder
	switch {
	case !v.Judged && v.Scenario == baselineName && !v.Arm.scores():
		return fmt.Sprintf("Verdict, %s: the reference the other arms are held to.", v.Arm)
	case !v.Judged:
		return fmt.Sprintf("Verdict, %s: not judged, its baseline did not run.", v.Arm)
	case v.Arm.scores() && v.Holds:
		fmt.Fprintf(&b, "Verdict, %s: the parameters **hold**", v.Arm)
	case v.Arm.scores():
		fmt.Fprintf(&b, "Verdict, %s: the parameters **do not hold**: %s", v.Arm, strings.Join(v.Reasons, "; "))
	case v.Hurt:
		fmt.Fprintf(&b, "Verdict, %s: the attack **hurts**: %s", v.Arm, strings.Join(v.Reasons, "; "))
	default:
		fmt.Fprintf(&b, "Verdict, %s: the attack does no measurable harm", v.Arm)
	}
	fmt.Fprintf(&b, " (medians over %d seeds; %d fail alone)", v.Seeds, v.FailingSeeds)
	if len(v.Notes) > 0 {
		fmt.Fprintf(&b, ". %s", capitalise(strings.Join(v.Notes, "; ")))
	}
	b.WriteString(".")
	for _, a := range v.Advice {
		fmt.Fprintf(&b, " To try: %s.", a)
	}
	return b.String()
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
