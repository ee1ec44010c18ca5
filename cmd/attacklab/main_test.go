package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/attacklab"
)

// TestMain lets TestCommand run this binary as the command itself: with
// ATTACKLAB_MAIN set, it is main, with the test binary's arguments as the
// command's flags.
func TestMain(m *testing.M) {
	if os.Getenv("ATTACKLAB_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// runCommand runs the command with args and returns its stdout and exit
// status; a failure to run at all fails the test.
func runCommand(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ATTACKLAB_MAIN=1", "GOMAXPROCS=1")
	stdout, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("attacklab %v: %v", args, err)
	}
	return string(stdout), code
}

// readSuite reads the results.json in dir.
func readSuite(t *testing.T, dir string) *attacklab.Suite {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s attacklab.Suite
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestCommand runs the command end to end on a tiny network (the
// baseline and one attack, two arms, two seeds) and checks its report,
// its results and that its exit status is the verdicts'.
func TestCommand(t *testing.T) {
	out := t.TempDir()
	stdout, code := runCommand(t, "-scenario", "baseline,eclipse-publishers", "-arms", "peerscore,none",
		"-honest", "8", "-duration", "30s", "-seeds", "2", "-quiet", "-out", out)
	for _, want := range []string{"baseline", "eclipse-publishers", "peerscore", "none", "report:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	s := readSuite(t, out)
	if len(s.Runs) != 8 {
		t.Errorf("%d runs in results.json, want 2 scenarios × 2 seeds × 2 arms", len(s.Runs))
	}
	if want := map[bool]int{true: attacklab.ExitDoesNotHold, false: 0}[s.Failed()]; code != want {
		t.Errorf("exit status %d, want %d (the verdicts' failed: %v)", code, want, s.Failed())
	}
	for _, v := range s.Verdicts {
		if v.Arm == attacklab.ArmPeerscore && v.Scenario == "eclipse-publishers" && (!v.Judged || v.Seeds != 2) {
			t.Errorf("peerscore's verdict not judged over 2 seeds: %+v", v)
		}
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Verdicts", "## Summary", "| eclipse-publishers | peerscore |", "Verdict, peerscore:", "Seeds: 2 (1, 2)",
		"False positives", "eclipse-publishers-latency-cdf.svg"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, name := range []string{"baseline-latency-cdf.svg", "eclipse-publishers-delivery.svg", "eclipse-publishers-p99.svg",
		"eclipse-publishers-mesh.svg", "eclipse-publishers-scores.svg"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), "<polyline") {
			t.Errorf("%s is not a plot with a line", name)
		}
	}
}

// TestCommandShardsAndMerges runs a sweep in two shards and merges them:
// every job runs in exactly one shard, and the merge holds them all.
func TestCommandShardsAndMerges(t *testing.T) {
	args := []string{"-scenario", "baseline,eclipse-single", "-arms", "peerscore,none", "-honest", "6", "-duration", "20s", "-seeds", "2", "-quiet"}
	var files []string
	seen := map[string]bool{}
	for i := range 2 {
		dir := t.TempDir()
		runCommand(t, append(args, "-shard", fmt.Sprintf("%d/2", i), "-out", dir)...)
		s := readSuite(t, dir)
		if len(s.Runs) != 4 {
			t.Errorf("shard %d/2 ran %d jobs, want 4 of 8", i, len(s.Runs))
		}
		for _, r := range s.Runs {
			key := fmt.Sprintf("%s/%s/%d", r.Scenario, r.Arm, r.Seed)
			if seen[key] {
				t.Errorf("%s ran in both shards", key)
			}
			seen[key] = true
		}
		files = append(files, filepath.Join(dir, "results.json"))
	}
	merged := t.TempDir()
	runCommand(t, append([]string{"-merge", "-quiet", "-out", merged}, files...)...)
	s := readSuite(t, merged)
	if len(s.Runs) != 8 || len(s.Config.Shards) != 2 {
		t.Fatalf("merged %d runs from %v, want 8 from 2 shards", len(s.Runs), s.Config.Shards)
	}
	if len(s.Verdicts) != 4 {
		t.Errorf("%d verdicts after the merge, want 4 (2 scenarios × 2 arms)", len(s.Verdicts))
	}
	if _, err := os.Stat(filepath.Join(merged, "report.md")); err != nil {
		t.Error(err)
	}
	// Merging a shard twice is refused.
	if _, code := runCommand(t, "-merge", "-quiet", "-out", t.TempDir(), files[0], files[0]); code != 1 {
		t.Errorf("merging one shard twice: exit %d, want 1", code)
	}
}

// TestCommandRejectsBadFlags checks that bad flags give a clear error and
// exit code 2, before anything runs.
func TestCommandRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-scenario", "nope"}, `unknown scenario "nope"`},
		{[]string{"-arms", "peerscore,bogus"}, `unknown arm "bogus"`},
		{[]string{"-honest", "1"}, "Honest 1"},
		{[]string{"-preset", "filecoin"}, `-preset "filecoin"`},
		{[]string{"-params", "x.json", "-preset", "ethereum"}, "choose one"},
		{[]string{"-params", "/nonexistent.json"}, "nonexistent.json"},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "ATTACKLAB_MAIN=1")
		b, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), c.want) {
			t.Errorf("%v: exit %v, output %q; want exit 2 and %q", c.args, err, b, c.want)
		}
	}
}

// TestCommandZeroWeightsFail scores with every weight zero, which is no
// scoring at all: the command must say the parameters do not hold (exit
// status 3) wherever the attack hurts the unscored arm.
func TestCommandZeroWeightsFail(t *testing.T) {
	scoring := attacklab.HardeningScoring(30*time.Second, 0, 0.5)
	p := *scoring.Params
	p.AppSpecificWeight, p.IPColocationFactorWeight, p.BehaviourPenaltyWeight = 0, 0, 0
	p.Topics = map[string]*peerscore.TopicParams{}
	for name, tp := range scoring.Params.Topics {
		z := *tp
		z.TopicWeight, z.TimeInMeshWeight, z.FirstMessageDeliveriesWeight = 0, 0, 0
		z.MeshMessageDeliveriesWeight, z.MeshFailurePenaltyWeight, z.InvalidMessageDeliveriesWeight = 0, 0, 0
		p.Topics[name] = &z
	}
	doc, err := json.Marshal(peerscore.ParamsDocument{Params: &p, Thresholds: scoring.Thresholds})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "zero.json")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, code := runCommand(t, "-params", file, "-scenario", "baseline,eclipse-network,censor-single", "-arms", "peerscore,none",
		"-honest", "10", "-rate", "0.5", "-quiet", "-out", out)
	s := readSuite(t, out)
	hurt := 0
	for _, v := range s.Verdicts {
		if v.Arm != attacklab.ArmNone || !v.Hurt {
			continue
		}
		hurt++
		for _, w := range s.Verdicts {
			if w.Scenario == v.Scenario && w.Arm == attacklab.ArmPeerscore && w.Holds {
				t.Errorf("%s: zero weights hold where the unscored arm is hurt (%q)", v.Scenario, v.Reasons)
			}
		}
	}
	if hurt == 0 {
		t.Fatalf("no attack hurt the unscored arm: the test shows nothing (%+v)", s.Verdicts)
	}
	if code != attacklab.ExitDoesNotHold {
		t.Errorf("exit status %d, want %d", code, attacklab.ExitDoesNotHold)
	}
}
