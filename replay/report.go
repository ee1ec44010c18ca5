package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peerscore/peerscore/internal/svgplot"
)

// Run is a replay's result as results.json holds it: the trace, the
// parameters, what each set of parameters found, and where two disagree.
type Run struct {
	Trace    string     `json:"trace"`
	Params   []string   `json:"params"`   // one, or two with -compare
	Outcomes []*Outcome `json:"outcomes"` // in Params' order
	// Disagreements are the peers the two sets put on different sides
	// of a level (with -compare).
	Disagreements []Disagreement `json:"disagreements,omitempty"`
	Wall          time.Duration  `json:"wall"`
	// Cut counts the files that ended cut short (ErrTruncated): a node
	// still writing, or one that crashed. The replay went on with the
	// next file, or ended there.
	Cut int `json:"cut,omitempty"`
}

// Disagreement is one peer that one parameter set pushed below a level
// and the other did not.
type Disagreement struct {
	Peer  string `json:"peer"`
	Level Level  `json:"level"`
	// Below is the parameter set that pushed it below (0 or 1), with the
	// component it fell by; Other is its lowest score under the other set.
	Below     int     `json:"below"`
	Component string  `json:"component"`
	Value     float64 `json:"value"`
	Other     float64 `json:"other_min"`
	// HonestLooking: the peer looked honest (see PeerOutcome).
	HonestLooking bool `json:"honest_looking"`
}

// Compare lists the peers two outcomes put on different sides of a level.
func Compare(a, b *Outcome) []Disagreement {
	var out []Disagreement
	index := func(o *Outcome) map[string]*PeerOutcome {
		m := map[string]*PeerOutcome{}
		for i := range o.Peers {
			m[o.Peers[i].Peer] = &o.Peers[i]
		}
		return m
	}
	ia, ib := index(a), index(b)
	names := map[string]bool{}
	for n := range ia {
		names[n] = true
	}
	for n := range ib {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	for _, n := range sorted {
		pa, pb := ia[n], ib[n]
		for _, lv := range a.Levels {
			ca, cb := crossedAt(pa, lv.Name), crossedAt(pb, lv.Name)
			switch {
			case ca != nil && cb == nil:
				out = append(out, Disagreement{Peer: n, Level: lv, Below: 0, Component: string(ca.Component), Value: ca.Value,
					Other: minOf(pb), HonestLooking: pa.HonestLooking})
			case cb != nil && ca == nil:
				out = append(out, Disagreement{Peer: n, Level: lv, Below: 1, Component: string(cb.Component), Value: cb.Value,
					Other: minOf(pa), HonestLooking: pb.HonestLooking})
			}
		}
	}
	return out
}

func crossedAt(p *PeerOutcome, level string) *Crossing {
	if p == nil {
		return nil
	}
	for i := range p.Crossed {
		if p.Crossed[i].Level.Name == level {
			return &p.Crossed[i]
		}
	}
	return nil
}

func minOf(p *PeerOutcome) float64 {
	if p == nil || math.IsInf(p.Min, 0) {
		return 0
	}
	return p.Min
}

// Write writes report.md, results.json and the plots into dir.
func (run *Run) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	var md strings.Builder
	run.report(&md)
	for i, o := range run.Outcomes {
		name := fmt.Sprintf("scores-%d.svg", i+1)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(scorePlot(run.Params[i], o)), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

// worstShown is how many peers the report lists and plots per set.
const worstShown = 20

func (run *Run) report(w io.Writer) {
	first := run.Outcomes[0]
	info := first.Info
	fmt.Fprintf(w, "# Replay report\n\n")
	fmt.Fprintf(w, "- Trace: `%s`, a %s: %d events over %v (from %s)\n", run.Trace, info.Format, info.Events, info.Span.Round(time.Second),
		info.Start.UTC().Format(time.RFC3339))
	for i, p := range run.Params {
		fmt.Fprintf(w, "- Parameters %d: %s\n", i+1, p)
	}
	if run.Cut > 0 {
		fmt.Fprintf(w, "- Cut short: %d file(s) ended mid-record (a node still writing, or one that crashed); the replay took each as its end\n", run.Cut)
	}
	fmt.Fprintf(w, "- Wall time: %v\n\n", run.Wall.Round(time.Millisecond))
	fmt.Fprintf(w, "## What the trace could tell\n\n| part of the score | replayed | why |\n|---|---|---|\n")
	for _, c := range info.Components() {
		fmt.Fprintf(w, "| %s | %s | %s |\n", c.Name, c.Replayed, c.Why)
	}
	fmt.Fprintln(w)
	if inf := info.inferredList(); len(inf) > 0 {
		fmt.Fprintf(w, "What the replay had to infer:\n\n")
		for _, s := range inf {
			fmt.Fprintf(w, "- %s\n", s)
		}
		fmt.Fprintln(w)
	}
	for i, o := range run.Outcomes {
		writeOutcome(w, i, run.Params[i], o)
	}
	if len(run.Outcomes) == 2 {
		writeDisagreements(w, run)
	}
}

func writeOutcome(w io.Writer, i int, params string, o *Outcome) {
	fmt.Fprintf(w, "## Parameters %d: %s\n\n", i+1, params)
	if c := o.Check; c != nil {
		if c.Differ == 0 {
			fmt.Fprintf(w, "Against the live scores the recording holds: %d scores at %d instants, every one replayed to 1e-9.\n\n", c.Scores, c.Checkpoints)
		} else {
			fmt.Fprintf(w, "Against the live scores the recording holds: %d of %d scores at %d instants differ by more than 1e-9, by %.6g at most; the first: %s. "+
				"That is expected if these are not the parameters the node ran with; if they are, the replay missed something the node saw (see What the trace could tell).\n\n",
				c.Differ, c.Scores, c.Checkpoints, c.MaxDiff, c.Example)
		}
	}
	fmt.Fprintf(w, "| level | peers below it | of them honest-looking |\n|---|---:|---:|\n")
	for _, lv := range o.Levels {
		below, honest := 0, 0
		for _, p := range o.Peers {
			if crossedAt(&p, lv.Name) != nil {
				below++
				if p.HonestLooking {
					honest++
				}
			}
		}
		fmt.Fprintf(w, "| %s (%g) | %d of %d | %d |\n", lv.Name, lv.Value, below, len(o.Peers), honest)
	}
	fmt.Fprintf(w, "\nA peer is honest-looking when it fell below zero without ever sending an invalid message (P4), breaking a router rule (P7) "+
		"or being penalised by the application (P5) or as a slow peer, and relayed messages to this node (first or later copies): "+
		"its penalty came from mesh delivery (P3, P3b) or its address (P6) alone, which honest peers that are rarely first also earn. "+
		"A peer that never sent a message is not flagged: silent attackers look like that.\n\n")
	fmt.Fprintf(w, "![scores](scores-%d.svg)\n\n", i+1)
	var shown []PeerOutcome
	for _, p := range o.Peers {
		if len(p.Crossed) > 0 && len(shown) < worstShown {
			shown = append(shown, p)
		}
	}
	if len(shown) == 0 {
		fmt.Fprintf(w, "No peer fell below zero.\n\n")
		return
	}
	fmt.Fprintf(w, "The %d lowest peers that fell below zero:\n\n| peer | lowest | at | fell below (when, by which part) | time below zero | honest-looking |\n|---|---:|---:|---|---:|---|\n", len(shown))
	for _, p := range shown {
		var parts []string
		for _, c := range p.Crossed {
			parts = append(parts, fmt.Sprintf("%s at %v (%s %.3g)", c.Level.Name, c.First.Round(time.Second), c.Component, c.Value))
		}
		fmt.Fprintf(w, "| `%s` | %.4g | %v | %s | %v | %s |\n", short(p.Peer), p.Min, p.MinAt.Round(time.Second), strings.Join(parts, "; "),
			p.Crossed[0].Below.Round(time.Second), map[bool]string{true: "**yes**", false: "no"}[p.HonestLooking])
	}
	fmt.Fprintln(w)
}

func writeDisagreements(w io.Writer, run *Run) {
	fmt.Fprintf(w, "## Where the two sets disagree\n\n")
	if len(run.Disagreements) == 0 {
		fmt.Fprintf(w, "Both sets put every peer on the same side of every level.\n\n")
		return
	}
	fmt.Fprintf(w, "| peer | level | below under | by | its lowest under the other | honest-looking |\n|---|---|---|---|---:|---|\n")
	for _, d := range run.Disagreements {
		fmt.Fprintf(w, "| `%s` | %s | parameters %d | %s (%.3g) | %.4g | %s |\n", short(d.Peer), d.Level.Name, d.Below+1, d.Component, d.Value, d.Other,
			map[bool]string{true: "**yes**", false: "no"}[d.HonestLooking])
	}
	fmt.Fprintln(w)
}

func short(id string) string {
	if len(id) > 16 {
		return id[:6] + "…" + id[len(id)-6:]
	}
	return id
}

// scorePlot is every peer's score over time (lowest, median and highest
// at each sample) and the lowest peers' own lines, against zero and the
// thresholds.
func scorePlot(title string, o *Outcome) string {
	span, lo, hi := 1.0, -10.0, 10.0
	for _, b := range o.Band {
		span = max(span, b.At.Seconds())
		lo, hi = min(lo, b.Min), max(hi, b.Max)
	}
	for _, lv := range o.Levels {
		lo = min(lo, lv.Value*1.5)
	}
	p := svgplot.New("Scores: "+title, "trace time (s)", "score (symmetric log scale)", 0, span, lo, hi*1.5, false)
	p.SymlogY = true
	step := math.Pow(10, math.Floor(math.Log10(span)))
	for t := 0.0; t <= span; t += step {
		p.XTick(t, fmt.Sprintf("%.0f", t))
	}
	for _, v := range []float64{-1e4, -1e3, -100, -10, -1, 0, 1, 10, 100, 1e3} {
		if v >= lo && v <= hi*1.5 {
			p.YTick(v, fmt.Sprintf("%g", v))
		}
	}
	for _, lv := range o.Levels {
		p.HLine(lv.Value, fmt.Sprintf("%s %g", lv.Name, lv.Value), "#999")
	}
	var xs, mins, meds, maxs []float64
	for _, b := range o.Band {
		xs, mins, meds, maxs = append(xs, b.At.Seconds()), append(mins, b.Min), append(meds, b.Median), append(maxs, b.Max)
	}
	p.Line(xs, meds, "#1f77b4", 2)
	p.DashedLine(xs, mins, "#1f77b4", 0.8)
	p.DashedLine(xs, maxs, "#1f77b4", 0.8)
	p.Legend(0, "every peer: median (thick), lowest and highest (dashed)", "#1f77b4")
	shown := 0
	for _, po := range o.Peers {
		if len(po.Samples) == 0 || shown >= 10 {
			continue
		}
		var px, py []float64
		for _, s := range po.Samples {
			px, py = append(px, s.At.Seconds()), append(py, s.Score)
		}
		color := "#d62728"
		if po.HonestLooking {
			color = "#2ca02c"
		}
		p.Line(px, py, color, 1)
		shown++
	}
	if shown > 0 {
		p.Legend(1, "the lowest peers from their first dip: red, honest-looking green", "#d62728")
	}
	return p.String()
}
