// Command scorereplay scores a node's recorded traffic under any score
// parameters: pubsub's own trace files (pubsub.NewJSONTracer,
// pubsub.NewPBTracer), gzip'd or not, or a recording of replay.Recorder,
// replayed into a peerscore.Scorer on the trace's own clock. It writes a
// report of which peers the parameters would have pushed below zero and
// each threshold, when and why, honest-looking ones flagged; with
// -compare, the peers two parameter sets disagree on.
//
//	go run ./cmd/scorereplay -trace node.trace.pb.gz -params current.json -out replay
//	go run ./cmd/scorereplay -trace recording/ -params current.json -compare candidate.json -out replay
//
// The parameters are the JSON document of the README's "Parameters as
// JSON". The logic is in package replay.
package main

import (
	"os"

	"github.com/peerscore/peerscore/replay"
)

func main() {
	os.Exit(replay.Main(os.Args[1:], os.Stdout, os.Stderr))
}
