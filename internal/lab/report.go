package lab

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HoldDelivery is the honest delivery rate a scoring arm must keep for
// the parameters to hold under an attack (issue 14: at least 99%).
const HoldDelivery = 0.99

// Verdict is what one scenario says about the parameters under test.
type Verdict struct {
	// Holds: peerscore kept delivery at HoldDelivery or more, and no worse
	// than native scoring (within one delivery in a thousand).
	Holds bool
	// Hurt: without scoring, the attack cost delivery or latency against
	// the baseline (see Hurt). Unscored says whether that was measured:
	// the unscored arm ran in this scenario and in the baseline.
	Hurt, Unscored bool
	// Scored says whether Holds was judged: the peerscore arm ran.
	Scored bool
	Why    string
	// Slow, when set, says that peerscore held delivery but its p99
	// latency was more than twice the baseline's (and 100 ms more): the
	// attack cost time, which delivery alone does not show.
	Slow string
}

// Hurt reports whether res, an unscored run, shows the attack's harm
// against base, the baseline's run in the same arm: delivery down by more
// than half a percent, or p99 latency more than doubled (and up by at
// least 100 ms, the scale of one extra hop), in the whole network or at
// the victim of a targeted attack.
func Hurt(res, base *Result) bool {
	if res == nil || base == nil {
		return false
	}
	if res.Victim != nil && worse(res.Victim.Delivery, res.Victim.P99, base) {
		return true
	}
	return worse(res.Delivery, res.P99, base)
}

func worse(delivery float64, p99 time.Duration, base *Result) bool {
	return delivery < base.Delivery-0.005 || slower(p99, base)
}

// slower: p99 more than doubled against the baseline's, and up by at
// least 100 ms.
func slower(p99 time.Duration, base *Result) bool {
	return p99 > 2*base.P99 && p99-base.P99 >= 100*time.Millisecond
}

// Judge compares a scenario's arms (in Arms order, any subset) against the
// baseline's.
func Judge(row []*Result, baseline []*Result) Verdict {
	ps, native, none := pick(row, ArmPeerscore), pick(row, ArmNative), pick(row, ArmNone)
	var v Verdict
	var why []string
	if ps != nil {
		v.Scored = true
		v.Holds = ps.Delivery >= HoldDelivery
		if !v.Holds {
			why = append(why, fmt.Sprintf("peerscore delivered %.2f%% < %.0f%%", 100*ps.Delivery, 100*HoldDelivery))
		}
		if native != nil && ps.Delivery < native.Delivery-0.001 {
			v.Holds = false
			why = append(why, fmt.Sprintf("peerscore %.2f%% below native %.2f%%", 100*ps.Delivery, 100*native.Delivery))
		}
	}
	if base := pick(baseline, ArmNone); none != nil && base != nil {
		v.Unscored = true
		v.Hurt = Hurt(none, base)
	}
	if base := pick(baseline, ArmPeerscore); ps != nil && base != nil && slower(ps.P99, base) {
		v.Slow = fmt.Sprintf("p99 %s against the baseline's %s", ms(ps.P99), ms(base.P99))
	}
	v.Why = strings.Join(why, "; ")
	return v
}

// holdsText and hurtText put a verdict in words, for the console and the
// report.
func (v Verdict) holdsText() string {
	if !v.Scored {
		return "peerscore arm not run"
	}
	s := map[bool]string{true: "holds", false: "DOES NOT HOLD"}[v.Holds]
	if v.Slow != "" {
		s += " (but " + v.Slow + ")"
	}
	return s
}

func (v Verdict) hurtText() string {
	switch {
	case !v.Unscored:
		return "unscored arm or baseline not run"
	case v.Hurt:
		return "hurts unscored"
	}
	return "no harm unscored at this scale"
}

func pick(row []*Result, arm Arm) *Result {
	for _, r := range row {
		if r != nil && r.Arm == arm {
			return r
		}
	}
	return nil
}

// WriteReport writes report.md, results.json's neighbours (one SVG per
// plot) into dir.
func WriteReport(dir string, cfg Config, results [][]*Result, wall time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	defer f.Close()
	var base []*Result
	for _, row := range results {
		if len(row) > 0 && row[0].Scenario == "baseline" {
			base = row
		}
	}
	w := &errWriter{w: f}
	writeHeader(w, cfg, results, wall)
	writeSummary(w, results, base)
	for _, row := range results {
		if err := writeScenario(w, dir, row, base); err != nil {
			return err
		}
	}
	writeParity(w, cfg, results)
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

func writeHeader(w io.Writer, cfg Config, results [][]*Result, wall time.Duration) {
	fmt.Fprintf(w, "# Attack lab report\n\n")
	fmt.Fprintf(w, "The gossipsub v1.1 evaluation's attacks (Vyzovitis et al., arXiv 2007.02754; test plans libp2p/gossipsub-hardening), "+
		"run with real go-libp2p hosts and GossipSub routers on %s, in simulated time (one testing/synctest bubble per run). "+
		"Each scenario runs in three arms: **peerscore** (this library), **native** (go-libp2p-pubsub's own scorer with the same parameters) "+
		"and **none** (no scoring, to show the attack).\n\n", cfg.Transport)
	fmt.Fprintf(w, "- Parameters: %s\n", cfg.Params.Name)
	pubs := cfg.publishers()
	fmt.Fprintf(w, "- Network: %d honest nodes (%d publishers), each dialling %d honest peers; Sybil links per attacked node scaled by %.3g of the evaluation's (see each scenario)\n",
		cfg.Honest, pubs, min(cfg.degree(), cfg.Honest-1), cfg.SybilScale)
	fmt.Fprintf(w, "- Traffic: %.3g msg/s network-wide, %d-byte payloads (evaluation: 120 msg/s; nominal 2 KiB, `{}` in fact)\n", cfg.Rate, cfg.MsgSize)
	fmt.Fprintf(w, "- Mesh: D %d, Dlo %d, Dhi %d, Dscore %d, Dlazy %d, Dout %d, opportunistic graft every %d heartbeats, gossip factor %.2f; flood publishing on\n",
		cfg.GossipSub.D, cfg.GossipSub.Dlo, cfg.GossipSub.Dhi, cfg.GossipSub.Dscore, cfg.GossipSub.Dlazy, cfg.GossipSub.Dout,
		cfg.GossipSub.OpportunisticGraftTicks, cfg.GossipSub.GossipFactor)
	fmt.Fprintf(w, "- Timeline: warm-up %v, then publishing for the scenario's t_run, cool-down %v\n", cfg.Warmup, cfg.Cooldown)
	fmt.Fprintf(w, "- Wall time: %v for %d runs\n\n", wall.Round(time.Second), len(results)*max(1, len(firstRow(results))))
	fmt.Fprintf(w, "Delivery is deliveries to honest nodes over published × honest nodes (the publisher's own included, as the evaluation counted). "+
		"Latencies are from publication to delivery, in simulated time. Duplicates are copies received after the first, per message per node. "+
		"**Holds**: peerscore kept delivery ≥ %.0f%% and no worse than native (if native ran); **slow**: it did, but its p99 more than doubled against the baseline's (if the baseline ran). **Hurts unscored**: without scoring, delivery fell by more than 0.5%% "+
		"or p99 more than doubled against the baseline.\n\n", 100*HoldDelivery)
}

func firstRow(results [][]*Result) []*Result {
	if len(results) == 0 {
		return nil
	}
	return results[0]
}

func writeSummary(w io.Writer, results [][]*Result, base []*Result) {
	fmt.Fprintf(w, "## Summary\n\n")
	fmt.Fprintf(w, "| scenario | arm | delivery | p50 | p99 | max | dups/msg | Sybils | below 0 (first / median) | holds | hurts unscored |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---|---|---|\n")
	for _, row := range results {
		v := Judge(row, base)
		for i, r := range row {
			holds, hurts := "", ""
			if i == 0 {
				holds, hurts = yesNo(v.Holds), yesNo(v.Hurt)
				if !v.Scored {
					holds = "not run"
				}
				if v.Slow != "" {
					holds += ", slow"
				}
				if !v.Unscored {
					hurts = "not run"
				}
				if row[0].Scenario == "baseline" {
					hurts = "–"
				}
			}
			fmt.Fprintf(w, "| %s | %s | %.2f%% | %s | %s | %s | %.2f | %d | %s | %s | %s |\n",
				r.Scenario, r.Arm, 100*r.Delivery, ms(r.P50), ms(r.P99), ms(r.Max), r.Duplicates, r.Plan.Sybils,
				belowZero(r), holds, hurts)
		}
	}
	fmt.Fprintln(w)
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

func belowZero(r *Result) string {
	if len(r.Crossings) == 0 {
		return "–"
	}
	c := r.Crossings[0]
	if c.Crossed == 0 {
		return fmt.Sprintf("0/%d", c.Of)
	}
	return fmt.Sprintf("%d/%d (%s / %s)", c.Crossed, c.Of, secs(c.First), secs(c.Median))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) }

func writeScenario(w io.Writer, dir string, row []*Result, base []*Result) error {
	if len(row) == 0 {
		return nil
	}
	p := row[0].Plan
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

	cdf, over := sc.Name+"-latency-cdf.svg", sc.Name+"-delivery.svg"
	if err := os.WriteFile(filepath.Join(dir, cdf), []byte(latencyCDF(sc.Title, row)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, over), []byte(deliveryOverTime(sc.Title, row)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "![latency CDF](%s) ![delivery over time](%s)\n\n", cdf, over)
	if sc.Attacked() {
		if sc := scorePlot(row); sc != "" {
			name := p.Scenario.Name + "-scores.svg"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(sc), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(w, "![attacker scores](%s)\n\n", name)
		}
	}

	fmt.Fprintf(w, "| arm | delivery | p50 | p99 | max | > 3 s | > 6 s | dups/msg | Sybil share of mesh places (peak) | wall |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range row {
		fmt.Fprintf(w, "| %s | %.3f%% | %s | %s | %s | %.3f%% | %.3f%% | %.2f | %s | %v |\n", r.Arm, 100*r.Delivery, ms(r.P50), ms(r.P99), ms(r.Max),
			100*r.Over3s, 100*r.Over6s, r.Duplicates, peakSybilShare(r), r.Wall.Round(100*time.Millisecond))
	}
	fmt.Fprintln(w)
	if !sc.Attacked() {
		return nil
	}
	for _, r := range row {
		if r.Victim != nil {
			fmt.Fprintf(w, "- %s, the victim (%s): delivery %.3f%%, p99 %s, max %s\n", r.Arm,
				map[bool]string{true: "its own messages at every node", false: "what the target received"}[sc.Censor],
				100*r.Victim.Delivery, ms(r.Victim.P99), ms(r.Victim.Max))
		}
	}
	if row[0].Victim != nil {
		fmt.Fprintln(w)
	}
	for _, r := range row {
		if len(r.Crossings) == 0 {
			continue
		}
		fmt.Fprintf(w, "**%s**: when the attackers' scores (each its worst at any honest node) fell below each threshold, from the start of the run:\n\n", r.Arm)
		fmt.Fprintf(w, "| threshold | value | crossed | first | median | last |\n|---|---:|---:|---:|---:|---:|\n")
		for _, c := range r.Crossings {
			if c.Crossed == 0 {
				fmt.Fprintf(w, "| %s | %g | 0/%d | – | – | – |\n", c.Level.Name, c.Level.Value, c.Of)
				continue
			}
			fmt.Fprintf(w, "| %s | %g | %d/%d | %s | %s | %s |\n", c.Level.Name, c.Level.Value, c.Crossed, c.Of, secs(c.First), secs(c.Median), secs(c.Last))
		}
		fmt.Fprintln(w)
		if len(r.Blame) > 0 {
			fmt.Fprintf(w, "Component that did the work (the most negative part of negative attacker scores, from Scorer.Snapshot every %v): ", 5*time.Second)
			var parts []string
			for _, b := range r.Blame {
				parts = append(parts, fmt.Sprintf("%s %.0f%% of %d (mean %.1f)", b.Component, 100*b.Share, b.Links, b.Mean))
			}
			fmt.Fprintf(w, "%s.\n\n", strings.Join(parts, "; "))
		} else if r.Arm == ArmPeerscore && !r.Breakdowns {
			fmt.Fprintf(w, "Score breakdowns were off (-no-snapshots), so which component acted is not known.\n\n")
		} else if r.Arm == ArmPeerscore {
			fmt.Fprintf(w, "No attacker score was negative in any snapshot, so no penalty acted. Whatever protection the arm gave came from the honest peers' positive scores (P1 time in mesh, P2 first deliveries): when a mesh overflows, the router keeps its Dscore best-scored peers and drops the rest at random, and without scores the choice is all random.\n\n")
		}
	}
	if none := pick(row, ArmNone); none != nil {
		s := none.Sybil
		fmt.Fprintf(w, "Sybils, unscored arm: %d GRAFTs sent, %d PRUNEs received, %d messages received, %d dropped, %d copies forwarded.\n\n",
			s.Grafts, s.Prunes, s.Received, s.Dropped, s.Forwarded)
	}
	v := Judge(row, base)
	if !v.Scored {
		fmt.Fprintf(w, "Verdict: none on the parameters (the peerscore arm was not run)")
	} else {
		fmt.Fprintf(w, "Verdict: the parameters %s under this attack", map[bool]string{true: "**hold**", false: "**do not hold**"}[v.Holds])
	}
	if v.Why != "" {
		fmt.Fprintf(w, " (%s)", v.Why)
	}
	if v.Slow != "" {
		fmt.Fprintf(w, ", but slowly (%s)", v.Slow)
	}
	switch {
	case !v.Unscored:
		fmt.Fprintf(w, "; the unscored arm or the baseline was not run, so the attack's own harm is not measured.\n\n")
	default:
		fmt.Fprintf(w, "; unscored, the attack %s.\n\n", map[bool]string{true: "hurts", false: "does not measurably hurt at this scale"}[v.Hurt])
	}
	return nil
}

func peakSybilShare(r *Result) string {
	peak := 0.0
	for _, m := range r.Mesh {
		if m.Places > 0 {
			peak = max(peak, float64(m.Sybils)/float64(m.Places))
		}
	}
	return fmt.Sprintf("%.1f%%", 100*peak)
}
