package lab

import (
	"os"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestTmpMeasure(t *testing.T) {
	name := os.Getenv("LAB_SC")
	if name == "" {
		t.Skip()
	}
	cfg := DefaultConfig()
	if v := os.Getenv("LAB_DUR"); v != "" {
		cfg.Duration, _ = time.ParseDuration(v)
	}
	if v := os.Getenv("LAB_N"); v != "" {
		cfg.Honest, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("LAB_RATE"); v != "" {
		cfg.Rate, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("LAB_SCALE"); v != "" {
		cfg.SybilScale, _ = strconv.ParseFloat(v, 64)
	}
	arm := Arm(os.Getenv("LAB_ARM"))
	if arm == "" {
		arm = ArmPeerscore
	}
	scs, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scs {
		start := time.Now()
		var res *Result
		synctest.Test(t, func(t *testing.T) {
			var err error
			res, err = Run(cfg, sc, arm, nil)
			if err != nil {
				t.Fatal(err)
			}
		})
		wall := time.Since(start)
		t.Logf("%s/%s: wall %v honest %d sybils %d (links %.0f/%.0f) published %d delivery %.4f p50 %v p99 %v max %v dups %.2f sybil %+v dialfail %d",
			sc.Name, arm, wall.Round(time.Millisecond), res.Plan.Honest, res.Plan.Sybils, res.Plan.SybilLinks, res.Plan.PaperLinks, res.Published, res.Delivery, res.P50, res.P99, res.Max, res.Duplicates, res.Sybil, res.DialFailures)
		for _, c := range res.Crossings {
			t.Logf("  %s: %d/%d first %v median %v last %v", c.Level.Name, c.Crossed, c.Of, c.First, c.Median, c.Last)
		}
		t.Logf("  blame %+v", res.Blame)
		for i := 0; i < len(res.Scores); i += 15 {
			sc := res.Scores[i]
			t.Logf("  score at %v: sybil min/med/max %.1f/%.1f/%.1f below %v honest min %.2f neg %d", sc.At, sc.SybilMin, sc.SybilMedian, sc.SybilMax, sc.Below, sc.HonestMin, sc.HonestNegative)
		}
		t.Logf("  delivery over time %.3f", res.DeliveryOverTime)
		t.Logf("  p99 over time %v", res.P99OverTime)
		if len(res.Mesh) > 0 {
			for i := 0; i < len(res.Mesh); i += 30 {
				m := res.Mesh[i]
				t.Logf("  mesh at %v: %d/%d sybil", m.At, m.Sybils, m.Places)
			}
		}
	}
}
