package lab

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Main is cmd/attacklab: it parses args, runs the suite in simulated time
// and writes the report. It returns the process's exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 2
	}
	var results [][]*Result
	var runErr error
	start := time.Now()
	var bar *Bar
	if !opts.quiet {
		bar = NewBar(stderr)
	}
	err = InBubbles(func(t *testing.T) {
		results, runErr = RunSuite(t, opts.cfg, opts.scenarios, opts.arms, bar)
	})
	if runErr != nil {
		err = runErr
	}
	if err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	wall := time.Since(start)
	if err := WriteReport(opts.out, opts.cfg, results, wall); err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	if err := writeJSON(filepath.Join(opts.out, "results.json"), results); err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	var base []*Result
	for _, row := range results {
		if len(row) > 0 && row[0].Scenario == "baseline" {
			base = row
		}
	}
	fmt.Fprintf(stdout, "%-20s %-10s %9s %9s %9s %9s %8s  %s\n", "scenario", "arm", "delivery", "p50", "p99", "max", "dups", "verdict")
	for _, row := range results {
		v := Judge(row, base)
		for i, r := range row {
			verdict := ""
			if i == 0 && r.Plan.Scenario.Attacked() {
				verdict = v.holdsText() + "; " + v.hurtText()
			}
			fmt.Fprintf(stdout, "%-20s %-10s %8.2f%% %9s %9s %9s %8.2f  %s\n", r.Scenario, r.Arm, 100*r.Delivery, ms(r.P50), ms(r.P99), ms(r.Max), r.Duplicates, verdict)
		}
	}
	fmt.Fprintf(stdout, "report: %s (wall %v)\n", filepath.Join(opts.out, "report.md"), wall.Round(time.Second))
	if p := ParityTotal(results); p != nil {
		fmt.Fprintf(stdout, "live parity (native arm): %d peer scores compared with peerscore's, %d differ, %d unexplained\n",
			p.Peers, p.Components[partScore].Diverged, p.Unexplained)
		if p.Unexplained > 0 {
			fmt.Fprintf(stderr, "attacklab: peerscore diverged from pubsub's scorer where no documented difference explains it (%s): a bug, please report it\n", p.Example)
			return ExitDiverged
		}
	}
	return 0
}

// ExitDiverged is the command's exit status when the live parity found a
// divergence that no documented difference explains.
const ExitDiverged = 4

type cliOptions struct {
	cfg       Config
	scenarios []Scenario
	arms      []Arm
	out       string
	quiet     bool
}

func parseFlags(args []string, stderr io.Writer) (*cliOptions, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("attacklab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: attacklab [flags]\n\nRuns the gossipsub v1.1 evaluation's attacks against score parameters, in three arms (peerscore, native, none), in simulated time.\nScenarios: all, %s\n\n", strings.Join(ScenarioNames(), ", "))
		fs.PrintDefaults()
	}
	var (
		scenarios  = fs.String("scenario", "all", "scenarios to run: all, or names separated by commas")
		arms       = fs.String("arms", "peerscore,native,none,vanilla", "arms to run, separated by commas")
		paramsFile = fs.String("params", "", "score Params and Thresholds from this JSON file, in the format `go run ./examples/params -format json` prints")
		topic      = fs.String("topic", "", "with -params: the topic whose parameters score the lab's traffic (default: the file's only topic, or its beacon_block topic)")
		preset     = fs.String("preset", "", "score with a preset instead: ethereum (preset/ethereum, beacon_block topic)")
		validators = fs.Int("validators", 1_000_000, "with -preset ethereum: active validators")
		p3Window   = fs.Duration("p3-window", 0, "with the hardening parameters: the P3 mesh-delivery window (the runs had 0; 5ms was meant)")
		out        = fs.String("out", "attacklab-report", "directory for report.md, the SVG plots and results.json")
		duration   = fs.Duration("duration", 0, "publishing time t_run (default: the scenario's, 3m or 5m for covert flash)")
		transport  = fs.String("transport", string(cfg.Transport), "simulated network: mocknet (faster) or simnet (QUIC, per-packet model)")
	)
	fs.IntVar(&cfg.Honest, "honest", cfg.Honest, "honest nodes (the evaluation: 1000)")
	fs.IntVar(&cfg.Publishers, "publishers", 0, "publishers among them (default a tenth, at least 20; the evaluation: 100)")
	fs.IntVar(&cfg.Sybils, "sybils", 0, "Sybils, overriding the scaled count (the evaluation: 1000-4000 by scenario)")
	fs.Float64Var(&cfg.SybilScale, "sybil-scale", cfg.SybilScale, "Sybil links per attacked node, as a fraction of the evaluation's (1 = the evaluation's 80-1000)")
	fs.IntVar(&cfg.MaxSybilLinks, "max-sybil-links", cfg.MaxSybilLinks, "cap on the scaled Sybils' dials in all; 0 for none (the evaluation's counts need 0 with -sybil-scale 1)")
	fs.IntVar(&cfg.Degree, "degree", 0, "honest peers each honest node dials (default: 20 from 160 nodes, an eighth of the network below)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "messages per second, network-wide (the evaluation: 120)")
	fs.IntVar(&cfg.MsgSize, "msgsize", cfg.MsgSize, "payload bytes, at least 16 (the evaluation: 2048 nominal, 2 in fact)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up before publishing (the evaluation: 30s)")
	fs.DurationVar(&cfg.Cooldown, "cooldown", cfg.Cooldown, "cool-down after publishing (the evaluation: 30s)")
	fs.IntVar(&cfg.GossipSub.Dout, "dout", cfg.GossipSub.Dout, "GossipSub Dout (0 mimics the April 2020 router; pubsub's default is 2)")
	fs.Uint64Var(&cfg.GossipSub.OpportunisticGraftTicks, "oppgraft-ticks", cfg.GossipSub.OpportunisticGraftTicks, "heartbeats between opportunistic grafts (the -oppgraft variants: 10)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the run's randomness")
	fs.BoolVar(&cfg.SkipSnapshots, "no-snapshots", false, "skip the peerscore arm's score breakdowns (saves time at full scale)")
	fs.DurationVar(&cfg.ParityEvery, "parity-every", cfg.ParityEvery, "in the native arm, compare each node's scores with a passive peerscore Scorer at most this often; 0: off")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Duration = *duration
	cfg.Transport = Transport(*transport)
	cfg.Params = HardeningScoring(cfg.Warmup, *p3Window, cfg.Rate)
	switch {
	case *paramsFile != "" && *preset != "":
		return nil, errors.New("-params and -preset: choose one")
	case *paramsFile != "":
		s, err := LoadScoring(*paramsFile, *topic)
		if err != nil {
			return nil, err
		}
		cfg.Params = s
	case *preset == "ethereum":
		s, err := EthereumScoring(*validators)
		if err != nil {
			return nil, err
		}
		cfg.Params = s
	case *preset != "":
		return nil, fmt.Errorf("-preset %q: the lab knows ethereum", *preset)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	scs, err := Lookup(*scenarios)
	if err != nil {
		return nil, err
	}
	var armList []Arm
	for a := range strings.SplitSeq(*arms, ",") {
		arm := Arm(strings.TrimSpace(a))
		if !slices.Contains(Arms, arm) {
			return nil, fmt.Errorf("-arms: unknown arm %q (peerscore, native, none, vanilla)", a)
		}
		armList = append(armList, arm)
	}
	return &cliOptions{cfg: cfg, scenarios: scs, arms: armList, out: *out, quiet: *quiet}, nil
}

func writeJSON(path string, results [][]*Result) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
