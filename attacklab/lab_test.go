package attacklab

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
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
	cfg.Honest = 10
	cfg.Rate = 0.5
	cfg.Params = HardeningScoring(cfg.Warmup, 0, cfg.Rate)
	cfg.MaxSybilLinks = 200
	cfg.Cooldown = 10 * time.Second // the longest latency seen is under 5 s
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
	peak := 0.0
	if res.Eviction != nil {
		peak = res.Eviction.Peak
	}
	t.Logf("%s/%s: %d honest, %d Sybils; delivery %.4f, p50 %v, p99 %v, max %v, dups %.2f, Sybil mesh peak %.0f%%",
		sc.Name, arm, res.Plan.Honest, res.Plan.Sybils, res.Delivery, res.P50, res.P99, res.Max, res.Duplicates, 100*peak)
	for _, c := range res.Crossings {
		t.Logf("  below %s: %d/%d, first %v median %v", c.Level.Name, c.Crossed, c.Of, c.First, c.Median)
	}
	return res
}

// tailP99 is the p99 latency of the messages published in the last 30 s
// of publishing: after the scorers have had the time the parameters give
// them (P3 activates 90 s into a peer's mesh membership).
func tailP99(res *Result) time.Duration {
	n := len(res.P99OverTime)
	tail := int(30 * time.Second / DeliveryBucket)
	var worst time.Duration
	for _, p := range res.P99OverTime[max(0, n-tail):] {
		worst = max(worst, p)
	}
	return worst
}

// closeTo reports whether an attacked run's latency is close to the
// baseline's: within twice the baseline's plus 100 ms (one more hop).
func closeTo(got, base time.Duration) bool { return got <= 2*base+100*time.Millisecond }

// notAtSmallScale are the outcomes the tests' small network cannot show,
// and why (measured at 12 honest nodes; the command's default of 40 shows
// more, see attacklab/README.md's Results).
var notAtSmallScale = map[string]string{
	// 33 Sybils forwarding half of what they get, against 12 honest
	// nodes all publishing with flood publishing on: p99 84 ms against the
	// baseline's 77, no message lost.
	"degradation": "hurt",
	// Before they turn at 120 s the Sybils forward everything with no
	// degree limit; in a dozen honest nodes each is first for a large
	// share of messages and can reach P2's cap (at full scale, one of ~120
	// mesh candidates, it stays far below). P3's largest penalty (-6.25
	// after the topic weight) cannot outweigh that credit (up to 249)
	// until it decays. At 12 nodes the last 30 s still had p99 917 ms
	// (baseline 77); at 10 nodes 83 ms. Not asserted: only that scoring
	// does better than none at the end.
	"covert-flash": "recovery",
}

// TestScenarios runs every scenario at small scale in the peerscore and
// unscored arms (the native arm is the command's) and checks the outcome
// the evaluation reported: with scoring, honest delivery at least 99%
// and latency back to the baseline's once the score has acted; without,
// the attacks that should hurt do.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	cfg := smallConfig()
	base := Scenarios[0]
	if base.Attacked() {
		t.Fatal("Scenarios[0] must be the baseline")
	}
	basePS := runArm(t, cfg, base, ArmPeerscore)
	baseNone := runArm(t, cfg, base, ArmNone)
	if basePS.Delivery < HoldDelivery || baseNone.Delivery < HoldDelivery {
		t.Fatalf("baseline delivery %.4f (peerscore), %.4f (none): the network itself does not deliver", basePS.Delivery, baseNone.Delivery)
	}
	if !closeTo(basePS.P99, baseNone.P99) {
		t.Errorf("baseline p99 %v with peerscore, %v without: scoring costs honest latency with no attack", basePS.P99, baseNone.P99)
	}
	for _, sc := range Scenarios[1:] {
		t.Run(sc.Name, func(t *testing.T) {
			ps := runArm(t, cfg, sc, ArmPeerscore)
			none := runArm(t, cfg, sc, ArmNone)
			if v := ps.Victim; v != nil && (v.Delivery < HoldDelivery || !closeTo(v.P99, basePS.P99)) {
				t.Errorf("peerscore, at the victim: delivery %.4f, p99 %v (baseline %v)", v.Delivery, v.P99, basePS.P99)
			}
			if ps.Delivery < HoldDelivery {
				t.Errorf("peerscore delivered %.4f < %.2f", ps.Delivery, HoldDelivery)
			}
			tail := tailP99(ps)
			if notAtSmallScale[sc.Name] == "recovery" {
				if noneTail := tailP99(none); tail > noneTail {
					t.Errorf("peerscore p99 over the last 30 s %v, worse than no scoring's %v", tail, noneTail)
				}
			} else if !closeTo(tail, basePS.P99) {
				t.Errorf("peerscore p99 over the last 30 s %v, baseline %v: not close", tail, basePS.P99)
			}
			if ps.Max > 6*time.Second {
				t.Errorf("peerscore max latency %v past the evaluation's 6 s deadline", ps.Max)
			}
			if !sc.Hurts || notAtSmallScale[sc.Name] == "hurt" {
				return
			}
			if !hurtUnscored(t, baseNone, none) {
				t.Errorf("unscored, the attack did no harm: delivery %.4f, p99 %v (baseline %.4f, %v)", none.Delivery, none.P99, baseNone.Delivery, baseNone.P99)
			}
			// Where the unscored network's p99 was hardly hurt (a
			// single-target attack, the harm at the victim), it and
			// peerscore's are both near the baseline, and either may be
			// the lower.
			if ps.P99 > none.P99 && !closeTo(ps.P99, basePS.P99) {
				t.Errorf("peerscore p99 %v worse than no scoring's %v, and not close to its baseline %v", ps.P99, none.P99, basePS.P99)
			}
		})
	}
}

// hurtUnscored reports whether the verdict rules find the unscored run
// none hurt against the unscored baseline base, in the network or, in a
// scenario aimed at one node, at the victim.
func hurtUnscored(t *testing.T, base, none *Result) bool {
	t.Helper()
	v := findVerdict(newGrid([]*Result{base, none}).verdicts(SuiteConfig{}), none.Scenario, ArmNone)
	if v == nil || !v.Judged {
		t.Fatalf("%s: no verdict on the unscored arm", none.Scenario)
	}
	if vic := none.Victim; vic != nil {
		t.Logf("%s/none at the victim: delivery %.4f, p99 %v, max %v", none.Scenario, vic.Delivery, vic.P99, vic.Max)
	}
	return v.Hurt
}
