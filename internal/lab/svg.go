package lab

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// The plots are hand-written SVG: a frame, axes with a few ticks, one
// polyline per arm, a legend.

var armColor = map[Arm]string{ArmPeerscore: "#1f77b4", ArmNative: "#ff7f0e", ArmNone: "#d62728", ArmVanilla: "#7f7f7f"}

const (
	plotW, plotH                   = 560, 320
	padL, padR, padT, padB         = 60, 20, 30, 45
	innerW, innerH         float64 = plotW - padL - padR, plotH - padT - padB
)

type plot struct {
	b          strings.Builder
	xmin, xmax float64
	ymin, ymax float64
	logX       bool
}

func newPlot(title, xlabel, ylabel string, xmin, xmax, ymin, ymax float64, logX bool) *plot {
	p := &plot{xmin: xmin, xmax: xmax, ymin: ymin, ymax: ymax, logX: logX}
	fmt.Fprintf(&p.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", plotW, plotH)
	fmt.Fprintf(&p.b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&p.b, `<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	fmt.Fprintf(&p.b, `<rect x="%d" y="%d" width="%g" height="%g" fill="none" stroke="#888"/>`+"\n", padL, padT, innerW, innerH)
	fmt.Fprintf(&p.b, `<text x="%g" y="%d" text-anchor="middle">%s</text>`+"\n", padL+innerW/2, plotH-8, html.EscapeString(xlabel))
	fmt.Fprintf(&p.b, `<text x="14" y="%g" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>`+"\n", padT+innerH/2, padT+innerH/2, html.EscapeString(ylabel))
	return p
}

func (p *plot) x(v float64) float64 {
	if p.logX {
		v, lo, hi := math.Log10(max(v, p.xmin)), math.Log10(p.xmin), math.Log10(p.xmax)
		return padL + innerW*(v-lo)/(hi-lo)
	}
	return padL + innerW*(v-p.xmin)/(p.xmax-p.xmin)
}

func (p *plot) y(v float64) float64 {
	return padT + innerH*(1-(v-p.ymin)/(p.ymax-p.ymin))
}

func (p *plot) xtick(v float64, label string) {
	x := p.x(v)
	fmt.Fprintf(&p.b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`+"\n", x, float64(padT), x, padT+innerH)
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x, padT+innerH+14, label)
}

func (p *plot) ytick(v float64, label string) {
	y := p.y(v)
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y, padL+innerW, y)
	fmt.Fprintf(&p.b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-4, y+4, label)
}

func (p *plot) vline(v float64, label, color string) {
	x := p.x(v)
	fmt.Fprintf(&p.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%g" stroke="%s" stroke-dasharray="4 3"/>`+"\n", x, padT, x, padT+innerH, color)
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%d" fill="%s">%s</text>`+"\n", x+3, padT+12, color, html.EscapeString(label))
}

func (p *plot) hline(v float64, label, color string) {
	if v < p.ymin || v > p.ymax {
		return
	}
	y := p.y(v)
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%.1f" x2="%g" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`+"\n", padL, y, padL+innerW, y, color)
	fmt.Fprintf(&p.b, `<text x="%g" y="%.1f" fill="%s" text-anchor="end">%s</text>`+"\n", padL+innerW-3, y-3, color, html.EscapeString(label))
}

func (p *plot) line(xs, ys []float64, color string, width float64) {
	if len(xs) == 0 {
		return
	}
	var pts strings.Builder
	for i := range xs {
		fmt.Fprintf(&pts, "%.1f,%.1f ", p.x(xs[i]), p.y(ys[i]))
	}
	fmt.Fprintf(&p.b, `<polyline fill="none" stroke="%s" stroke-width="%g" points="%s"/>`+"\n", color, width, strings.TrimSpace(pts.String()))
}

func (p *plot) legend(i int, label, color string) {
	x, y := padL+10, padT+16+14*i
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x, y-4, x+18, y-4, color)
	fmt.Fprintf(&p.b, `<text x="%d" y="%d">%s</text>`+"\n", x+22, y, html.EscapeString(label))
}

func (p *plot) String() string { return p.b.String() + "</svg>\n" }

// latencyCDF plots each arm's latency CDF on a log time axis, as the
// evaluation's tracestat -cdf did, with the 3 s and 6 s deadlines.
func latencyCDF(title string, row []*Result) string {
	hi := 1.0 // seconds
	for _, r := range row {
		if len(r.Latencies) > 0 {
			hi = max(hi, r.Latencies[len(r.Latencies)-1].Seconds())
		}
	}
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.01)))
	p := newPlot(title+": latency CDF", "latency (simulated, log scale)", "fraction delivered", 0.001, hi, 0, 1, true)
	for v := 0.001; v <= hi*1.001; v *= 10 {
		p.xtick(v, ms(time.Duration(v*float64(time.Second))))
	}
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 0.99} {
		p.ytick(f, fmt.Sprintf("%g", f))
	}
	p.vline(3, "3 s", "#999")
	p.vline(6, "6 s", "#999")
	for i, r := range row {
		xs, ys := cdfPoints(r)
		p.line(xs, ys, armColor[r.Arm], 1.8)
		p.legend(i, fmt.Sprintf("%s (delivery %.2f%%)", r.Arm, 100*r.Delivery), armColor[r.Arm])
	}
	return p.String()
}

// cdfPoints samples the CDF at up to 400 points. The curve's top is the
// delivery rate: undelivered messages never arrive.
func cdfPoints(r *Result) (xs, ys []float64) {
	n := len(r.Latencies)
	if n == 0 || r.Expected == 0 {
		return nil, nil
	}
	step := max(1, n/400)
	for i := 0; i < n; i += step {
		xs = append(xs, max(0.001, r.Latencies[i].Seconds()))
		ys = append(ys, float64(i+1)/float64(r.Expected))
	}
	xs = append(xs, max(0.001, r.Latencies[n-1].Seconds()))
	ys = append(ys, float64(n)/float64(r.Expected))
	return xs, ys
}

// deliveryOverTime plots each arm's delivery rate of the messages
// published in each 5 s bucket, from the start of publishing.
func deliveryOverTime(title string, row []*Result) string {
	lo, span := 1.0, 1.0
	for _, r := range row {
		for _, d := range r.DeliveryOverTime {
			lo = min(lo, d)
		}
		span = max(span, float64(len(r.DeliveryOverTime))*DeliveryBucket.Seconds())
	}
	lo = math.Floor(min(lo, 0.99)*100) / 100
	p := newPlot(title+": delivery over time", "publication time, from the start of publishing (s)", "delivery rate", 0, span, lo, 1.0005, false)
	for t := 0.0; t <= span; t += 30 {
		p.xtick(t, fmt.Sprintf("%.0f", t))
	}
	for _, f := range []float64{lo, (lo + 1) / 2, 1} {
		p.ytick(f, fmt.Sprintf("%.3g", f))
	}
	p.hline(HoldDelivery, "99%", "#999")
	for i, r := range row {
		var xs, ys []float64
		for b, d := range r.DeliveryOverTime {
			xs = append(xs, (float64(b)+0.5)*DeliveryBucket.Seconds())
			ys = append(ys, d)
		}
		p.line(xs, ys, armColor[r.Arm], 1.8)
		p.legend(i, string(r.Arm), armColor[r.Arm])
	}
	if len(row) > 0 {
		sc := row[0].Plan.Scenario
		warm := row[0].Plan.Warmup
		if sc.SybilConnect > 0 {
			p.vline((sc.SybilConnect - warm).Seconds(), "Sybils connect", "#666")
		}
		if sc.AttackDelay > 0 {
			p.vline((sc.AttackDelay - warm).Seconds(), "Sybils turn", "#666")
		}
	}
	return p.String()
}

// scorePlot plots the median and minimum attacker score of each scoring
// arm over the run, with the thresholds; "" when no arm scored.
func scorePlot(row []*Result) string {
	lo, hi, span := 0.0, 1.0, 1.0
	any := false
	for _, r := range row {
		for _, s := range r.Scores {
			if s.Scored == 0 {
				continue
			}
			any = true
			lo, hi = min(lo, s.SybilMin, s.SybilMedian), max(hi, s.SybilMax)
			span = max(span, s.At.Seconds())
		}
	}
	if !any {
		return ""
	}
	// A symmetric log scale would hide the thresholds' spread; clip the
	// axis at the graylist threshold's scale instead.
	var levels []Level
	for _, r := range row {
		if len(r.Levels) > 0 {
			levels = r.Levels
		}
	}
	lo = math.Floor(lo*1.1) - 1
	p := newPlot(row[0].Plan.Scenario.Title+": attacker scores", "simulated time (s)", "score (solid: median, thin: min)", 0, span, lo, hi*1.1, false)
	for t := 0.0; t <= span; t += 30 {
		p.xtick(t, fmt.Sprintf("%.0f", t))
	}
	for _, v := range []float64{lo, lo / 2, 0, hi} {
		p.ytick(v, fmt.Sprintf("%.3g", v))
	}
	for _, lv := range levels {
		p.hline(lv.Value, lv.Name, "#999")
	}
	i := 0
	for _, r := range row {
		var xs, med, mins []float64
		for _, s := range r.Scores {
			if s.Scored == 0 {
				continue
			}
			xs = append(xs, s.At.Seconds())
			med = append(med, s.SybilMedian)
			mins = append(mins, s.SybilMin)
		}
		if len(xs) == 0 {
			continue
		}
		p.line(xs, med, armColor[r.Arm], 2)
		p.line(xs, mins, armColor[r.Arm], 0.7)
		p.legend(i, string(r.Arm), armColor[r.Arm])
		i++
	}
	return p.String()
}
