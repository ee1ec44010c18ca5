package svgplot

import (
	"strings"
	"testing"
)

// TestScales checks that each scale maps its range onto the frame, in
// order, and that a line outside the y range is left out.
func TestScales(t *testing.T) {
	for _, tt := range []struct {
		name   string
		plot   *Plot
		ys     []float64
		notOut float64
	}{
		{"linear", New("t", "x", "y", 0, 10, -5, 5, false), []float64{-5, -1, 0, 1, 5}, 0},
		{"log", func() *Plot { p := New("t", "x", "y", 0, 10, 0.01, 100, false); p.LogY = true; return p }(), []float64{0.01, 0.1, 1, 10, 100}, 1},
		{"symlog", func() *Plot { p := New("t", "x", "y", 0, 10, -1e4, 100, false); p.SymlogY = true; return p }(), []float64{-1e4, -100, -1, 0, 1, 100}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plot
			if got := p.y(p.ymax); got != padT {
				t.Errorf("top of the range at %v, want %v", got, padT)
			}
			if got := p.y(p.ymin); got != padT+innerH {
				t.Errorf("bottom of the range at %v, want %v", got, padT+innerH)
			}
			for i := 1; i < len(tt.ys); i++ {
				if p.y(tt.ys[i]) >= p.y(tt.ys[i-1]) {
					t.Errorf("y(%v) = %v not above y(%v) = %v", tt.ys[i], p.y(tt.ys[i]), tt.ys[i-1], p.y(tt.ys[i-1]))
				}
			}
			p.HLine(p.ymax*10+1000, "outside", "#000")
			p.HLine(tt.notOut, "inside", "#000")
			p.Line([]float64{0, 10}, []float64{tt.notOut, tt.notOut}, "#000", 1)
			svg := p.String()
			if strings.Contains(svg, "outside") || !strings.Contains(svg, "inside") || !strings.Contains(svg, "<polyline") {
				t.Errorf("lines drawn wrong:\n%s", svg)
			}
			if !strings.HasSuffix(svg, "</svg>\n") {
				t.Error("the document is not closed")
			}
		})
	}
}
