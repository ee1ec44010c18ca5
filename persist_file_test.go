package peerscore_test

// SaveFile and LoadFile (persist_file.go): a round trip through a file, and
// a disk that misbehaves: a damaged state file is moved aside and the node
// starts anyway, temporary files of a crashed save are cleaned up, and saves
// running at once do not break each other.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// fileStart starts a node's scorer as LoadFile's godoc shows: load what
// can be loaded, log the rest, start regardless. It
// returns the scorer, running, and what LoadFile returned.
func fileStart(t *testing.T, path string, p *peerscore.Params, opts ...peerscore.Option) (*peerscore.Scorer, *scoretest.LogRecorder, error) {
	t.Helper()
	s, log := scoretest.NewLogged(t, p, opts...)
	logger := slog.New(log)
	err := s.LoadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		logger.Warn("starting without saved peer scores", "err", err)
	}
	s.Start(context.Background())
	t.Cleanup(func() { s.Close() })
	return s, log, err
}

func fileNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestPersistFileDamagedMovedAside writes damaged state files of every
// kind where a node keeps its state: each time, LoadFile must move the
// file aside, log it at error level and return ErrInvalidState, and the
// node must start, run, save on shutdown and load that next time.
func TestPersistFileDamagedMovedAside(t *testing.T) {
	for _, what := range []string{"garbage", "empty", "truncated", "bit flip", "version 9", "oversized"} {
		t.Run(what, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { fileDamaged(t, what) })
		})
	}
}

func fileDamaged(t *testing.T, what string) {
	params := scoretest.StateParams(time.Hour, nil)
	src := scoretest.New(t, params)
	src.Tracer().OnNewOutboundStream("bad", "/meshsub/1.1.0")
	scoretest.RejectN(src, "T", "x", "bad", 3)
	valid := scoretest.Save(t, src)
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/2] ^= 0x20
	var opts []peerscore.Option
	content := map[string][]byte{
		"garbage":   []byte("not a state\n"),
		"empty":     {},
		"truncated": valid[:len(valid)/2],
		"bit flip":  flipped,
		"version 9": bytes.Replace(valid, []byte("v1"), []byte("v9"), 1),
		"oversized": valid,
	}[what]
	if what == "oversized" {
		opts = append(opts, peerscore.WithStateLimitsForTest(len(valid)-1, 0, 0, 0))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "scores")
	require.NoError(t, os.WriteFile(path, content, 0o600))

	s, log, err := fileStart(t, path, params, opts...)
	require.ErrorIs(t, err, peerscore.ErrInvalidState)
	names := fileNames(t, dir)
	require.Len(t, names, 1, "the damaged file, moved aside")
	require.True(t, strings.HasPrefix(names[0], "scores.damaged-"), names[0])
	aside := filepath.Join(dir, names[0])
	kept, err2 := os.ReadFile(aside)
	require.NoError(t, err2)
	require.Equal(t, content, kept, "moved, not changed")
	require.Contains(t, err.Error(), aside)
	logged := log.Find(slog.LevelError, "invalid")
	require.Len(t, logged, 1)
	require.Equal(t, aside, logged[0]["moved_to"].String())
	require.Empty(t, s.Snapshots())

	// The node runs, and saves and loads as usual from then on.
	s.Tracer().OnNewOutboundStream("later", "/meshsub/1.1.0")
	s.AddPenalty("later", 2)
	require.NoError(t, s.SaveFile(path))
	require.NoError(t, s.Close())
	next, _, err := fileStart(t, path, params, opts...)
	require.NoError(t, err)
	require.Equal(t, -4.0, next.Score("later"))
	require.Len(t, fileNames(t, dir), 2, "the new state and the damaged one")
}

// TestPersistFileLoadFailuresNotMoved: a missing file is not worth a log
// line and an unreadable one is not the file's fault; neither is moved.
func TestPersistFileLoadFailuresNotMoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		dir := t.TempDir()
		_, log, err := fileStart(t, filepath.Join(dir, "missing"), params)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.Empty(t, log.Find(slog.LevelInfo, ""))
		require.Empty(t, fileNames(t, dir))

		notFile := filepath.Join(dir, "a-directory")
		require.NoError(t, os.Mkdir(notFile, 0o700))
		_, _, err = fileStart(t, notFile, params)
		require.Error(t, err)
		require.NotErrorIs(t, err, peerscore.ErrInvalidState)
		require.Equal(t, []string{"a-directory"}, fileNames(t, dir))
	})
}

// TestPersistFileRemovesStaleTemps plants temporary files like those a
// crash during SaveFile leaves, and others that only look alike: LoadFile
// and SaveFile must remove the former, log them, and leave the rest.
func TestPersistFileRemovesStaleTemps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		dir := t.TempDir()
		path := filepath.Join(dir, "scores")
		plant := func(names ...string) {
			for _, n := range names {
				require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("half a state"), 0o600))
			}
		}
		others := []string{".scores.tmp-", ".scores.tmp-12a", ".other.tmp-5", "scores.tmp-7", ".scores.tmp-1.tmp-2"}
		plant(others...)
		plant(".scores.tmp-123", ".scores.tmp-4294967295")
		require.NoError(t, os.Mkdir(filepath.Join(dir, ".scores.tmp-9"), 0o700))
		others = append(others, ".scores.tmp-9")
		slices.Sort(others)

		s, log, err := fileStart(t, path, params)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.Equal(t, others, fileNames(t, dir))
		require.Len(t, log.Find(slog.LevelWarn, "interrupted save"), 2)

		plant(".scores.tmp-77")
		require.NoError(t, s.SaveFile(path))
		require.Equal(t, slices.Sorted(slices.Values(append(others, "scores"))), fileNames(t, dir))
		require.Len(t, log.Find(slog.LevelWarn, "interrupted save"), 3)
	})
}

// TestPersistFileConcurrentSaves runs SaveFile calls on one path at once,
// from several scorers, with LoadFile calls and stale temporary files
// appearing among them: every call must succeed (cleaning up must never
// take the temporary file of a save in progress), and in the end the file
// holds one whole state and no temporary file is left.
func TestPersistFileConcurrentSaves(t *testing.T) {
	params := scoretest.StateParams(time.Hour, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "scores")
	scorers := make([]*peerscore.Scorer, 4)
	for i := range scorers {
		scorers[i] = scoretest.New(t, params)
		p := fmt.Sprintf("bad-%d", i)
		scorers[i].Tracer().OnNewOutboundStream(peer.ID(p), "/meshsub/1.1.0")
		scorers[i].AddPenalty(peer.ID(p), 1+i)
	}
	require.NoError(t, scorers[0].SaveFile(path))

	const rounds = 30
	var wg sync.WaitGroup
	for i, s := range scorers {
		wg.Go(func() {
			for r := range rounds {
				if err := s.SaveFile(path); err != nil {
					t.Errorf("scorer %d, save %d: %v", i, r, err)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for r := range rounds {
				if err := scoretest.New(t, params).LoadFile(path); err != nil {
					t.Errorf("load %d: %v", r, err)
				}
			}
		})
	}
	wg.Go(func() {
		for r := range rounds {
			stale := filepath.Join(dir, fmt.Sprintf(".scores.tmp-%d", 900000+r))
			if err := os.WriteFile(stale, nil, 0o600); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()

	s := scoretest.New(t, params)
	require.NoError(t, s.LoadFile(path))
	require.Equal(t, 1, s.Stats().Retained)
	require.Equal(t, []string{"scores"}, fileNames(t, dir))
}

// TestPersistFile checks SaveFile and LoadFile: a missing file is
// fs.ErrNotExist, a round trip restores the peers, saving over an existing
// file replaces it whole and leaves no temporary file, and a failed save
// leaves the old file as it was.
func TestPersistFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "scores.state")
		params := scoretest.StateParams(time.Hour, nil)
		s1 := scoretest.New(t, params)

		err := scoretest.New(t, params).LoadFile(path)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.NotErrorIs(t, err, peerscore.ErrInvalidState)

		require.NoError(t, os.WriteFile(path, []byte("an older, longer file that will be replaced entirely\n"), 0o644))
		s1.Tracer().OnNewOutboundStream("bad", "/meshsub/1.1.0")
		scoretest.RejectN(s1, "T", "x", "bad", 3)
		require.NoError(t, s1.SaveFile(path))

		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, scoretest.Save(t, s1), data, "the file holds exactly what Save writes")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file left behind")
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), info.Mode().Perm())

		s2 := scoretest.New(t, params)
		require.NoError(t, s2.LoadFile(path))
		require.Equal(t, -18.0, s2.Score("bad"))
		require.False(t, scoretest.Snap(t, s2, "bad").Connected)

		// Saving again replaces the file.
		s1.Tracer().OnClosedOutboundStream("bad")
		s1.Tracer().OnNewOutboundStream("worse", "/meshsub/1.1.0")
		scoretest.RejectN(s1, "T", "y", "worse", 4)
		require.NoError(t, s1.SaveFile(path))
		s3 := scoretest.New(t, params)
		require.NoError(t, s3.LoadFile(path))
		require.Equal(t, -32.0, s3.Score("worse"))
		require.Equal(t, -18.0, s3.Score("bad"))
		entries, err = os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1)

		// A save that cannot complete (the target is a directory) leaves
		// nothing behind; one into a missing directory fails.
		sub := filepath.Join(dir, "sub")
		require.NoError(t, os.Mkdir(sub, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644))
		require.Error(t, s1.SaveFile(sub))
		entries, err = os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 2, "only the state file and sub")
		require.Error(t, s1.SaveFile(filepath.Join(dir, "missing", "scores.state")))

		// A damaged file is an invalid state and changes nothing.
		data[len(data)/2] ^= 1
		require.NoError(t, os.WriteFile(path, data, 0o600))
		s4 := scoretest.New(t, params)
		err = s4.LoadFile(path)
		require.ErrorIs(t, err, peerscore.ErrInvalidState)
		require.Contains(t, err.Error(), path)
		require.Empty(t, s4.Snapshots())
	})
}
