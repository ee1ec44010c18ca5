package attacklab

import (
	"fmt"
	"math"
	"time"

	"github.com/peerscore/peerscore/internal/svgplot"
)

// The plots of the report (package svgplot draws them).

var armColor = map[Arm]string{ArmPeerscore: "#1f77b4", ArmNative: "#ff7f0e", ArmNone: "#d62728", ArmVanilla: "#7f7f7f"}

// The plots of a scenario draw one line per arm: at each point the median
// over the arm's seeds.

// medianSeries is, for each index, the median over runs of the values
// get returns (runs with fewer values are left out at higher indices).
func medianSeries(runs []*Result, get func(*Result) []float64) []float64 {
	var out []float64
	for i := 0; ; i++ {
		var xs []float64
		for _, r := range runs {
			if v := get(r); i < len(v) {
				xs = append(xs, v[i])
			}
		}
		if len(xs) == 0 {
			return out
		}
		out = append(out, spreadOf(xs).Median)
	}
}

// latencyCDF plots each arm's latency CDF on a log time axis, as the
// evaluation's tracestat -cdf did, with the 3 s and 6 s deadlines: the
// median over seeds of each percentile, scaled by the median delivery
// rate (undelivered messages never arrive).
func latencyCDF(title string, cells []*cell) string {
	hi := 1.0 // seconds
	curves := make([][]float64, len(cells))
	for i, c := range cells {
		curves[i] = medianSeries(c.runs, func(r *Result) []float64 {
			out := make([]float64, len(r.LatencyQuantiles))
			for q, d := range r.LatencyQuantiles {
				out[q] = d.Seconds()
			}
			return out
		})
		if n := len(curves[i]); n > 0 {
			hi = max(hi, curves[i][n-1])
		}
	}
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	p := svgplot.New(title+": latency CDF", "latency (simulated, log scale)", "fraction delivered", 0.001, hi, 0, 1, true)
	for v := 0.001; v <= hi*1.001; v *= 10 {
		p.XTick(v, ms(time.Duration(v*float64(time.Second))))
	}
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 0.99} {
		p.YTick(f, fmt.Sprintf("%g", f))
	}
	p.VLine(3, "3 s", "#999")
	p.VLine(6, "6 s", "#999")
	for i, c := range cells {
		delivery := spreadOf(over(c.runs, func(r *Result) float64 { return r.Delivery })).Median
		var xs, ys []float64
		for q, v := range curves[i] {
			xs = append(xs, max(0.001, v))
			ys = append(ys, float64(q)/100*delivery)
		}
		p.Line(xs, ys, armColor[c.arm], 1.8)
		p.Legend(i, fmt.Sprintf("%s (delivery %.2f%%)", c.arm, 100*delivery), armColor[c.arm])
	}
	return p.String()
}

// timeAxis puts ticks every 30 s (every 60 s past 5 minutes) on p.
func timeAxis(p *svgplot.Plot, span float64) {
	step := 30.0
	if span > 300 {
		step = 60
	}
	for t := 0.0; t <= span; t += step {
		p.XTick(t, fmt.Sprintf("%.0f", t))
	}
}

// attackMarks marks when the Sybils connect and turn, on a time axis
// that starts at offset.
func attackMarks(p *svgplot.Plot, sc Scenario, offset time.Duration) {
	if sc.SybilConnect > 0 {
		p.VLine((sc.SybilConnect - offset).Seconds(), "Sybils connect", "#666")
	}
	if sc.AttackDelay > 0 {
		p.VLine((sc.SybilConnect + sc.AttackDelay - offset).Seconds(), "Sybils turn", "#666")
	}
}

// deliveryOverTime plots each arm's delivery rate of the messages
// published in each 5 s bucket, from the start of publishing.
func deliveryOverTime(sc Scenario, cells []*cell) string {
	lo, span := 1.0, 1.0
	series := make([][]float64, len(cells))
	for i, c := range cells {
		series[i] = medianSeries(c.runs, func(r *Result) []float64 { return r.DeliveryOverTime })
		for _, d := range series[i] {
			lo = min(lo, d)
		}
		span = max(span, float64(len(series[i]))*DeliveryBucket.Seconds())
	}
	lo = math.Floor(min(lo, 0.99)*100) / 100
	p := svgplot.New(sc.Title+": delivery over time", "publication time, from the start of publishing (s)", "delivery rate", 0, span, lo, 1.0005, false)
	timeAxis(p, span)
	for _, f := range []float64{lo, (lo + 1) / 2, 1} {
		p.YTick(f, fmt.Sprintf("%.3g", f))
	}
	p.HLine(HoldDelivery, "99%", "#999")
	return bucketLines(p, sc, cells, series)
}

// bucketLines draws each arm's series, one value per DeliveryBucket of
// publication time placed at the bucket's middle, with its legend and
// the attack's marks, and returns the plot.
func bucketLines(p *svgplot.Plot, sc Scenario, cells []*cell, series [][]float64) string {
	for i, c := range cells {
		var xs []float64
		for b := range series[i] {
			xs = append(xs, (float64(b)+0.5)*DeliveryBucket.Seconds())
		}
		p.Line(xs, series[i], armColor[c.arm], 1.8)
		p.Legend(i, string(c.arm), armColor[c.arm])
	}
	attackMarks(p, sc, cells[0].runs[0].Plan.Warmup)
	return p.String()
}

// p99OverTime plots each arm's p99 latency of the messages published in
// each 5 s bucket, from the start of publishing, on a log axis.
func p99OverTime(sc Scenario, cells []*cell) string {
	hi, span := 1.0, 1.0
	series := make([][]float64, len(cells))
	for i, c := range cells {
		series[i] = medianSeries(c.runs, func(r *Result) []float64 {
			out := make([]float64, len(r.P99OverTime))
			for k, d := range r.P99OverTime {
				out[k] = max(0.001, d.Seconds())
			}
			return out
		})
		for _, v := range series[i] {
			hi = max(hi, v)
		}
		span = max(span, float64(len(series[i]))*DeliveryBucket.Seconds())
	}
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	p := svgplot.New(sc.Title+": p99 latency over time", "publication time, from the start of publishing (s)", "p99 (log scale)", 0, span, 0.01, hi, false)
	p.LogY = true
	timeAxis(p, span)
	for v := 0.01; v <= hi*1.001; v *= 10 {
		p.YTick(v, ms(time.Duration(v*float64(time.Second))))
	}
	p.HLine(3, "3 s", "#999")
	return bucketLines(p, sc, cells, series)
}

// meshShare plots the Sybils' share of the honest nodes' mesh places over
// the run.
func meshShare(sc Scenario, cells []*cell) string {
	span := 1.0
	series := make([][]float64, len(cells))
	at := make([][]float64, len(cells))
	for i, c := range cells {
		series[i] = medianSeries(c.runs, func(r *Result) []float64 {
			out := make([]float64, len(r.Mesh))
			for k, m := range r.Mesh {
				if m.Places > 0 {
					out[k] = float64(m.Sybils) / float64(m.Places)
				}
			}
			return out
		})
		for _, m := range c.runs[0].Mesh {
			at[i] = append(at[i], m.At.Seconds())
			span = max(span, m.At.Seconds())
		}
	}
	p := svgplot.New(sc.Title+": attackers' share of mesh places", "simulated time (s)", "Sybils' share of honest mesh places", 0, span, 0, 1, false)
	timeAxis(p, span)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		p.YTick(f, fmt.Sprintf("%.0f%%", 100*f))
	}
	for i, c := range cells {
		n := min(len(at[i]), len(series[i]))
		p.Line(at[i][:n], series[i][:n], armColor[c.arm], 1.8)
		p.Legend(i, string(c.arm), armColor[c.arm])
	}
	attackMarks(p, sc, 0)
	return p.String()
}

// scorePlot plots, for each scoring arm, the attackers' median and lowest
// score and the honest links' median and lowest, against zero and the
// three thresholds, on a symmetric log axis; "" when no arm scored.
func scorePlot(sc Scenario, cells []*cell) string {
	var scoring []*cell
	for _, c := range cells {
		if c.arm.scores() && len(c.runs[0].Scores) > 0 {
			scoring = append(scoring, c)
		}
	}
	if len(scoring) == 0 {
		return ""
	}
	lo, hi, span := -10.0, 10.0, 1.0
	levels := scoring[0].runs[0].Levels
	for _, lv := range levels {
		lo = min(lo, lv.Value*1.5)
	}
	type line struct {
		xs, ys []float64
		color  string
		width  float64
		dash   bool
	}
	var lines []line
	for _, c := range scoring {
		var xs []float64
		for _, s := range c.runs[0].Scores {
			xs = append(xs, s.At.Seconds())
			span = max(span, s.At.Seconds())
		}
		get := func(f func(ScoreSample) float64, attackers bool) []float64 {
			return medianSeries(c.runs, func(r *Result) []float64 {
				out := make([]float64, 0, len(r.Scores))
				for _, s := range r.Scores {
					if attackers && s.Scored == 0 {
						out = append(out, math.NaN())
						continue
					}
					out = append(out, f(s))
				}
				return out
			})
		}
		add := func(ys []float64, width float64, dash bool) {
			var lx, ly []float64
			for k, y := range ys {
				if k < len(xs) && !math.IsNaN(y) {
					lx, ly = append(lx, xs[k]), append(ly, y)
					lo, hi = min(lo, y), max(hi, y)
				}
			}
			lines = append(lines, line{lx, ly, armColor[c.arm], width, dash})
		}
		if sc.Attacked() {
			add(get(func(s ScoreSample) float64 { return s.SybilMedian }, true), 2, false)
			add(get(func(s ScoreSample) float64 { return s.SybilMin }, true), 0.8, false)
		}
		add(get(func(s ScoreSample) float64 { return s.HonestMedian }, false), 2, true)
		add(get(func(s ScoreSample) float64 { return s.HonestMin }, false), 0.8, true)
	}
	p := svgplot.New(sc.Title+": scores", "simulated time (s)", "score (symmetric log scale)", 0, span, lo, hi*1.5, false)
	p.SymlogY = true
	timeAxis(p, span)
	for _, v := range []float64{-1e4, -1e3, -100, -10, -1, 0, 1, 10, 100, 1e3, 1e4} {
		if v >= p.YMin() && v <= p.YMax() {
			p.YTick(v, fmt.Sprintf("%g", v))
		}
	}
	for _, lv := range levels {
		p.HLine(lv.Value, fmt.Sprintf("%s %g", lv.Name, lv.Value), "#999")
	}
	for _, l := range lines {
		if l.dash {
			p.DashedLine(l.xs, l.ys, l.color, l.width)
		} else {
			p.Line(l.xs, l.ys, l.color, l.width)
		}
	}
	for i, c := range scoring {
		what := "solid: attackers' median (thick) and lowest; dashed: honest links'"
		if !sc.Attacked() {
			what = "dashed: honest links' median (thick) and lowest"
		}
		p.Legend(i, fmt.Sprintf("%s (%s)", c.arm, what), armColor[c.arm])
	}
	return p.String()
}
