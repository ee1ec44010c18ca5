package attacklab

import (
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

// Exit statuses of the command besides 0 (everything ran and held), 1
// (the runs failed) and 2 (bad flags).
const (
	// ExitDoesNotHold: some peerscore verdict is that the parameters do
	// not hold, so that a team can gate a parameter change in CI.
	ExitDoesNotHold = 3
	// ExitDiverged: the live parity found a divergence from pubsub's
	// scorer that no documented difference explains (a bug).
	ExitDiverged = 4
)

// Main is cmd/attacklab: it parses args, runs the sweep (or merges
// results.json files) and writes the report. It returns the process's exit
// status.
func Main(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 2
	}
	suite, err := opts.suite(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	if err := os.MkdirAll(opts.out, 0o755); err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	if err := suite.WriteJSON(filepath.Join(opts.out, "results.json")); err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	if err := WriteReport(opts.out, suite); err != nil {
		fmt.Fprintln(stderr, "attacklab:", err)
		return 1
	}
	printVerdicts(stdout, suite)
	fmt.Fprintf(stdout, "report: %s (wall %v)\n", filepath.Join(opts.out, "report.md"), suite.Config.Wall.Round(time.Second))
	if p := suite.Parity; p != nil {
		fmt.Fprintf(stdout, "live parity (native arm): %d peer scores compared with peerscore's, %d differ, %d unexplained\n",
			p.Peers, p.Components[partScore].Diverged, p.Unexplained)
		if p.Unexplained > 0 {
			fmt.Fprintf(stderr, "attacklab: peerscore diverged from pubsub's scorer where no documented difference explains it (%s): a bug, please report it\n", p.Example)
			return ExitDiverged
		}
	}
	if suite.Failed() {
		fmt.Fprintln(stderr, "attacklab: the parameters do not hold under some attack (see the report's verdicts)")
		return ExitDoesNotHold
	}
	return 0
}

// suite runs the sweep, or merges the results files given with -merge.
func (o *cliOptions) suite(stderr io.Writer) (*Suite, error) {
	if len(o.merge) > 0 {
		return Merge(o.merge)
	}
	var bar *Bar
	if !o.quiet {
		bar = NewBar(stderr)
	}
	var runs []*Result
	var runErr error
	start := time.Now()
	err := InBubbles(func(t *testing.T) {
		runs, runErr = RunSuite(t, o.cfg, o.sweep, bar)
	})
	if runErr != nil {
		return nil, runErr
	}
	if err != nil {
		return nil, err
	}
	cfg := summarise(o.cfg)
	cfg.Wall = time.Since(start)
	if o.sweep.Shard.Of > 1 {
		cfg.Shards = []string{o.sweep.Shard.String()}
	}
	return NewSuite(cfg, runs), nil
}

// printVerdicts is the console's summary: one line per scenario and arm.
func printVerdicts(w io.Writer, s *Suite) {
	g := newGrid(s.Runs)
	fmt.Fprintf(w, "%-20s %-10s %5s %10s %10s  %s\n", "scenario", "arm", "seeds", "delivery", "p99", "verdict")
	for _, sc := range g.scenarios {
		for _, a := range g.arms {
			c := g.get(sc, a)
			if c == nil {
				continue
			}
			d := spreadOf(over(c.runs, func(r *Result) float64 { return r.Delivery }))
			p99 := spreadOf(over(c.runs, func(r *Result) float64 { return seconds(r.P99) }))
			fmt.Fprintf(w, "%-20s %-10s %5d %9.2f%% %10s  %s\n", sc, a, len(c.runs), 100*d.Median,
				ms(time.Duration(p99.Median*float64(time.Second))), strings.ReplaceAll(verdictCell(findVerdict(s.Verdicts, sc, a)), "**", ""))
		}
	}
}

type cliOptions struct {
	cfg   Config
	sweep Sweep
	merge []string // results.json files to merge instead of running
	out   string
	quiet bool
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
	oppgraft := fs.Bool("oppgraft", false, "run the suite's -oppgraft variants of cold boot, covert flash and attack at dawn (opportunistic grafting every 10 heartbeats, their thresholds) instead of those three")
	seeds := fs.Int("seeds", 1, "seeds per scenario and arm: -seed and the ones after it; the report gives medians and ranges")
	shard := fs.String("shard", "", "run only part i/n of the sweep (scenarios × seeds × arms), for n machines; merge their results.json with -merge")
	merge := fs.Bool("merge", false, "merge the results.json files given as arguments into one report, instead of running")
	fs.DurationVar(&cfg.ParityEvery, "parity-every", cfg.ParityEvery, "in the native arm, compare each node's scores with a passive peerscore Scorer at most this often; 0: off")
	fs.StringVar(&cfg.Record, "record", "", "record every honest node of the scoring arms in this directory, for cmd/scorereplay: DIR/<scenario>/<arm>/seed-N/node-NN")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *merge {
		if fs.NArg() == 0 {
			return nil, errors.New("-merge: give the results.json files to merge")
		}
		return &cliOptions{merge: fs.Args(), out: *out, quiet: *quiet}, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *seeds < 1 {
		return nil, fmt.Errorf("-seeds %d: must be at least 1", *seeds)
	}
	var sh Shard
	if *shard != "" {
		var err error
		if sh, err = ParseShard(*shard); err != nil {
			return nil, err
		}
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
	if *oppgraft {
		scs = withOppGraft(scs)
	}
	var armList []Arm
	for a := range strings.SplitSeq(*arms, ",") {
		arm := Arm(strings.TrimSpace(a))
		if !slices.Contains(Arms, arm) {
			return nil, fmt.Errorf("-arms: unknown arm %q (peerscore, native, none, vanilla)", a)
		}
		armList = append(armList, arm)
	}
	return &cliOptions{cfg: cfg, sweep: Sweep{Scenarios: scs, Arms: armList, Seeds: *seeds, Shard: sh}, out: *out, quiet: *quiet}, nil
}
