package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// TestCommand runs the command end to end on a tiny network (the
// baseline and one attack, two arms) and checks its report.
func TestCommand(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "-scenario", "baseline,eclipse-publishers", "-arms", "peerscore,none",
		"-honest", "8", "-duration", "30s", "-quiet", "-out", out)
	cmd.Env = append(os.Environ(), "ATTACKLAB_MAIN=1", "GOMAXPROCS=1")
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("attacklab: %v\n%s", err, stdout)
	}
	for _, want := range []string{"baseline", "eclipse-publishers", "peerscore", "none", "report:"} {
		if !strings.Contains(string(stdout), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Summary", "| eclipse-publishers | peerscore |", "Verdict:", "eclipse-publishers-latency-cdf.svg"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, name := range []string{"baseline-latency-cdf.svg", "eclipse-publishers-delivery.svg", "eclipse-publishers-scores.svg", "results.json"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.HasSuffix(name, ".svg") && (!strings.HasPrefix(string(b), "<svg") || !strings.Contains(string(b), "<polyline")) {
			t.Errorf("%s is not a plot with a line", name)
		}
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
