package replay

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// The committed traces (reader_test.go describes them): one node's
// traffic on topic "replay-test" for about 11 s.
const (
	cliPB        = "testdata/pubsub-trace.pb.gz"
	cliJSON      = "testdata/pubsub-trace.json.gz"
	cliRecording = "testdata/recording"
	cliTopic     = "replay-test"
)

// paramFiles writes the parameter documents the command reads: strict
// asks every mesh peer for 20 deliveries (P3, P3b, active after 1 s) and
// scores invalid messages, lenient does neither; both score the rest as
// engineParams but for the slow-peer penalty, with testThresholds.
func paramFiles(t *testing.T) (strict, lenient string) {
	dir := t.TempDir()
	write := func(name string, strict bool) string {
		p := engineParams()
		topic := p.Topics[tt]
		topic.MeshMessageDeliveriesThreshold = 20
		if !strict {
			topic.MeshMessageDeliveriesWeight, topic.MeshFailurePenaltyWeight, topic.InvalidMessageDeliveriesWeight = 0, 0, 0
		}
		p.Topics = map[string]*peerscore.TopicParams{cliTopic: topic}
		p.SlowPeerWeight, p.SlowPeerDecay, p.SlowPeerWriteThreshold = 0, 0, 0
		b, err := json.Marshal(peerscore.ParamsDocument{Params: p, Thresholds: testThresholds()})
		require.NoError(t, err)
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path
	}
	return write("strict.json", true), write("lenient.json", false)
}

// runMain runs the command and returns its status and output.
func runMain(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func readRun(t *testing.T, dir string) Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	require.NoError(t, err)
	var run Run
	require.NoError(t, json.Unmarshal(b, &run))
	return run
}

// TestMainErrors: bad flags and inputs end with a message and a non-zero
// status, and write nothing.
func TestMainErrors(t *testing.T) {
	strict, _ := paramFiles(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	notJSON := write("not.json", "params: yes")
	noParams := write("empty.json", `{"thresholds": null}`)
	badParams := write("bad.json", `{"params": {"decay_interval": "-1s"}}`)
	missing := filepath.Join(dir, "missing.json")

	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"unknown flag", []string{"-bogus"}, 2, "flag provided but not defined: -bogus"},
		{"bad duration", []string{"-trace", cliPB, "-params", strict, "-snapshot-every", "often"}, 2, "invalid value \"often\""},
		{"no flags", nil, 2, "-trace and -params are required"},
		{"no -params", []string{"-trace", cliPB}, 2, "-trace and -params are required"},
		{"no -trace", []string{"-params", strict}, 2, "-trace and -params are required"},
		{"an argument", []string{"-trace", cliPB, "-params", strict, "more"}, 2, "-trace and -params are required"},
		{"missing -params", []string{"-trace", cliPB, "-params", missing}, 2, "missing.json"},
		{"missing -compare", []string{"-trace", cliPB, "-params", strict, "-compare", missing}, 2, "missing.json"},
		{"not JSON", []string{"-trace", cliPB, "-params", notJSON}, 2, "not.json"},
		{"no params in it", []string{"-trace", cliPB, "-params", noParams}, 2, `empty.json: no "params"`},
		// Read, then refused by the replay.
		{"invalid params", []string{"-trace", cliPB, "-params", badParams}, 1, "scorereplay: bad.json: peerscore: DecayInterval = -1s"},
		{"missing trace", []string{"-trace", filepath.Join(dir, "none.pb"), "-params", strict}, 1, "none.pb"},
		{"not a trace", []string{"-trace", notJSON, "-params", strict}, 1, "not.json: byte 0: truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runMain(append(c.args, "-out", out, "-quiet")...)
			require.Equal(t, c.code, code)
			require.Contains(t, stderr, c.want)
			require.Empty(t, stdout)
			require.NoDirExists(t, out)
		})
	}

	code, stdout, stderr := runMain("-h")
	require.Zero(t, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "usage: scorereplay -trace FILE|DIR -params FILE.json")
	require.Contains(t, stderr, "-compare")
}

// TestMainRun: a replay of each committed trace writes the report; the
// same trace in pubsub's two formats gives the same outcome.
func TestMainRun(t *testing.T) {
	strict, _ := paramFiles(t)
	runs := map[string]Run{}
	for _, trace := range []string{cliPB, cliJSON, cliRecording} {
		out := filepath.Join(t.TempDir(), "report")
		code, stdout, stderr := runMain("-trace", trace, "-params", strict, "-out", out, "-quiet")
		require.Zero(t, code, stderr)
		require.Empty(t, stderr, "-quiet")
		require.Contains(t, stdout, "report: "+filepath.Join(out, "report.md")+"\n")
		require.Contains(t, stdout, "strict.json:  below zero ")
		for _, f := range []string{"report.md", "results.json", "scores-1.svg"} {
			require.FileExists(t, filepath.Join(out, f))
		}
		run := readRun(t, out)
		require.Equal(t, trace, run.Trace)
		require.Equal(t, []string{"strict.json"}, run.Params)
		require.Len(t, run.Outcomes, 1)
		require.Empty(t, run.Disagreements)
		runs[trace] = run
	}
	pb, js, rec := runs[cliPB].Outcomes[0], runs[cliJSON].Outcomes[0], runs[cliRecording].Outcomes[0]
	require.Equal(t, FormatProto, pb.Info.Format)
	require.Equal(t, FormatJSON, js.Info.Format)
	require.Equal(t, FormatRecording, rec.Info.Format)
	require.Equal(t, int64(488), pb.Info.Events)
	require.Equal(t, pb.Peers, js.Peers)
	require.Equal(t, pb.Band, js.Band)
	require.Equal(t, int64(8+9+4), pb.Info.Inferred[inferredValidation], "the node's own messages are not replayed")
	require.Len(t, pb.Peers, 3)
	require.NotEmpty(t, pb.Peers[0].Crossed, "the strict set pushes a mesh peer below zero")
	require.Equal(t, map[string]int64{inferredTimings: 1}, rec.Info.Inferred,
		"testdata/recording was made without WithGossipSubParams: the timings alone are inferred")
	require.Equal(t, len(pb.Peers), len(rec.Peers))
}

// TestMainCompare: -compare replays a second set beside the first and
// lists where they disagree.
func TestMainCompare(t *testing.T) {
	strict, lenient := paramFiles(t)
	out := t.TempDir()
	code, stdout, stderr := runMain("-trace", cliRecording, "-params", strict, "-compare", lenient, "-out", out, "-quiet")
	require.Zero(t, code, stderr)
	run := readRun(t, out)
	require.Equal(t, []string{"strict.json", "lenient.json"}, run.Params)
	require.Len(t, run.Outcomes, 2)
	require.NotEmpty(t, run.Disagreements)
	for _, d := range run.Disagreements {
		require.Equal(t, 0, d.Below, "only the strict set pushes peers down: %+v", d)
		require.Equal(t, string(peerscore.ComponentMeshDeliveries), d.Component)
	}
	require.Contains(t, stdout, "strict.json:  below zero 3  below gossip 3  below publish 3  below graylist 3 (of 3 peers)\n")
	require.Contains(t, stdout, "lenient.json:  below zero 1  below gossip 0  below publish 0  below graylist 0 (of 3 peers)\n")
	require.Len(t, run.Disagreements, 2+3+3+3, "two peers at zero, three at each threshold")
	require.Contains(t, stdout, "disagreements: 11\n")
	b, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(b), "## Where the two sets disagree")
	require.FileExists(t, filepath.Join(out, "scores-2.svg"))
}

// TestMainOptions: -snapshot-every sets the sampling, and without -quiet
// the progress line is ended on stderr.
func TestMainOptions(t *testing.T) {
	strict, _ := paramFiles(t)
	bands := map[string]int{}
	for _, every := range []string{"1s", "5s"} {
		out := t.TempDir()
		code, _, stderr := runMain("-trace", cliPB, "-params", strict, "-out", out, "-snapshot-every", every)
		require.Zero(t, code, stderr)
		require.Equal(t, "\n", stderr, "a trace under 100,000 events shows no progress, then ends its line")
		bands[every] = len(readRun(t, out).Outcomes[0].Band)
	}
	// About 10.7 s of trace: a sample every second or 5 s, and the last.
	require.Equal(t, map[string]int{"1s": 11, "5s": 3}, bands)
}

// sizedSource is a Source that says how much of it was read.
type sizedSource struct {
	sliceSource
	done, total int64
}

func (s *sizedSource) Progress() (int64, int64) { return s.done, s.total }

func TestProgress(t *testing.T) {
	var w bytes.Buffer
	when := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
	newProgress(&w, &sliceSource{}, time.Now())(200_000, when)
	require.True(t, strings.HasPrefix(w.String(), "\r200000 events, "), w.String())
	require.True(t, strings.HasSuffix(w.String(), "/s, trace time 2025-03-01 12:30:00"), w.String())

	w.Reset()
	newProgress(&w, &sizedSource{done: 50, total: 100}, time.Now())(300_000, when)
	require.True(t, strings.HasPrefix(w.String(), "\r["+strings.Repeat("#", 15)+strings.Repeat(" ", 15)+"]  50%  300000 events, "), w.String())

	w.Reset()
	newProgress(&w, &sizedSource{done: 0, total: 0}, time.Now())(100_000, when)
	require.True(t, strings.HasPrefix(w.String(), "\r100000 events"), "no size: no bar: %q", w.String())

	// Replay reports every 100,000 events.
	evs := make([]Event, 250_000)
	for i := range evs {
		evs[i] = extraAt(time.Duration(i)*time.Microsecond, Extra{Kind: KindThrottle})
	}
	var calls []int64
	_, err := Replay(&sliceSource{evs: evs, format: FormatRecording}, "t", []string{"p"}, []Config{{Params: engineParams()}},
		func(n int64, at time.Time) {
			calls = append(calls, n)
			require.Equal(t, t0.Add(time.Duration(n-1)*time.Microsecond), at)
		})
	require.NoError(t, err)
	require.Equal(t, []int64{100_000, 200_000}, calls)
}
