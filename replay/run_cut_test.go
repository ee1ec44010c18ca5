package replay

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerscore/peerscore"
)

// TestReplayTakesACutFileAsItsEnd: a trace cut mid-record (a node still
// writing, or one that crashed) replays up to the cut, and the run says
// it was cut.
func TestReplayTakesACutFileAsItsEnd(t *testing.T) {
	whole := replayFile(t, filepath.Join("testdata", "pubsub-trace.pb.gz"))
	raw := gunzipFile(t, filepath.Join("testdata", "pubsub-trace.pb.gz"))
	cut := filepath.Join(t.TempDir(), "cut.pb")
	if err := os.WriteFile(cut, raw[:len(raw)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	part := replayFile(t, cut)
	if whole.Cut != 0 {
		t.Errorf("the whole trace was reported cut %d times", whole.Cut)
	}
	if part.Cut != 1 {
		t.Errorf("the cut trace was reported cut %d times, want 1", part.Cut)
	}
	we, pe := whole.Outcomes[0].Info.Events, part.Outcomes[0].Info.Events
	if pe == 0 || pe >= we {
		t.Errorf("the cut trace replayed %d events, the whole %d: want some, fewer", pe, we)
	}
}

func replayFile(t *testing.T, path string) *Run {
	t.Helper()
	src, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	params, thr := cutTestParams()
	run, err := Replay(src, path, []string{"p"}, []Config{{Params: params, Thresholds: thr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func cutTestParams() (*peerscore.Params, *peerscore.Thresholds) {
	params := &peerscore.Params{DecayInterval: time.Second, DecayToZero: 0.01, AppSpecificWeight: 1,
		Topics: map[string]*peerscore.TopicParams{}}
	return params, &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80}
}

// TestReplayRefusesAFileCutBeforeItsFirstEvent: a trace file cut before
// its first event is no trace, and the replay stops with the error; a
// recording's first pair cut so (a node that crashed at its start and was
// restarted) is passed, and the next pair is replayed.
func TestReplayRefusesAFileCutBeforeItsFirstEvent(t *testing.T) {
	params, thr := cutTestParams()
	cfgs := []Config{{Params: params, Thresholds: thr}}
	dir := t.TempDir()
	raw := gunzipFile(t, filepath.Join("testdata", "pubsub-trace.pb.gz"))
	cut := filepath.Join(dir, "cut.pb")
	if err := os.WriteFile(cut, raw[:1], 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := Open(cut)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := Replay(src, cut, []string{"p"}, cfgs, nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("a trace cut at its first byte replayed, with error %v", err)
	}

	whole := replayFile(t, filepath.Join("testdata", "recording"))
	rec := filepath.Join(dir, "recording")
	if err := os.Mkdir(rec, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"trace", "extra"} {
		ext := map[string]string{"trace": ".pb.gz", "extra": ".jsonl.gz"}[f]
		b, err := os.ReadFile(filepath.Join("testdata", "recording", f+"-000001"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rec, f+"-000001"+ext), b[:1], 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rec, f+"-000002"+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	restarted := replayFile(t, rec)
	if restarted.Cut != 1 {
		t.Errorf("the recording was reported cut %d times, want 1", restarted.Cut)
	}
	if got, want := restarted.Outcomes[0].Info.Events, whole.Outcomes[0].Info.Events; got != want {
		t.Errorf("the restarted recording replayed %d events, the pair alone %d", got, want)
	}
}
