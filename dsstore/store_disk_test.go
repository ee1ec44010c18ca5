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
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// slack is how late, past its interval, the test lets the child's last
// write be: time for the write itself and for a shared machine to
// schedule the child. That the Store writes every interval exactly is
// TestStoreWritesEveryInterval's (on a fake clock); here it is that a
// Store that stops writing, or writes rarely, fails.
const slack = childInterval

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
// <unix nanoseconds>" (the time after both changes were made). After each
// Put of the Store returns, it prints "wrote <key> <unix nanoseconds>"
// (the value's saved_at). It runs until it is killed.
func killedChild(dir string) {
	ldb, err := leveldb.NewDatastore(dir, nil)
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
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
	}
	ds := &reportingDS{Datastore: ldb, say: say}
	st, err := dsstore.New(ds, s, g, dsstore.WithInterval(childInterval))
	if err != nil {
		fmt.Println("error", err)
		return
	}
	st.Start(context.Background())
	for i := 0; ; i++ {
		p := childPeer(i)
		offend(s, p, childPenalty(i))
		g.Ban(p, time.Now().Add(time.Hour))
		say("step %d %d\n", i, time.Now().UnixNano())
		time.Sleep(childStep)
	}
}

// reportingDS says which value each Put has written, once it returns.
type reportingDS struct {
	datastore.Datastore
	say func(format string, args ...any)
}

func (r *reportingDS) Put(ctx context.Context, k datastore.Key, v []byte) error {
	if err := r.Datastore.Put(ctx, k, v); err != nil {
		return err
	}
	at, err := parseSavedAt(v)
	if err != nil {
		r.say("error %v\n", err)
		return nil
	}
	r.say("wrote %s %d\n", k, at.UnixNano())
	return nil
}

// parseSavedAt reads the time a saved state was written (the first field
// of its second line).
func parseSavedAt(value []byte) (time.Time, error) {
	lines := strings.Split(string(value), "\n")
	if len(lines) != 4 {
		return time.Time{}, fmt.Errorf("%d lines, want 4", len(lines))
	}
	var head struct {
		SavedAt time.Time `json:"saved_at"`
	}
	err := json.NewDecoder(strings.NewReader(lines[1])).Decode(&head)
	return head.SavedAt, err
}

// A node killed with SIGKILL while it runs loses at most one interval: the
// child process writes its state to LevelDB every 200ms while a peer
// offends every 25ms; the test kills it after five to six intervals (at
// a random point between two writes, or during one), reopens the
// datastore and loads it into a new scorer and gater. Each value is a
// whole state (it reads back, checksum and all); it is no older than the
// last write the child saw return; it was written at most an interval
// (plus slack) before the kill; and it holds every offence made before it
// was written, and no gap: the scores and the bans of offenders 0 to m,
// for some m.
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

	// Steps and the times they were done, and the values whose Put
	// returned, as the child reports them.
	var done []time.Time
	wrote := map[string]time.Time{} // the last value of each key
	lines := bufio.NewScanner(stdout)
	read := func() bool {
		if !lines.Scan() {
			return false
		}
		f := strings.Fields(lines.Text())
		require.Len(t, f, 3, "child said %q", lines.Text())
		ns, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err, "child said %q", lines.Text())
		switch f[0] {
		case "step":
			i, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			require.Equal(t, len(done), i)
			done = append(done, time.Unix(0, ns))
		case "wrote":
			wrote[f[1]] = time.Unix(0, ns)
		default:
			t.Fatalf("child said %q", lines.Text())
		}
		return true
	}
	// About five intervals, and then a random part of one more, so that
	// the kill lands anywhere between two writes, from run to run.
	killAfter := 40 + rand.IntN(int(childInterval/childStep))
	for len(done) < killAfter {
		require.True(t, read(), "the child stopped early: %v", lines.Err())
	}
	killed := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL)) // no Close, no deferred write
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
		at, err := parseSavedAt(v)
		require.NoError(t, err, key)
		values[key] = at
		// Every write that returned before the kill is kept: the value
		// read is the last one the child reported, or a later one whose
		// Put the kill interrupted on its way back.
		require.False(t, at.Before(wrote[key]), "%s: the value of %v is back, the child wrote the one of %v", key, at, wrote[key])
		lag := killed.Sub(at)
		require.Less(t, lag, childInterval+slack, "%s written %v before the kill", key, lag)
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
		require.GreaterOrEqual(t, m, killAfter-1-int((childInterval+slack)/childStep),
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
