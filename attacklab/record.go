package attacklab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/replay"
)

// Recordings: with Config.Record set, every honest node of a scoring arm
// records its traffic, for package replay to score again (cmd/scorereplay)
// and for the replay's exactness check (TestReplayOfLabRecordings):
//
//   - the peerscore arm runs a replay.Recorder beside its Scorer, started
//     with it, with the node's addresses (P6) and the Scorer's score
//     inspections; the lab's application scores nothing (P5 is 0), so
//     the recording is complete. RecordingDir/node-NN is its directory.
//   - the native arm writes what pubsub's own tracer writes
//     (pubsub.NewPBTracer, RecordingDir/node-NN/trace.pb): the trace a
//     node that never heard of peerscore would have. Its router's score
//     inspections go to a Recorder that records nothing else,
//     RecordingDir/node-NN/scores, so that a replay can be checked
//     against the scores pubsub computed.
//
// A recording is bound in nothing but the run's length: the lab's runs
// are minutes long, and the disk bound a node would use in production
// (replay.WithMaxDiskSize) would delete the start of the run.

// RecordingDir is where the honest nodes of a run record, under the root
// directory Config.Record.
func RecordingDir(root string, sc Scenario, arm Arm, seed uint64) string {
	return filepath.Join(root, sc.Name, string(arm), "seed-"+strconv.FormatUint(seed, 10))
}

// ParamsFile is the run's parameters in a run's recording directory, as
// the lab scaled them, in peerscore's parameter format
// (peerscore.ParamsDocument): what `scorereplay -params` takes to replay
// the run as it was scored.
const ParamsFile = "params.json"

// writeRunParams writes the run's parameters beside its nodes' recordings.
func writeRunParams(dir string, params *peerscore.Params, thr *peerscore.Thresholds) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(peerscore.ParamsDocument{Params: params, Thresholds: thr}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ParamsFile), append(b, '\n'), 0o644)
}

// NodeDir is honest node i's directory in a run's recording directory.
func NodeDir(runDir string, i int) string {
	return filepath.Join(runDir, fmt.Sprintf("node-%02d", i))
}

// NativeTraceFile and NativeScoresDir are the native arm's files in a
// node's directory.
const (
	NativeTraceFile = "trace.pb"
	NativeScoresDir = "scores"
)

// recordingBuffer is the Recorder's queue in the lab: large enough that
// the writer, which the simulation schedules like every other goroutine,
// never drops an event (a dropped event would be a divergence the replay
// cannot explain; the run fails if one is dropped).
const recordingBuffer = 256 << 20

// nodeRecording is what one honest node records.
type nodeRecording struct {
	rec    *replay.Recorder // the peerscore arm's recording, or the native arm's scores
	native *pubsub.PBTracer // the native arm's trace
}

// startRecording starts n's recording in dir for arm, and returns the
// router options that feed it. It runs just before the node's scorer
// starts: the recording's start is the scorer's.
func (n *honestNode) startRecording(dir string, arm Arm, gp pubsub.GossipSubParams) ([]pubsub.Option, error) {
	if dir == "" || !arm.scores() {
		return nil, nil
	}
	nodeDir := NodeDir(dir, n.idx)
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		return nil, err
	}
	opts := []replay.RecorderOption{replay.WithRecorderLogger(discard), replay.WithBufferSize(recordingBuffer),
		replay.WithMaxFileSize(1 << 40), replay.WithMaxDiskSize(1 << 40), replay.WithGossipSubParams(gp)}
	if arm == ArmNative {
		tr, err := pubsub.NewPBTracer(filepath.Join(nodeDir, NativeTraceFile))
		if err != nil {
			return nil, err
		}
		rec, err := replay.NewRecorder(filepath.Join(nodeDir, NativeScoresDir), n.h.ID(), opts...)
		if err != nil {
			tr.Close()
			return nil, err
		}
		n.recording = &nodeRecording{rec: rec, native: tr}
		return []pubsub.Option{pubsub.WithEventTracer(tr)}, nil
	}
	rec, err := replay.NewRecorder(nodeDir, n.h.ID(), append(opts, replay.WithHost(n.h))...)
	if err != nil {
		return nil, err
	}
	n.recording = &nodeRecording{rec: rec}
	return []pubsub.Option{pubsub.WithRawTracer(rec)}, nil
}

// recordScores records a score inspection, if n records.
func (n *honestNode) recordScores(m map[peer.ID]float64) {
	if n.recording != nil {
		n.recording.rec.Scores(m)
	}
}

// errDropped is a recording that lost events.
var errDropped = errors.New("the recorder dropped events")

// stopTrace stops pubsub's tracer, whose writer then writes what it holds
// and closes the file on its own (the run's drain waits for it).
func (nr *nodeRecording) stopTrace() {
	if nr != nil && nr.native != nil {
		nr.native.Close()
	}
}

// close ends the recording once the router has stopped.
func (nr *nodeRecording) close() error {
	if nr == nil {
		return nil
	}
	var errs []error
	errs = append(errs, nr.rec.Close())
	if st := nr.rec.Stats(); st.Dropped > 0 {
		errs = append(errs, fmt.Errorf("%w: %d", errDropped, st.Dropped))
	}
	return errors.Join(errs...)
}
