// Package replay scores a node's recorded traffic under any parameters:
// it reads pubsub's own trace files and peerscore recordings (Recorder),
// replays every event into a peerscore.Scorer on the trace's own clock,
// and says which peers the parameters would have pushed below which
// threshold, and why. cmd/scorereplay is its command.
package replay
