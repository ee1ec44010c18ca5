package replay

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/peerscore/peerscore"
)

// Main is cmd/scorereplay: it parses args, replays the trace and writes
// the report. It returns the process's exit status: 0, 1 when the replay
// failed, 2 for bad flags.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scorereplay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		trace   = fs.String("trace", "", "pubsub trace file (JSON or protobuf, gzip'd or not) or recording directory")
		params  = fs.String("params", "", "score parameters and thresholds, as the README's \"Parameters as JSON\"")
		compare = fs.String("compare", "", "a second parameter file to replay beside -params")
		out     = fs.String("out", "scorereplay-report", "directory for report.md, results.json and the plots")
		spec    = fs.Bool("spec-p3", false, "score P3 as the specification reads it (peerscore.WithSpecP3)")
		every   = fs.Duration("snapshot-every", DefaultSnapshotEvery, "how often, in trace time, the scores are sampled")
		quiet   = fs.Bool("quiet", false, "no progress")
		beat    = fs.Duration("heartbeat", 0, "the router's HeartbeatInterval (Ethereum: 700ms); default: the recording's timings if it has them, else pubsub's 1s")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: scorereplay -trace FILE|DIR -params FILE.json [-compare OTHER.json] [-out DIR]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *trace == "" || *params == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "scorereplay: -trace and -params are required")
		return 2
	}
	var names []string
	var cfgs []Config
	for _, path := range []string{*params, *compare} {
		if path == "" {
			continue
		}
		c, err := loadConfig(path)
		if err != nil {
			fmt.Fprintln(stderr, "scorereplay:", err)
			return 2
		}
		c.SpecP3, c.SnapshotEvery = *spec, *every
		if *beat != 0 {
			if *beat < 0 {
				fmt.Fprintln(stderr, "scorereplay: -heartbeat must be positive")
				return 2
			}
			c.GossipSub = pubsub.DefaultGossipSubParams()
			c.GossipSub.HeartbeatInterval = *beat
		}
		names, cfgs = append(names, filepath.Base(path)), append(cfgs, c)
	}
	src, err := Open(*trace)
	if err != nil {
		fmt.Fprintln(stderr, "scorereplay:", err)
		return 1
	}
	defer src.Close()
	var progress func(int64, time.Time)
	if !*quiet {
		progress = newProgress(stderr, src, time.Now())
	}
	run, err := Replay(src, *trace, names, cfgs, progress)
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "scorereplay:", err)
		return 1
	}
	if err := run.Write(*out); err != nil {
		fmt.Fprintln(stderr, "scorereplay:", err)
		return 1
	}
	summarise(stdout, run)
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(*out, "report.md"))
	return 0
}

// loadConfig reads a parameter document.
func loadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var doc peerscore.ParamsDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Params == nil {
		return Config{}, fmt.Errorf("%s: no \"params\"", path)
	}
	return Config{Params: doc.Params, Thresholds: doc.Thresholds}, nil
}

// newProgress shows how far the replay has got: the share of the input
// read when the source can say (a bar), else the events and the trace's
// time reached.
func newProgress(w io.Writer, src Source, start time.Time) func(int64, time.Time) {
	type sized interface{ Progress() (done, total int64) }
	return func(events int64, at time.Time) {
		rate := float64(events) / max(time.Since(start).Seconds(), 1e-3)
		if s, ok := src.(sized); ok {
			if done, total := s.Progress(); total > 0 {
				const width = 30
				full := int(float64(width) * float64(done) / float64(total))
				fmt.Fprintf(w, "\r[%-30s] %3.0f%%  %d events, %.0f/s, trace time %s", repeat('#', min(full, width)), 100*float64(done)/float64(total),
					events, rate, at.UTC().Format(time.DateTime))
				return
			}
		}
		fmt.Fprintf(w, "\r%d events, %.0f/s, trace time %s", events, rate, at.UTC().Format(time.DateTime))
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

// summarise is the console's summary: per parameter set, the peers below
// each level.
func summarise(w io.Writer, run *Run) {
	info := run.Outcomes[0].Info
	fmt.Fprintf(w, "%s: %d events over %v\n", info.Format, info.Events, info.Span.Round(time.Second))
	for i, o := range run.Outcomes {
		fmt.Fprintf(w, "%s:", run.Params[i])
		for _, lv := range o.Levels {
			n := 0
			for _, p := range o.Peers {
				if crossedAt(&p, lv.Name) != nil {
					n++
				}
			}
			fmt.Fprintf(w, "  below %s %d", lv.Name, n)
		}
		fmt.Fprintf(w, " (of %d peers)\n", len(o.Peers))
		if c := o.Check; c != nil {
			fmt.Fprintf(w, "  against the recorded live scores: %d of %d differ\n", c.Differ, c.Scores)
		}
	}
	if len(run.Outcomes) == 2 {
		fmt.Fprintf(w, "disagreements: %d\n", len(run.Disagreements))
	}
}
