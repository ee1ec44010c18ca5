package attacklab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// HoldDelivery is the honest delivery rate a scoring arm must keep for
// the parameters to hold under an attack (issue 14: at least 99%).
const HoldDelivery = 0.99

// The report: verdicts first, then every scenario's figures over the
// seeds (median and range), plots, false positives and the attackers'
// fate, then the live parity. Every sentence is written from the same
// numbers as the tables beside it.

// WriteReport writes report.md and its SVG plots into dir.
func WriteReport(dir string, s *Suite) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	defer f.Close()
	w := &errWriter{w: f}
	g := newGrid(s.Runs)
	writeHeader(w, s, g)
	writeVerdicts(w, s, g)
	writeSummary(w, g)
	for _, sc := range g.scenarios {
		if err := writeScenario(w, dir, s, g, sc); err != nil {
			return err
		}
	}
	writeParity(w, s)
	if w.err != nil {
		return w.err
	}
	return f.Close()
}

// errWriter keeps the first write error, so the report's many Fprintf
// calls need no checks.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func writeHeader(w io.Writer, s *Suite, g *grid) {
	c := s.Config
	fmt.Fprintf(w, "# Attack lab report\n\n")
	fmt.Fprintf(w, "The gossipsub v1.1 evaluation's attacks (Vyzovitis et al., arXiv 2007.02754; test plans libp2p/gossipsub-hardening), "+
		"run with real go-libp2p hosts and GossipSub routers on %s, in simulated time (one testing/synctest bubble per run). "+
		"Arms: **peerscore** (this library), **native** (go-libp2p-pubsub's own scorer with the same parameters), "+
		"**none** (the same router without scoring) and **vanilla** (the nearest to the evaluation's gossipsub v1.0 comparator: "+
		"no scoring, no flood publishing, /meshsub/1.0.0 only).\n\n", c.Transport)
	fmt.Fprintf(w, "- Parameters: %s\n", c.Params)
	fmt.Fprintf(w, "- Network: %d honest nodes (%d publishers), each dialling %d honest peers; Sybil links per attacked node %.3g of the evaluation's\n",
		c.Honest, c.Publishers, c.Degree, c.SybilScale)
	fmt.Fprintf(w, "- Traffic: %.3g msg/s network-wide, %d-byte payloads (evaluation: 120 msg/s)\n", c.Rate, c.MsgSize)
	m := c.Mesh
	fmt.Fprintf(w, "- Mesh: D %d, Dlo %d, Dhi %d, Dscore %d, Dlazy %d, Dout %d, opportunistic graft every %d heartbeats (the -oppgraft variants: their own), gossip factor %.2f; flood publishing on (but vanilla)\n",
		m.D, m.Dlo, m.Dhi, m.Dscore, m.Dlazy, m.Dout, m.OpportunisticGraftTicks, m.GossipFactor)
	fmt.Fprintf(w, "- Timeline: warm-up %v, then publishing for the scenario's t_run, cool-down %v\n", c.Warmup, c.Cooldown)
	seeds := seedsOf(s.Runs)
	fmt.Fprintf(w, "- Seeds: %d (%s); figures are medians over them, with [min–max]\n", len(seeds), seedList(seeds))
	fmt.Fprintf(w, "- Wall time: %v for %d runs", c.Wall.Round(time.Second), len(s.Runs))
	if len(c.Shards) > 0 {
		fmt.Fprintf(w, ", merged from %s", strings.Join(c.Shards, ", "))
	}
	fmt.Fprintf(w, "\n\n")
}

func seedList(seeds []uint64) string {
	if len(seeds) > 2 && seeds[len(seeds)-1]-seeds[0] == uint64(len(seeds)-1) {
		return fmt.Sprintf("%d to %d", seeds[0], seeds[len(seeds)-1])
	}
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ", ")
}

// writeVerdicts is the verdicts' table, then each failing verdict's
// reasons and advice.
func writeVerdicts(w io.Writer, s *Suite, g *grid) {
	fmt.Fprintf(w, "## Verdicts\n\n")
	fmt.Fprintf(w, "A scoring arm **holds** when, on the medians over the seeds, honest delivery and latency stay at its baseline's "+
		"(delivery ≥ %.0f%% and at most %.1f points lower, p99 at most doubled or up by less than 100 ms, at most %.0f point more after 3 s and %.1f after 6 s), "+
		"no honest link falls below the gossip threshold and at most %.0f%% below zero at once, attackers who held 5%% of the mesh places "+
		"lose at least half of them by the end of publishing, and peerscore does no worse than native. "+
		"An unscored arm is **hurt** when the attack breaks one of the delivery and latency rules. In the baseline, scoring arms are held to the unscored baseline. "+
		"The rules are in `attacklab/verdict.go`.\n\n",
		100*HoldDelivery, 100*deliveryDrop, 100*over3sRise, 100*over6sRise, 100*honestZeroShare)
	fmt.Fprintf(w, "| scenario |")
	for _, a := range g.arms {
		fmt.Fprintf(w, " %s |", a)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(g.arms)))
	for _, sc := range g.scenarios {
		fmt.Fprintf(w, "| %s |", sc)
		for _, a := range g.arms {
			fmt.Fprintf(w, " %s |", verdictCell(findVerdict(s.Verdicts, sc, a)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, v := range s.Verdicts {
		if !v.Arm.scores() || !v.Judged || v.Holds {
			continue
		}
		fmt.Fprintf(w, "- **%s, %s: does not hold** (%d of %d seeds fail alone): %s.\n", v.Scenario, v.Arm, v.FailingSeeds, v.Seeds, strings.Join(v.Reasons, "; "))
		for _, a := range v.Advice {
			fmt.Fprintf(w, "  - To try: %s.\n", a)
		}
	}
	fmt.Fprintln(w)
}

func findVerdict(vs []Verdict, scenario string, arm Arm) *Verdict {
	i := slices.IndexFunc(vs, func(v Verdict) bool { return v.Scenario == scenario && v.Arm == arm })
	if i < 0 {
		return nil
	}
	return &vs[i]
}

// verdictCell is a verdict in the verdicts' table.
func verdictCell(v *Verdict) string {
	switch {
	case v == nil:
		return "not run"
	case !v.Judged && !v.Arm.scores() && v.Scenario == baselineName:
		return "the reference"
	case !v.Judged:
		return "not judged (no baseline)"
	case v.Arm.scores() && v.Holds:
		return fmt.Sprintf("holds (%d/%d seeds fail)", v.FailingSeeds, v.Seeds)
	case v.Arm.scores():
		return fmt.Sprintf("**does not hold** (%d/%d seeds fail)", v.FailingSeeds, v.Seeds)
	case v.Scenario == baselineName:
		return "–"
	case v.Hurt:
		return fmt.Sprintf("hurt (%d/%d seeds)", v.FailingSeeds, v.Seeds)
	}
	return fmt.Sprintf("not hurt (%d/%d seeds hurt)", v.FailingSeeds, v.Seeds)
}

// writeSummary is one line per scenario and arm: medians and ranges.
func writeSummary(w io.Writer, g *grid) {
	fmt.Fprintf(w, "## Summary\n\n")
	fmt.Fprintf(w, "Medians over the seeds, [min–max]. Honest links below 0: the most at once. Attackers below 0: of those scored, each at its worst honest node.\n\n")
	fmt.Fprintf(w, "| scenario | arm | delivery | p99 | after 3 s | honest links below 0 | attackers below 0 | attackers' peak share of mesh places |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, sc := range g.scenarios {
		for _, a := range g.arms {
			c := g.get(sc, a)
			if c == nil {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, a,
				pct(spreadOf(over(c.runs, func(r *Result) float64 { return r.Delivery })), 2),
				durSpread(spreadOf(over(c.runs, func(r *Result) float64 { return seconds(r.P99) }))),
				pct(spreadOf(over(c.runs, func(r *Result) float64 { return r.Over3s })), 1),
				honestZeroCell(c), attackersBelowCell(c), peakShareCell(c))
		}
	}
	fmt.Fprintln(w)
}

// The figures over seeds: the median, and the range when the seeds
// differ.

func pct(s Spread, digits int) string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.*f%%", digits, 100*s.Median)
	}
	return fmt.Sprintf("%.*f%% [%.*f–%.*f]", digits, 100*s.Median, digits, 100*s.Min, digits, 100*s.Max)
}

func durSpread(s Spread) string {
	d := func(x float64) string { return ms(time.Duration(x * float64(time.Second))) }
	if s.Min == s.Max {
		return d(s.Median)
	}
	return fmt.Sprintf("%s [%s–%s]", d(s.Median), d(s.Min), d(s.Max))
}

func count(s Spread) string {
	if s.Min == s.Max {
		return fmt.Sprintf("%.0f", s.Median)
	}
	return fmt.Sprintf("%.0f [%.0f–%.0f]", s.Median, s.Min, s.Max)
}

func honestZeroCell(c *cell) string {
	if !c.arm.scores() {
		return "–"
	}
	return count(spreadOf(over(c.runs, func(r *Result) float64 { return float64(honestBelow(r, "zero").MostAtOnce) })))
}

func attackersBelowCell(c *cell) string {
	if !c.arm.scores() || !c.runs[0].Plan.Scenario.Attacked() {
		return "–"
	}
	crossed := spreadOf(over(c.runs, func(r *Result) float64 { return float64(crossing(r, "zero").Crossed) }))
	of := spreadOf(over(c.runs, func(r *Result) float64 { return float64(crossing(r, "zero").Of) }))
	return fmt.Sprintf("%s of %.0f", count(crossed), of.Median)
}

func peakShareCell(c *cell) string {
	if !c.runs[0].Plan.Scenario.Attacked() {
		return "–"
	}
	return pct(spreadOf(over(c.runs, func(r *Result) float64 {
		if r.Eviction == nil {
			return 0
		}
		return r.Eviction.Peak
	})), 0)
}

// honestBelow is r's tally at the level named name (the zero value when
// r has none).
func honestBelow(r *Result, name string) HonestBelow {
	for _, hb := range r.HonestBelow {
		if hb.Level.Name == name {
			return hb
		}
	}
	return HonestBelow{First: -1}
}

// crossing is r's attackers' crossing of the level named name.
func crossing(r *Result, name string) Crossing {
	for _, c := range r.Crossings {
		if c.Level.Name == name {
			return c
		}
	}
	return Crossing{}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func secs(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) }
