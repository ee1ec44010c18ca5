package attacklab

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeRun is a run's figures as the verdict rules read them.
type fakeRun struct {
	delivery   float64
	p99        time.Duration
	over3s     float64
	zero       int     // most honest links below zero at once, of 100
	gossip     int     // honest links ever below the gossip threshold
	peak, end  float64 // attackers' share of mesh places
	seed       uint64
	sybilsZero int     // attackers below zero, of 10
	victim     *Victim // in the scenarios aimed at one node
}

func scenarioNamed(t *testing.T, name string) Scenario {
	t.Helper()
	scs, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return scs[0]
}

func (f fakeRun) result(t *testing.T, scenario string, arm Arm) *Result {
	sc := scenarioNamed(t, scenario)
	r := &Result{Scenario: scenario, Arm: arm, Seed: f.seed, Plan: Plan{Scenario: sc, Warmup: 30 * time.Second, Run: 3 * time.Minute},
		Delivery: f.delivery, P99: f.p99, Over3s: f.over3s, Victim: f.victim}
	if arm.scores() {
		lv := levels(HardeningScoring(30*time.Second, 0, 1).Thresholds)
		r.Levels = lv
		r.HonestBelow = []HonestBelow{
			{Level: lv[0], MostAtOnce: f.zero, LinksSeen: 100, Links: f.zero, First: -1},
			{Level: lv[1], Links: f.gossip, LinksSeen: 100, First: -1},
			{Level: lv[2], LinksSeen: 100, First: -1},
			{Level: lv[3], LinksSeen: 100, First: -1},
		}
		if sc.Attacked() {
			r.Crossings = []Crossing{{Level: lv[0], Of: 10, Crossed: f.sybilsZero}}
		}
	}
	if sc.Attacked() {
		r.Eviction = &Eviction{At: time.Minute, Peak: f.peak, End: f.end, Out: -1}
	}
	return r
}

// TestVerdictRules checks each rule of verdict.go on runs made up to break
// it, and that a rule is judged on the medians over seeds.
func TestVerdictRules(t *testing.T) {
	ms := time.Millisecond
	good := fakeRun{delivery: 1, p99: 100 * ms}
	base := func() []*Result {
		var out []*Result
		for _, arm := range Arms {
			out = append(out, good.result(t, baselineName, arm))
		}
		return out
	}
	tests := []struct {
		name   string
		runs   []fakeRun // of the peerscore arm in eclipse-network, one per seed
		native []fakeRun // of the native arm there, if any
		holds  bool
		reason string // in the reasons when it does not hold
	}{
		{"all well", []fakeRun{good}, nil, true, ""},
		{"delivery below 99%", []fakeRun{{delivery: 0.985, p99: 100 * ms}}, nil, false, "below 99%"},
		{"delivery half a point under the baseline", []fakeRun{{delivery: 0.993, p99: 100 * ms}}, nil, false, "against the baseline's 100.00%"},
		{"p99 doubled and up 100 ms", []fakeRun{{delivery: 1, p99: 250 * ms}}, nil, false, "p99 250 ms against the baseline's 100 ms"},
		{"p99 doubled but up less than 100 ms", []fakeRun{{delivery: 1, p99: 199 * ms}}, nil, true, ""},
		{"after the 3 s deadline", []fakeRun{{delivery: 1, p99: 100 * ms, over3s: 0.02}}, nil, false, "after the 3 s deadline"},
		{"honest links below gossip", []fakeRun{{delivery: 1, p99: 100 * ms, gossip: 1}}, nil, false, "below the gossip threshold"},
		{"6% honest links below zero", []fakeRun{{delivery: 1, p99: 100 * ms, zero: 6}}, nil, false, "below zero at once"},
		{"5% honest links below zero", []fakeRun{{delivery: 1, p99: 100 * ms, zero: 5}}, nil, true, ""},
		{"silent attackers kept their places", []fakeRun{{delivery: 1, p99: 100 * ms, peak: 0.4, end: 0.3}}, nil, false, "kept 30%"},
		{"silent attackers halved", []fakeRun{{delivery: 1, p99: 100 * ms, peak: 0.4, end: 0.2}}, nil, true, ""},
		{"median of three seeds holds, one fails", []fakeRun{good, {delivery: 1, p99: 900 * ms, seed: 1}, {delivery: 1, p99: 110 * ms, seed: 2}}, nil, true, ""},
		{"median of three seeds fails", []fakeRun{good, {delivery: 1, p99: 900 * ms, seed: 1}, {delivery: 1, p99: 800 * ms, seed: 2}}, nil, false, "p99 800 ms"},
		{"worse than native over five seeds", seeds(fakeRun{delivery: 1, p99: 190 * ms}, 5), seeds(fakeRun{delivery: 1, p99: 100 * ms}, 5), false, "Mann-Whitney"},
		{"native with one seed: a note, not a failure", []fakeRun{{delivery: 1, p99: 190 * ms}}, []fakeRun{{delivery: 1, p99: 10 * ms}}, true, ""},
		{"below native's delivery", []fakeRun{{delivery: 0.995, p99: 100 * ms}}, []fakeRun{{delivery: 1, p99: 100 * ms}}, false, "below native's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := base()
			for i, f := range tt.runs {
				f.seed = uint64(i)
				runs = append(runs, f.result(t, "eclipse-network", ArmPeerscore))
			}
			for i, f := range tt.native {
				f.seed = uint64(i)
				runs = append(runs, f.result(t, "eclipse-network", ArmNative))
			}
			v := findVerdict(newGrid(runs).verdicts(SuiteConfig{}), "eclipse-network", ArmPeerscore)
			if v == nil || !v.Judged {
				t.Fatalf("no judged verdict: %+v", v)
			}
			if v.Holds != tt.holds {
				t.Fatalf("holds %v, want %v: %q", v.Holds, tt.holds, v.Reasons)
			}
			if !tt.holds && !strings.Contains(strings.Join(v.Reasons, "; "), tt.reason) {
				t.Errorf("reasons %q lack %q", v.Reasons, tt.reason)
			}
			if !tt.holds && len(v.Advice) == 0 {
				t.Errorf("a failed verdict without advice: %q", v.Reasons)
			}
		})
	}
}

// TestVerdictJudgesTheVictim: in a scenario aimed at one node, an attack
// that hurts that node alone leaves the network's figures as they were;
// the rules then read the victim's. At full scale the single-target
// eclipse left the unscored network's p99 at 147 ms (baseline 145) and
// the victim's at 1,143 ms.
func TestVerdictJudgesTheVictim(t *testing.T) {
	ms := time.Millisecond
	good := fakeRun{delivery: 1, p99: 100 * ms}
	tests := []struct {
		name     string
		scenario string
		victim   Victim
		reason   string // empty: the scoring arm holds and the unscored arm is not hurt
		advice   string // in the scoring arm's advice
	}{
		{"victim as the network", "eclipse-single", Victim{Delivery: 1, P99: 110 * ms}, "", ""},
		{"victim slow", "eclipse-single", Victim{Delivery: 1, P99: 1143 * ms}, "at the victim, p99 1143 ms against the baseline's 100 ms", "MeshMessageDeliveries"},
		{"victim slow by less than one hop", "eclipse-single", Victim{Delivery: 1, P99: 190 * ms}, "", ""},
		{"victim missing messages", "eclipse-single", Victim{Delivery: 0.98, P99: 100 * ms}, "at the victim, delivery 98.00%", "MeshMessageDeliveries"},
		{"censored messages slow", "censor-single", Victim{Delivery: 1, P99: 625 * ms}, "at the victim, p99 625 ms", "not per origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs []*Result
			for _, arm := range []Arm{ArmPeerscore, ArmNone} {
				runs = append(runs, good.result(t, baselineName, arm))
				attacked := good
				attacked.victim = &tt.victim
				runs = append(runs, attacked.result(t, tt.scenario, arm))
			}
			verdicts := newGrid(runs).verdicts(SuiteConfig{})
			ps := findVerdict(verdicts, tt.scenario, ArmPeerscore)
			none := findVerdict(verdicts, tt.scenario, ArmNone)
			if ps == nil || none == nil || !ps.Judged || !none.Judged {
				t.Fatalf("no judged verdicts: %+v, %+v", ps, none)
			}
			if want := tt.reason == ""; ps.Holds != want || none.Hurt == want {
				t.Fatalf("peerscore holds %v (reasons %q), none hurt %v (reasons %q); want holds %v", ps.Holds, ps.Reasons, none.Hurt, none.Reasons, want)
			}
			if tt.reason == "" {
				return
			}
			for _, v := range []*Verdict{ps, none} {
				if !strings.Contains(strings.Join(v.Reasons, "; "), tt.reason) {
					t.Errorf("%s: reasons %q lack %q", v.Arm, v.Reasons, tt.reason)
				}
			}
			if !strings.Contains(strings.Join(ps.Advice, "; "), tt.advice) {
				t.Errorf("advice %q lacks %q", ps.Advice, tt.advice)
			}
		})
	}
}

func seeds(f fakeRun, n int) []fakeRun {
	out := make([]fakeRun, n)
	for i := range out {
		out[i] = f
		out[i].p99 += time.Duration(i) * time.Millisecond
	}
	return out
}

// TestDoNothingScorerFails: a scorer that changes nothing scores like the
// unscored arm, and its verdict must fail wherever the unscored arm is
// hurt.
func TestDoNothingScorerFails(t *testing.T) {
	ms := time.Millisecond
	good := fakeRun{delivery: 1, p99: 100 * ms}
	var runs []*Result
	for _, arm := range []Arm{ArmPeerscore, ArmNone} {
		runs = append(runs, good.result(t, baselineName, arm))
	}
	hurt := map[string]fakeRun{
		"eclipse-network": {delivery: 0.999, p99: 2900 * ms, over3s: 0.005, peak: 0.6, end: 0.6},
		"cold-boot":       {delivery: 1, p99: 1700 * ms, peak: 0.9, end: 0.2},
		"degradation":     {delivery: 0.98, p99: 150 * ms, peak: 0.5, end: 0.5},
	}
	for sc, f := range hurt {
		for _, arm := range []Arm{ArmPeerscore, ArmNone} {
			runs = append(runs, f.result(t, sc, arm))
		}
	}
	vs := newGrid(runs).verdicts(SuiteConfig{})
	for sc := range hurt {
		none, ps := findVerdict(vs, sc, ArmNone), findVerdict(vs, sc, ArmPeerscore)
		if !none.Hurt {
			t.Fatalf("%s: unscored not hurt: %+v", sc, none)
		}
		if ps.Holds {
			t.Errorf("%s: a do-nothing scorer holds where the unscored arm is hurt", sc)
		}
	}
	s := NewSuite(SuiteConfig{}, runs)
	if !s.Failed() {
		t.Error("Suite.Failed is false with failing peerscore verdicts")
	}
}

// TestMannWhitney checks the test against values computed by hand and its
// behaviour on equal samples.
func TestMannWhitney(t *testing.T) {
	a, b := []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}
	p, larger := mannWhitney(b, a)
	// U = 25 of 25: z = (25-12.5)/sqrt(25*11/12) = 2.611, p = 0.009.
	if p < 0.008 || p > 0.01 || !larger {
		t.Errorf("separated samples: p %v, larger %v; want about 0.009, true", p, larger)
	}
	if p, _ := mannWhitney(a, a); p < 0.99 {
		t.Errorf("equal samples: p %v, want 1", p)
	}
}

// TestReportAgreesWithItsTables writes a report from made-up runs and
// checks that what its sentences say matches the tables: the count of
// attackers below zero, the verdicts, and the blame's sample sizes.
func TestReportAgreesWithItsTables(t *testing.T) {
	ms := time.Millisecond
	var runs []*Result
	for _, arm := range []Arm{ArmPeerscore, ArmNone} {
		runs = append(runs, fakeRun{delivery: 1, p99: 100 * ms}.result(t, baselineName, arm))
	}
	for seed := range uint64(3) {
		ps := fakeRun{delivery: 1, p99: 120 * ms, sybilsZero: 7, peak: 0.5, end: 0.1, seed: seed}.result(t, "attack-at-dawn", ArmPeerscore)
		ps.Breakdowns = true
		ps.Blame = []Blame{{Component: "P3 mesh deliveries", Links: 4, Share: 1, Mean: -6}} // 12 in all: too few to name
		runs = append(runs, ps)
		runs = append(runs, fakeRun{delivery: 1, p99: 1900 * ms, seed: seed}.result(t, "attack-at-dawn", ArmNone))
	}
	dir := t.TempDir()
	s := NewSuite(SuiteConfig{Honest: 10, Publishers: 10}, runs)
	if err := WriteReport(dir, s); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	// The summary table and the attackers' table say 7 of 10 below zero.
	if !strings.Contains(report, "| attack-at-dawn | peerscore |") || !strings.Contains(report, "| 7 of 10 |") {
		t.Errorf("summary lacks the attackers below zero:\n%s", report)
	}
	if !regexp.MustCompile(`\| zero \(0\) \| 7 of 10 \|`).MatchString(report) {
		t.Errorf("attackers' table lacks 7 of 10 below zero")
	}
	// With 12 negative scores taken apart, the report must not name a
	// component, nor claim that no attacker score was negative.
	if strings.Contains(report, "caught no negative attacker score") {
		t.Error("claims no negative attacker score while 7 of 10 were below zero")
	}
	if !strings.Contains(report, "caught 12 negative attacker scores over all seeds, too few") {
		t.Errorf("does not say the blame rests on too few samples:\n%s", report)
	}
	// Every verdict in the table is the verdict in the scenario's text.
	for _, v := range s.Verdicts {
		if v.Arm == ArmPeerscore && v.Scenario == "attack-at-dawn" {
			word := map[bool]string{true: "**hold**", false: "**do not hold**"}[v.Holds]
			if !strings.Contains(report, "Verdict, peerscore: the parameters "+word) {
				t.Errorf("the text's verdict is not the table's (%s)", word)
			}
		}
	}
	// The seeds line names the seeds that ran.
	if !strings.Contains(report, "Seeds: 3 (0 to 2)") {
		t.Errorf("seeds line wrong:\n%s", report[:min(len(report), 1200)])
	}
	// The attackers' share fell from 50% to 10% in every seed, and were
	// never pushed out (to a tenth of the peak, 5%).
	if !strings.Contains(report, "fell from 50% to 10% but they were not pushed out") {
		t.Errorf("the eviction sentence does not say what the runs did")
	}
}
