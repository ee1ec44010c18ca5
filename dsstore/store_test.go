package dsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfs/go-datastore"
	"github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/dsstore"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/reputation"
)

// scorerParams score nothing but the behaviour penalty: weight -1 above
// 0, so a peer with n penalties scores -n², and the penalty halves at each
// decay (every second, once started). Peers are retained for an hour.
func scorerParams() *peerscore.Params {
	p := scoretest.Params(nil)
	p.BehaviourPenaltyWeight = -1
	p.BehaviourPenaltyDecay = 0.5
	p.RetainScore = time.Hour
	return p
}

func newScorer(t testing.TB) *peerscore.Scorer {
	t.Helper()
	return scoretest.New(t, scorerParams())
}

// offend makes p a connected peer of s with n behaviour penalties, so that
// Save keeps it (its score, -n², is below zero).
func offend(s *peerscore.Scorer, p peer.ID, n int) {
	scoretest.Connect(s, p)
	s.AddPenalty(p, n)
}

// keys lists the datastore's keys.
func keys(t *testing.T, ds datastore.Datastore) []string {
	t.Helper()
	res, err := ds.Query(context.Background(), query.Query{KeysOnly: true})
	require.NoError(t, err)
	all, err := res.Rest()
	require.NoError(t, err)
	var out []string
	for _, e := range all {
		out = append(out, e.Key)
	}
	return out
}

// Save writes each state whole under its key, in the saved format; a new
// Scorer and Gater load it back through a new Store on the same datastore.
func TestStoreSaveLoad(t *testing.T) {
	ctx := context.Background()
	ds := datastore.NewMapDatastore()
	s, g := newScorer(t), ban.NewGater()
	offend(s, "bad", 3)
	offend(s, "worse", 5)
	scoretest.Connect(s, "good") // score 0: retained, saved
	g.Ban("bad", time.Now().Add(time.Hour))
	require.NoError(t, g.BanSubnet(netip.MustParsePrefix("192.0.2.0/24"), time.Now().Add(2*time.Hour)))
	st, err := dsstore.New(ds, s, g)
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx))

	require.ElementsMatch(t, []string{"/peerscore/scores", "/peerscore/bans"}, keys(t, ds))
	for key, first := range map[string]string{"/peerscore/scores": "peerscore-state v1\n", "/peerscore/bans": "peerscore-bans v1\n"} {
		v, err := ds.Get(ctx, datastore.NewKey(key))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(v), first), "%s: %.40q", key, v)
	}

	s2, g2 := newScorer(t), ban.NewGater()
	st2, err := dsstore.New(ds, s2, g2)
	require.NoError(t, err)
	require.NoError(t, st2.Load(ctx))
	require.Equal(t, -9.0, s2.Score("bad"))
	require.Equal(t, -25.0, s2.Score("worse"))
	_, known := s2.Snapshot("good")
	require.True(t, known)
	require.Len(t, g2.Bans(), 2)
	require.Equal(t, g.Bans()[0].Until.Round(0).UTC(), g2.Bans()[0].Until)
	_, banned := g2.BannedIP(netip.MustParseAddr("192.0.2.9"))
	require.True(t, banned)
}

// A started Store writes every interval, so the datastore lags the state
// by at most one interval; Close writes once more, and a second Close
// writes nothing and returns the first one's result.
func TestStoreWritesEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ds := dssync.MutexWrap(datastore.NewMapDatastore())
		s, g := newScorer(t), ban.NewGater()
		const interval = 10 * time.Second
		st, err := dsstore.New(ds, s, g, dsstore.WithInterval(interval))
		require.NoError(t, err)
		st.Start(ctx)
		defer st.Close()

		// saved reports which of ps the datastore holds now, by loading it
		// into a new Scorer and Gater.
		saved := func(ps ...peer.ID) (scored, banned []peer.ID) {
			s2, g2 := newScorer(t), ban.NewGater()
			st2, err := dsstore.New(ds, s2, g2)
			require.NoError(t, err)
			require.NoError(t, st2.Load(ctx))
			for _, p := range ps {
				if _, ok := s2.Snapshot(p); ok {
					scored = append(scored, p)
				}
				if _, ok := g2.Banned(p); ok {
					banned = append(banned, p)
				}
			}
			return scored, banned
		}

		time.Sleep(interval / 2)
		offend(s, "p1", 1)
		g.Ban("p1", time.Now().Add(time.Hour))
		time.Sleep(interval/2 - time.Millisecond)
		synctest.Wait()
		scored, banned := saved("p1")
		require.Empty(t, scored, "written before the interval")
		require.Empty(t, banned)

		time.Sleep(time.Millisecond)
		synctest.Wait()
		scored, banned = saved("p1")
		require.Equal(t, []peer.ID{"p1"}, scored)
		require.Equal(t, []peer.ID{"p1"}, banned)

		// Ten intervals later, what was done in each is there one interval
		// on at the latest.
		for i := range 10 {
			p := peer.ID(fmt.Sprintf("q%d", i))
			offend(s, p, 1)
			g.Ban(p, time.Now().Add(time.Hour))
			time.Sleep(interval)
			synctest.Wait()
			scored, banned = saved(p)
			require.Equal(t, []peer.ID{p}, scored)
			require.Equal(t, []peer.ID{p}, banned)
		}

		// Close writes what the last interval has not.
		offend(s, "last", 1)
		g.Ban("last", time.Now().Add(time.Hour))
		require.NoError(t, st.Close())
		scored, banned = saved("last")
		require.Equal(t, []peer.ID{"last"}, scored)
		require.Equal(t, []peer.ID{"last"}, banned)

		// Closed: no more writes, periodic or on a second Close.
		offend(s, "after", 1)
		require.NoError(t, st.Close())
		time.Sleep(3 * interval)
		scored, _ = saved("after")
		require.Empty(t, scored)
	})
}

// failingDS is a datastore whose Get, Put, Delete and Sync fail while the
// test says so.
type failingDS struct {
	datastore.Datastore
	mu                    sync.Mutex
	failGet, failPut      bool
	failSync, failDeletes bool
}

var errDisk = errors.New("disk on fire")

// quiet keeps a Store's logs out of the test output, in the tests that
// do not check them.
var quiet = dsstore.WithLogger(slog.New(slog.DiscardHandler))

func (f *failingDS) set(get, put, sync bool) {
	f.mu.Lock()
	f.failGet, f.failPut, f.failSync = get, put, sync
	f.mu.Unlock()
}

// failing returns errDisk while the operation whose flag is given fails.
func (f *failingDS) failing(flag *bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *flag {
		return errDisk
	}
	return nil
}

func (f *failingDS) Get(ctx context.Context, k datastore.Key) ([]byte, error) {
	if err := f.failing(&f.failGet); err != nil {
		return nil, err
	}
	return f.Datastore.Get(ctx, k)
}

func (f *failingDS) Put(ctx context.Context, k datastore.Key, v []byte) error {
	if err := f.failing(&f.failPut); err != nil {
		return err
	}
	return f.Datastore.Put(ctx, k, v)
}

func (f *failingDS) Delete(ctx context.Context, k datastore.Key) error {
	if err := f.failing(&f.failDeletes); err != nil {
		return err
	}
	return f.Datastore.Delete(ctx, k)
}

func (f *failingDS) Sync(ctx context.Context, k datastore.Key) error {
	if err := f.failing(&f.failSync); err != nil {
		return err
	}
	return f.Datastore.Sync(ctx, k)
}

// A datastore that fails: Save says which writes failed, the periodic
// writes log it and try again at the next interval, and succeed once the
// datastore does; Load says what it could not read and loads the rest.
func TestStoreDatastoreFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		fds := &failingDS{Datastore: dssync.MutexWrap(datastore.NewMapDatastore())}
		var logs pkgtest.LogBuffer
		s, g := newScorer(t), ban.NewGater()
		offend(s, "bad", 2)
		st, err := dsstore.New(fds, s, g, dsstore.WithInterval(time.Second), dsstore.WithLogger(logs.Logger()))
		require.NoError(t, err)

		fds.set(false, true, true)
		err = st.Save(ctx)
		require.ErrorIs(t, err, errDisk)
		require.Contains(t, err.Error(), "peerscore/dsstore: save scores: disk on fire")
		require.Contains(t, err.Error(), "save bans: disk on fire")
		require.Contains(t, err.Error(), "sync /peerscore: disk on fire")
		require.Equal(t, 1, strings.Count(err.Error(), "peerscore/dsstore"))

		st.Start(ctx)
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		require.Equal(t, 3, strings.Count(logs.String(), `level=WARN msg="cannot write peer state to the datastore`))
		fds.set(false, false, false)
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, 3, strings.Count(logs.String(), "level=WARN"), "the write succeeded")
		require.NoError(t, st.Close())

		fds.set(true, false, false)
		s2 := newScorer(t)
		st2, err := dsstore.New(fds, s2, ban.NewGater(), quiet)
		require.NoError(t, err)
		err = st2.Load(ctx)
		require.ErrorIs(t, err, errDisk)
		require.Contains(t, err.Error(), "peerscore/dsstore: load scores: disk on fire")
		require.Contains(t, err.Error(), "peerscore/dsstore: load bans: disk on fire")
		fds.set(false, false, false)
		require.NoError(t, st2.Load(ctx))
		require.Equal(t, -4.0, s2.Score("bad"))
	})
}

// A damaged value is logged at error level, copied to the damaged key and
// taken off its own; the other kind loads all the same, and Load's error
// says what was skipped. The next start finds nothing to trip on.
func TestStoreLoadDamaged(t *testing.T) {
	ctx := context.Background()
	for _, damage := range []struct {
		name string
		bad  func([]byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("garbage") }},
		{"empty", func([]byte) []byte { return []byte{} }},
		{"truncated", func(v []byte) []byte { return v[:len(v)/2] }},
		{"bit flip", func(v []byte) []byte { v = bytes.Clone(v); v[len(v)/3] ^= 4; return v }},
		{"the other kind's value", nil},
	} {
		for _, which := range []string{"scores", "bans"} {
			t.Run(damage.name+"/"+which, func(t *testing.T) {
				ds := datastore.NewMapDatastore()
				s, g := newScorer(t), ban.NewGater()
				offend(s, "bad", 2)
				g.Ban("bad", time.Now().Add(time.Hour))
				st, err := dsstore.New(ds, s, g)
				require.NoError(t, err)
				require.NoError(t, st.Save(ctx))
				key := datastore.NewKey("/peerscore/" + which)
				good, err := ds.Get(ctx, key)
				require.NoError(t, err)
				bad := []byte(nil)
				if damage.bad != nil {
					bad = damage.bad(good)
				} else {
					other := map[string]string{"scores": "bans", "bans": "scores"}[which]
					bad, err = ds.Get(ctx, datastore.NewKey("/peerscore/"+other))
					require.NoError(t, err)
				}
				require.NoError(t, ds.Put(ctx, key, bad))

				var logs pkgtest.LogBuffer
				s2, g2 := newScorer(t), ban.NewGater()
				st2, err := dsstore.New(ds, s2, g2, dsstore.WithLogger(logs.Logger()))
				require.NoError(t, err)
				err = st2.Load(ctx)
				require.Error(t, err)
				invalid := map[string]error{"scores": peerscore.ErrInvalidState, "bans": ban.ErrInvalidState}[which]
				require.ErrorIs(t, err, invalid)
				require.Contains(t, err.Error(), "moved to /peerscore/damaged/"+which)
				require.Contains(t, logs.String(), `level=ERROR msg="saved state in the datastore is invalid; moved aside, starting without it" kind=`+which)

				_, scored := s2.Snapshot("bad")
				_, banned := g2.Banned("bad")
				require.Equal(t, which != "scores", scored, "scores loaded")
				require.Equal(t, which != "bans", banned, "bans loaded")
				aside, err := ds.Get(ctx, datastore.NewKey("/peerscore/damaged/"+which))
				require.NoError(t, err)
				require.Equal(t, bad, aside)
				_, err = ds.Get(ctx, key)
				require.ErrorIs(t, err, datastore.ErrNotFound)

				// The next start loads what there is, without an error.
				st3, err := dsstore.New(ds, newScorer(t), ban.NewGater())
				require.NoError(t, err)
				require.NoError(t, st3.Load(ctx))
			})
		}
	}
}

// If the damaged value cannot be moved aside, Load says so and still
// loads nothing from it.
func TestStoreLoadDamagedNotMoved(t *testing.T) {
	ctx := context.Background()
	fds := &failingDS{Datastore: datastore.NewMapDatastore()}
	require.NoError(t, fds.Put(ctx, datastore.NewKey("/peerscore/bans"), []byte("garbage")))
	fds.failDeletes = true
	g := ban.NewGater()
	st, err := dsstore.New(fds, nil, g, quiet)
	require.NoError(t, err)
	err = st.Load(ctx)
	require.ErrorIs(t, err, ban.ErrInvalidState)
	require.Contains(t, err.Error(), "not moved aside: disk on fire")
	require.Empty(t, g.Bans())
}

// An empty datastore is a first start: nothing loaded, no error, nothing
// written.
func TestStoreLoadEmpty(t *testing.T) {
	ds := datastore.NewMapDatastore()
	s, g := newScorer(t), ban.NewGater()
	st, err := dsstore.New(ds, s, g)
	require.NoError(t, err)
	require.NoError(t, st.Load(context.Background()))
	require.Empty(t, keys(t, ds))
	require.Zero(t, s.Stats().Peers)
	require.Empty(t, g.Bans())
}

// The Store keeps to its prefix and to the kinds it was given.
func TestStorePrefixAndKinds(t *testing.T) {
	ctx := context.Background()
	ds := datastore.NewMapDatastore()
	require.NoError(t, ds.Put(ctx, datastore.NewKey("/node/peerscorex"), []byte("other")))
	s, g := newScorer(t), ban.NewGater()
	offend(s, "bad", 1)
	g.Ban("bad", time.Now().Add(time.Hour))

	st, err := dsstore.New(ds, s, g, dsstore.WithPrefix("node/peerscore/"))
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx))
	require.ElementsMatch(t, []string{"/node/peerscorex", "/node/peerscore/scores", "/node/peerscore/bans"}, keys(t, ds))

	onlyBans := datastore.NewMapDatastore()
	st, err = dsstore.New(onlyBans, nil, g)
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx))
	require.Equal(t, []string{"/peerscore/bans"}, keys(t, onlyBans))

	onlyScores := datastore.NewMapDatastore()
	st, err = dsstore.New(onlyScores, s, nil, dsstore.WithPrefix("/"))
	require.NoError(t, err)
	require.NoError(t, st.Save(ctx))
	require.Equal(t, []string{"/scores"}, keys(t, onlyScores))
}

// Missing arguments and invalid options are refused, naming them; nil
// options are skipped.
func TestNewRejects(t *testing.T) {
	ds := datastore.NewMapDatastore()
	s, g := newScorer(t), ban.NewGater()
	for _, tc := range []struct {
		name string
		ds   datastore.Datastore
		s    *peerscore.Scorer
		g    *ban.Gater
		opt  dsstore.Option
		want string
	}{
		{name: "nil datastore", s: s, g: g, want: "peerscore/dsstore: New: nil datastore"},
		{name: "nothing to keep", ds: ds, want: "peerscore/dsstore: New: nothing to keep: no Scorer, Gater or Reputation (WithReputation)"},
		{name: "nil reputation", ds: ds, s: s, opt: dsstore.WithReputation(nil), want: "peerscore/dsstore: WithReputation: nil Reputation"},
		{name: "zero interval", ds: ds, s: s, opt: dsstore.WithInterval(0), want: "peerscore/dsstore: WithInterval: 0s is not positive"},
		{name: "negative interval", ds: ds, s: s, opt: dsstore.WithInterval(-time.Second), want: "peerscore/dsstore: WithInterval: -1s is not positive"},
		{name: "empty prefix", ds: ds, g: g, opt: dsstore.WithPrefix(" "), want: "peerscore/dsstore: WithPrefix: empty prefix"},
		{name: "nil logger", ds: ds, g: g, opt: dsstore.WithLogger(nil), want: "peerscore/dsstore: WithLogger: nil logger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := dsstore.New(tc.ds, tc.s, tc.g, tc.opt)
			require.EqualError(t, err, tc.want)
			require.Nil(t, st)
		})
	}
	st, err := dsstore.New(ds, s, g, nil, dsstore.WithPrefix("/x"), nil)
	require.NoError(t, err)
	require.NoError(t, st.Save(context.Background()))
	require.ElementsMatch(t, []string{"/x/scores", "/x/bans"}, keys(t, ds))
}

// The defect: one failed read at Load, an I/O timeout say, and the next
// write put the empty state in memory over the good saved one (20 bans
// became 0, and 20 retained scores 0). A kind whose saved value could not
// be read is not written until a read of it succeeds: each Save tries the
// read again first, and once it succeeds merges what was saved into the
// Scorer and the Gater, then writes both, the saved state and what
// happened since.
func TestStoreKeepsStateItCouldNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		fds := &failingDS{Datastore: dssync.MutexWrap(datastore.NewMapDatastore())}
		s, g := newScorer(t), ban.NewGater()
		for i := range 20 {
			p := peer.ID(fmt.Sprintf("offender-%02d", i))
			offend(s, p, 2)
			g.Ban(p, time.Now().Add(time.Hour))
		}
		first, err := dsstore.New(fds, s, g)
		require.NoError(t, err)
		require.NoError(t, first.Save(ctx))
		savedScores, err := fds.Datastore.Get(ctx, datastore.NewKey("/peerscore/scores"))
		require.NoError(t, err)
		savedBans, err := fds.Datastore.Get(ctx, datastore.NewKey("/peerscore/bans"))
		require.NoError(t, err)

		// The restart: the read fails once; the node carries on.
		var logs pkgtest.LogBuffer
		s2, g2 := newScorer(t), ban.NewGater()
		st, err := dsstore.New(fds, s2, g2, dsstore.WithInterval(time.Second), dsstore.WithLogger(logs.Logger()))
		require.NoError(t, err)
		fds.set(true, false, false)
		require.ErrorIs(t, st.Load(ctx), errDisk)
		offend(s2, "newcomer", 3)
		g2.Ban("newcomer", time.Now().Add(time.Hour))

		// Writes while the value still cannot be read leave it alone.
		st.Start(ctx)
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		for key, want := range map[string][]byte{"/peerscore/scores": savedScores, "/peerscore/bans": savedBans} {
			got, err := fds.Datastore.Get(ctx, datastore.NewKey(key))
			require.NoError(t, err)
			require.Equal(t, want, got, "%s overwritten before it was read", key)
		}
		require.Contains(t, logs.String(), "could not be read")

		// The datastore recovers: the next write reads first, then writes
		// the saved state with the newcomer.
		fds.set(false, false, false)
		time.Sleep(time.Second)
		synctest.Wait()
		require.NoError(t, st.Close())
		require.Equal(t, -4.0, s2.Score("offender-07"), "merged into the running scorer")

		s3, g3 := newScorer(t), ban.NewGater()
		back, err := dsstore.New(fds, s3, g3)
		require.NoError(t, err)
		require.NoError(t, back.Load(ctx))
		require.Len(t, g3.Bans(), 21)
		require.Equal(t, 21, s3.Stats().Retained)
		require.Equal(t, -4.0, s3.Score("offender-19"))
		require.Equal(t, -9.0, s3.Score("newcomer"))
	})
}

// The defect: after a restart, a peer reported Fatal scored 0, as the
// Reputation kept nothing. With WithReputation the Store keeps it beside
// the scores and bans, and a restarted node holds the peer where it was
// (decayed over the time it was down); a Reputation alone is enough to
// keep.
func TestStoreKeepsReputation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		ds := datastore.NewMapDatastore()
		rep, err := reputation.New(reputation.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		rep.Report("liar", reputation.Fatal, "wrong network")
		st, err := dsstore.New(ds, newScorer(t), ban.NewGater(), dsstore.WithReputation(rep))
		require.NoError(t, err)
		require.NoError(t, st.Load(ctx))
		require.NoError(t, st.Close())
		require.Contains(t, keys(t, ds), "/peerscore/reputation")

		time.Sleep(time.Minute) // the restart
		back, err := reputation.New(reputation.WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		st, err = dsstore.New(ds, nil, nil, dsstore.WithReputation(back))
		require.NoError(t, err)
		require.NoError(t, st.Load(ctx))
		require.InDelta(t, -100*math.Exp2(-0.1), back.Score("liar"), 1e-9)
		require.Equal(t, []string{"wrong network (fatal)"}, back.Reasons("liar"))
	})
}
