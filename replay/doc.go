// Package replay scores a node's recorded traffic under any parameters:
// it reads pubsub's own trace files and peerscore recordings (Recorder),
// replays every event into a peerscore.Scorer on the trace's own clock,
// and says which peers the parameters would have pushed below which
// threshold, and why. cmd/scorereplay is its command; docs/replay.md
// walks an operator through recording a day and comparing parameters.
//
// # Record, replay, read
//
// A Recorder is a pubsub.RawTracer a node runs beside its Scorer. It
// writes pubsub's own trace events in pubsub's own delimited protobuf
// format, plus the extras a scorer sees that the format lacks (Extra):
// the peers' addresses (P6), the application's scores (P5), validations
// starting, throttled peers, the backoffs of PRUNEs, the router's
// timings, and, for checking a replay, the live scores. Files rotate
// within a disk bound; the router never waits on the disk.
//
// Open reads a recording directory, or a trace file of pubsub's own
// tracers (NewJSONTracer, NewPBTracer), as a stream of Events. A
// Replayer feeds them to a Scorer built with a peerscore.ManualClock set
// to each event's time, so the scorer's decays, heartbeats and refreshes
// happen at the instants they happened live, however fast the replay
// runs. Replay does this for one or two parameter sets at once and
// returns what each found (Outcome); Run.Write writes report.md,
// results.json and the plots.
//
// # What a replay can tell
//
// Replaying a node's recording under the parameters it ran with gives
// the scores it computed live, to 1e-9, at every inspection: the lab
// checks it on real routers (attacklab's TestReplayOfLabRecordings) and
// every replay of a recording with live scores checks it again (Check).
// pubsub's own traces lack addresses and application scores, so P5 and P6
// are not replayed from them, and some things are inferred (a delivery
// record opens at a message's first copy rather than when validation
// began, PRUNE backoffs are the router's default); Info says which, and
// how often, and the report prints it.
package replay
