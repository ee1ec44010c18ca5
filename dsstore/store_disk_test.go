package dsstore_test

// Tests against a real datastore on disk (LevelDB, through go-ds-leveldb),
// including a process killed with SIGKILL while it writes. They run in real
// time, outside synctest: goleveldb keeps a goroutine on a one-second
// timer after Close, which a synctest bubble reports as a deadlock.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-datastore"
	leveldb "github.com/ipfs/go-ds-leveldb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/dsstore"
)

// childEnv, when set to a directory, makes the test binary run
// killedChild there instead of the tests (see TestMain).
const childEnv = "PEERSCORE_DSSTORE_KILLED_CHILD"

// The child's pace: one offence every step, the state written every
// interval.
const (
	childStep     = 25 * time.Millisecond
	childInterval = 200 * time.Millisecond
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		killedChild(dir)
		os.Exit(1) // killedChild never returns: it is killed
	}
	os.Exit(m.Run())
}

// childPeer is the peer of the child's i-th offence, and childPenalty the
// penalties it gets: its score is -childPenalty(i)².
func childPeer(i int) peer.ID { return peer.ID(fmt.Sprintf("offender-%04d", i)) }
func childPenalty(i int) int  { return 1 + i%4 }

// killedChild runs a node's scorer, gater and Store on a LevelDB in dir,
// writing every childInterval, and makes one peer offend every childStep:
// it penalises the peer, bans it for an hour, and then prints "step <i>
// <unix nanoseconds>" (the time after both changes were made). It runs
// until it is killed.
func killedChild(dir string) {
	ds, err := leveldb.NewDatastore(dir, nil)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	s, err := peerscore.New(scorerParams())
	if err != nil {
		fmt.Println("error", err)
		return
	}
	g := ban.NewGater()
	st, err := dsstore.New(ds, s, g, dsstore.WithInterval(childInterval))
	if err != nil {
		fmt.Println("error", err)
		return
	}
	st.Start(context.Background())
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		p := childPeer(i)
		offend(s, p, childPenalty(i))
		g.Ban(p, time.Now().Add(time.Hour))
		fmt.Fprintf(out, "step %d %d\n", i, time.Now().UnixNano())
		out.Flush()
		time.Sleep(childStep)
	}
}

// savedAt reads the time a saved state was written (the first field of
// its second line).
func savedAt(t *testing.T, value []byte) time.Time {
	t.Helper()
	lines := strings.Split(string(value), "\n")
	require.Len(t, lines, 4)
	var head struct {
		SavedAt time.Time `json:"saved_at"`
	}
	dec := json.NewDecoder(strings.NewReader(lines[1]))
	require.NoError(t, dec.Decode(&head))
	return head.SavedAt
}

// A node killed with SIGKILL while it runs loses at most one interval: the
// child process writes its state to LevelDB every 200ms while a peer
// offends every 25ms; the test kills it after about five intervals,
// reopens the datastore and loads it into a new scorer and gater. Each
// value is a whole state (it reads back, checksum and all); it was written
// at most an interval (plus a scheduling margin) before the kill; and it
// holds every offence made before it was written, and no gap: the scores
// and the bans of offenders 0 to m, for some m.
func TestStoreSurvivesSIGKILL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on Windows")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	// Steps and the times they were done, as the child reports them.
	var done []time.Time
	lines := bufio.NewScanner(stdout)
	read := func() bool {
		if !lines.Scan() {
			return false
		}
		f := strings.Fields(lines.Text())
		require.Len(t, f, 3, "child said %q", lines.Text())
		require.Equal(t, "step", f[0], "child said %q", lines.Text())
		i, err := strconv.Atoi(f[1])
		require.NoError(t, err)
		require.Equal(t, len(done), i)
		ns, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
		done = append(done, time.Unix(0, ns))
		return true
	}
	const killAfter = 40 // steps: about five intervals
	for len(done) < killAfter {
		require.True(t, read(), "the child stopped early: %v", lines.Err())
	}
	killed := time.Now()
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no Close, no deferred write
	for read() {
	}
	err = cmd.Wait()
	require.Error(t, err)
	require.Contains(t, err.Error(), "killed")

	ds, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	defer ds.Close()
	values := map[string]time.Time{}
	for _, key := range []string{"/peerscore/scores", "/peerscore/bans"} {
		v, err := ds.Get(ctx, datastore.NewKey(key))
		require.NoError(t, err, key)
		at := savedAt(t, v)
		values[key] = at
		lag := killed.Sub(at)
		require.Less(t, lag, childInterval+150*time.Millisecond, "%s written %v before the kill", key, lag)
	}

	s, g := newScorer(t), ban.NewGater()
	st, err := dsstore.New(ds, s, g)
	require.NoError(t, err)
	require.NoError(t, st.Load(ctx), "each value is a whole state")

	check := func(key string, has func(i int) bool) {
		t.Helper()
		at := values[key]
		m := -1
		for i := range done {
			if has(i) {
				require.Equal(t, m+1, i, "%s: offender %d without %d", key, i, m+1)
				m = i
			}
		}
		for i, when := range done {
			if when.Before(at) {
				require.LessOrEqual(t, i, m, "%s: offender %d, done %v before the write, is missing", key, i, at.Sub(when))
			}
		}
		require.GreaterOrEqual(t, m, killAfter-1-int((childInterval+150*time.Millisecond)/childStep),
			"%s: only %d of %d offences", key, m+1, len(done))
		t.Logf("%s: written %v before the kill, holds offenders 0 to %d of %d", key, killed.Sub(at), m, len(done)-1)
	}
	check("/peerscore/scores", func(i int) bool {
		score := s.Score(childPeer(i))
		if score == 0 {
			return false
		}
		require.Equal(t, -float64(childPenalty(i)*childPenalty(i)), score, "offender %d", i)
		return true
	})
	check("/peerscore/bans", func(i int) bool {
		_, banned := g.Banned(childPeer(i))
		return banned
	})
}

// A state written to LevelDB on disk reads back after the datastore is
// closed and opened again, as at a restart.
func TestStoreLevelDBRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	s, g := newScorer(t), ban.NewGater()
	offend(s, "bad", 3)
	g.Ban("bad", time.Now().Add(time.Hour))
	st, err := dsstore.New(ds, s, g)
	require.NoError(t, err)
	st.Start(ctx)
	require.NoError(t, st.Close(), "Close writes")
	require.NoError(t, ds.Close())

	ds, err = leveldb.NewDatastore(dir, nil)
	require.NoError(t, err)
	defer ds.Close()
	s2, g2 := newScorer(t), ban.NewGater()
	st2, err := dsstore.New(ds, s2, g2)
	require.NoError(t, err)
	require.NoError(t, st2.Load(ctx))
	require.Equal(t, -9.0, s2.Score("bad"))
	_, banned := g2.Banned("bad")
	require.True(t, banned)
}
