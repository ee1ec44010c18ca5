package attacklab

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/peerscore/peerscore/replay"
)

// TestReplayOfLabRecordings is the replay's exactness on real routers:
// lab runs record every honest node, and each node's recording, replayed
// under the run's parameters, must give the scores the node computed live
// at every inspection, to 1e-9.
//
//   - peerscore arm: the node's replay.Recorder (trace events, addresses,
//     the Scorer's inspections), all of P1 to P7;
//   - native arm: pubsub's own NewPBTracer, against pubsub's own scorer's
//     inspections, with P5 and P6 off (the trace has neither the
//     application's scores nor addresses).
func TestReplayOfLabRecordings(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	cases := []struct {
		scenario string
		arm      Arm
	}{
		{"covert-flash", ArmPeerscore},
		{"ip-colocation", ArmPeerscore},
		{"covert-flash", ArmNative},
		{"eclipse-single", ArmNative},
	}
	for _, c := range cases {
		t.Run(c.scenario+"/"+string(c.arm), func(t *testing.T) {
			cfg := smallConfig()
			cfg.Record = t.TempDir()
			if c.arm == ArmNative {
				withoutP5P6(&cfg)
			}
			scs, err := Lookup(c.scenario)
			if err != nil {
				t.Fatal(err)
			}
			sc := scs[0]
			res := runArm(t, cfg, sc, c.arm)
			dir := RecordingDir(cfg.Record, sc, c.arm, cfg.Seed)
			var checked, nonzero int64
			if _, err := os.Stat(filepath.Join(dir, ParamsFile)); err != nil {
				t.Errorf("no parameters beside the recording: %v", err)
			}
			for i := range res.Plan.Honest {
				out := replayNode(t, cfg, sc, c.arm, NodeDir(dir, i))
				chk := out.Check
				if chk == nil || chk.Scores == 0 {
					t.Fatalf("node %d: no live score to check against", i)
				}
				if chk.Differ > 0 {
					t.Errorf("node %d: %d of %d scores differ, at most by %v; first %s", i, chk.Differ, chk.Scores, chk.MaxDiff, chk.Example)
				}
				checked, nonzero = checked+chk.Scores, nonzero+chk.NonZero
			}
			t.Logf("%d scores checked at %d nodes, %d of them not 0", checked, res.Plan.Honest, nonzero)
			if nonzero < checked/10 {
				t.Errorf("only %d of %d live scores were not 0: the run tested little", nonzero, checked)
			}
		})
	}
}

// withoutP5P6 turns off what pubsub's trace cannot replay.
func withoutP5P6(cfg *Config) {
	p := *cfg.Params.Params
	p.AppSpecificWeight, p.IPColocationFactorWeight = 0, 0
	cfg.Params.Params = &p
}

// replayNode replays one node's recording under the run's parameters.
func replayNode(t *testing.T, cfg Config, sc Scenario, arm Arm, dir string) *replay.Outcome {
	t.Helper()
	params, thr := cfg.scoringFor(sc)
	// The router's timings come from the recording (its start extra).
	rcfg := replay.Config{Params: params, Thresholds: thr}
	var src replay.Source
	var err error
	if arm == ArmNative {
		src, err = openNative(dir)
	} else {
		src, err = replay.Open(dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rp, err := replay.NewReplayer(rcfg, src.Format())
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := rp.Feed(ev); err != nil {
			t.Fatal(err)
		}
	}
	return rp.Finish()
}

// openNative merges a native node's pubsub trace with its router's score
// inspections, in time order.
func openNative(dir string) (replay.Source, error) {
	tr, err := replay.Open(filepath.Join(dir, NativeTraceFile))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, NativeScoresDir)); err != nil {
		tr.Close()
		return nil, err
	}
	sc, err := replay.Open(filepath.Join(dir, NativeScoresDir))
	if err != nil {
		tr.Close()
		return nil, err
	}
	return replay.Merge(sc, tr), nil // the start extra first
}
