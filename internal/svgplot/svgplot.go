// Package svgplot draws the small SVG plots of the attack lab's and the
// replay's reports: hand-written SVG, a frame, axes with a few ticks,
// polylines and a legend, with no dependency.
package svgplot

import (
	"fmt"
	"html"
	"math"
	"strings"
)

const (
	plotW, plotH                   = 560, 320
	padL, padR, padT, padB         = 60, 20, 30, 45
	innerW, innerH         float64 = plotW - padL - padR, plotH - padT - padB
)

// Plot is one SVG plot being drawn: a frame, axes with a few ticks,
// polylines, a legend. Set the scale's fields before drawing.
type Plot struct {
	b          strings.Builder
	xmin, xmax float64
	ymin, ymax float64
	// LogX and LogY draw an axis on a log scale; SymlogY draws y as
	// sign(y)·log10(1+|y|), so that scores near 0 and thresholds in the
	// thousands fit on one axis.
	LogX, LogY, SymlogY bool
}

// New starts a plot with its title, axis labels and ranges.
func New(title, xlabel, ylabel string, xmin, xmax, ymin, ymax float64, logX bool) *Plot {
	p := &Plot{xmin: xmin, xmax: xmax, ymin: ymin, ymax: ymax, LogX: logX}
	fmt.Fprintf(&p.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", plotW, plotH)
	fmt.Fprintf(&p.b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&p.b, `<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>`+"\n", padL, html.EscapeString(title))
	fmt.Fprintf(&p.b, `<rect x="%d" y="%d" width="%g" height="%g" fill="none" stroke="#888"/>`+"\n", padL, padT, innerW, innerH)
	fmt.Fprintf(&p.b, `<text x="%g" y="%d" text-anchor="middle">%s</text>`+"\n", padL+innerW/2, plotH-8, html.EscapeString(xlabel))
	fmt.Fprintf(&p.b, `<text x="14" y="%g" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>`+"\n", padT+innerH/2, padT+innerH/2, html.EscapeString(ylabel))
	return p
}

func (p *Plot) x(v float64) float64 {
	if p.LogX {
		v, lo, hi := math.Log10(max(v, p.xmin)), math.Log10(p.xmin), math.Log10(p.xmax)
		return padL + innerW*(v-lo)/(hi-lo)
	}
	return padL + innerW*(v-p.xmin)/(p.xmax-p.xmin)
}

func (p *Plot) y(v float64) float64 {
	if p.LogY {
		v, lo, hi := math.Log10(max(v, p.ymin)), math.Log10(p.ymin), math.Log10(p.ymax)
		return padT + innerH*(1-(v-lo)/(hi-lo))
	}
	if p.SymlogY {
		v, lo, hi := symlog(v), symlog(p.ymin), symlog(p.ymax)
		return padT + innerH*(1-(v-lo)/(hi-lo))
	}
	return padT + innerH*(1-(v-p.ymin)/(p.ymax-p.ymin))
}

func symlog(v float64) float64 {
	if v < 0 {
		return -math.Log10(1 - v)
	}
	return math.Log10(1 + v)
}

// XTick marks x = v with label.
func (p *Plot) XTick(v float64, label string) {
	x := p.x(v)
	fmt.Fprintf(&p.b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`+"\n", x, float64(padT), x, padT+innerH)
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x, padT+innerH+14, label)
}

// YTick marks y = v with label.
func (p *Plot) YTick(v float64, label string) {
	y := p.y(v)
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", padL, y, padL+innerW, y)
	fmt.Fprintf(&p.b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL-4, y+4, label)
}

// VLine draws a dashed vertical line at x = v, labelled.
func (p *Plot) VLine(v float64, label, color string) {
	x := p.x(v)
	fmt.Fprintf(&p.b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%g" stroke="%s" stroke-dasharray="4 3"/>`+"\n", x, padT, x, padT+innerH, color)
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%d" fill="%s">%s</text>`+"\n", x+3, padT+12, color, html.EscapeString(label))
}

// HLine draws a dashed horizontal line at y = v, labelled, if v is in range.
func (p *Plot) HLine(v float64, label, color string) {
	if v < p.ymin || v > p.ymax {
		return
	}
	y := p.y(v)
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%.1f" x2="%g" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`+"\n", padL, y, padL+innerW, y, color)
	fmt.Fprintf(&p.b, `<text x="%g" y="%.1f" fill="%s" text-anchor="end">%s</text>`+"\n", padL+innerW-3, y-3, color, html.EscapeString(label))
}

// Line draws a polyline through the points (xs[i], ys[i]).
func (p *Plot) Line(xs, ys []float64, color string, width float64) {
	p.styledLine(xs, ys, color, width, "")
}

// DashedLine is Line, dashed.
func (p *Plot) DashedLine(xs, ys []float64, color string, width float64) {
	p.styledLine(xs, ys, color, width, ` stroke-dasharray="6 3"`)
}

func (p *Plot) styledLine(xs, ys []float64, color string, width float64, style string) {
	if len(xs) == 0 {
		return
	}
	var pts strings.Builder
	for i := range xs {
		fmt.Fprintf(&pts, "%.1f,%.1f ", p.x(xs[i]), p.y(ys[i]))
	}
	fmt.Fprintf(&p.b, `<polyline fill="none" stroke="%s" stroke-width="%g"%s points="%s"/>`+"\n", color, width, style, strings.TrimSpace(pts.String()))
}

// Legend writes the i-th legend entry.
func (p *Plot) Legend(i int, label, color string) {
	x, y := padL+10, padT+16+14*i
	fmt.Fprintf(&p.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x, y-4, x+18, y-4, color)
	fmt.Fprintf(&p.b, `<text x="%d" y="%d">%s</text>`+"\n", x+22, y, html.EscapeString(label))
}

// String is the finished SVG document.
func (p *Plot) String() string { return p.b.String() + "</svg>\n" }

// YMin is the bottom of the y axis.
func (p *Plot) YMin() float64 { return p.ymin }

// YMax is the top of the y axis.
func (p *Plot) YMax() float64 { return p.ymax }
