package lab

import (
	"runtime"
	"testing"
	"testing/synctest"
)

// labTest runs body in a synctest bubble on one thread: under the race
// detector, bubbled timers firing on several threads at once trip a Go
// runtime bug (golang/go#78156), as in the root package's e2e tests.
func labTest(t *testing.T, body func()) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	synctest.Test(t, func(*testing.T) { body() })
}

// smallConfig is the scale the tests run every scenario at: tens of
// nodes, the evaluation's timeline and parameters.
func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Honest = 16
	cfg.SnapshotNodes = 4
	return cfg
}

func runArm(t *testing.T, cfg Config, sc Scenario, arm Arm) *Result {
	t.Helper()
	var res *Result
	var err error
	labTest(t, func() { res, err = Run(cfg, sc, arm, nil) })
	if err != nil {
		t.Fatalf("%s/%s: %v", sc.Name, arm, err)
	}
	t.Logf("%s/%s: %d honest, %d Sybils; delivery %.4f, p50 %v, p99 %v, max %v, dups %.2f, Sybil mesh peak %s",
		sc.Name, arm, res.Plan.Honest, res.Plan.Sybils, res.Delivery, res.P50, res.P99, res.Max, res.Duplicates, peakSybilShare(res))
	for _, c := range res.Crossings {
		t.Logf("  below %s: %d/%d, first %v median %v", c.Level.Name, c.Crossed, c.Of, c.First, c.Median)
	}
	return res
}
