package peerscore_test

// Saving retained scores and loading them into a new Scorer (persist.go:
// Save, Load): who is saved, who is restored and as what. The file format
// is in persist_format_test.go, SaveFile and LoadFile in
// persist_file_test.go, the size limits in persist_limits_test.go.

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// persistSameRetained checks that got, a restored peer, is want, the
// original peer retained at the same instant: same counters, same parts,
// same score to the bit, same end of retention.
func persistSameRetained(t testing.TB, p peer.ID, want, got peerscore.Snapshot) {
	t.Helper()
	require.Falsef(t, got.Connected, "%s restored as retained", p)
	require.Falsef(t, want.RetainedUntil.IsZero(), "%s: the reference is retained", p)
	require.Truef(t, want.RetainedUntil.Equal(got.RetainedUntil),
		"%s: RetainedUntil %v, want %v", p, got.RetainedUntil, want.RetainedUntil)
	want.RetainedUntil, got.RetainedUntil = time.Time{}, time.Time{}
	require.Equalf(t, want, got, "%s: restored snapshot", p)
}

// TestPersistBadPeerSurvivesRestart is the scenario: a bad peer's
// negative score is saved, the node goes down for ten minutes, and a new
// Scorer that loads the file has the peer retained with exactly the score
// and counters the old one would have kept for it, P3b charged and P2 dropped
// as on a disconnect. Saving changes nothing in the live scorer. The peer
// reconnecting resumes its counters.
func TestPersistBadPeerSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		s1 := scoretest.New(t, params)
		scoretest.Connect(s1, "bad", "twin", "good")
		// bad and twin share an address: P6 = -(2-1)² each.
		peerscore.SetIPsForTest(s1, "bad", []string{"192.0.2.1"})
		peerscore.SetIPsForTest(s1, "twin", []string{"192.0.2.1"})

		// bad: in T's mesh long enough for P3 to apply, one first
		// delivery (credit that a disconnect drops), three invalid
		// messages in T and one in U, two behaviour penalties.
		s1.Tracer().Graft("bad", "T")
		scoretest.DeliverN(s1, "T", "b", "bad", 1)
		time.Sleep(1500 * time.Millisecond)
		s1.Refresh()
		scoretest.RejectN(s1, "T", "x", "bad", 3)
		scoretest.RejectN(s1, "U", "y", "bad", 1)
		s1.AddPenalty("bad", 2)
		scoretest.DeliverN(s1, "T", "g", "good", 5)
		require.Greater(t, s1.Score("good"), 0.0)
		require.Less(t, s1.Score("bad"), -10.0)

		before := s1.Snapshots()
		statsBefore := s1.Stats()
		saved := scoretest.Save(t, s1)
		require.Equal(t, before, s1.Snapshots(), "Save changes no live state")
		require.Equal(t, statsBefore, s1.Stats(), "Save charges nothing")
		require.True(t, bytes.HasPrefix(saved, []byte("peerscore-state v1\n")))

		// The reference: the same peers disconnecting at the same instant.
		t0 := time.Now()
		for _, p := range []peer.ID{"bad", "twin", "good"} {
			s1.Tracer().OnClosedOutboundStream(p)
		}
		wantBad, wantTwin := scoretest.Snap(t, s1, "bad"), scoretest.Snap(t, s1, "twin")
		require.True(t, wantBad.RetainedUntil.Equal(t0.Add(time.Hour)))
		require.Greater(t, wantBad.Topics["T"].MeshFailurePenalty, 0.0, "the mesh deficit became P3b")
		require.Equal(t, 0.0, wantBad.Topics["T"].FirstMessageDeliveries)
		require.Less(t, wantBad.Score, -10.0)
		require.Equal(t, -1.0, wantTwin.Score, "twin is retained for its P6 alone")

		// Ten minutes down. The old scorer keeps its retained peers frozen.
		time.Sleep(10 * time.Minute)
		s1.Refresh()
		require.Equal(t, wantBad.Score, s1.Score("bad"))

		s2 := scoretest.New(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		persistSameRetained(t, "bad", wantBad, scoretest.Snap(t, s2, "bad"))
		persistSameRetained(t, "twin", wantTwin, scoretest.Snap(t, s2, "twin"))
		require.Equal(t, wantBad.Score, s2.Score("bad"), "Score agrees with Snapshot")
		require.Equal(t, []string{"192.0.2.1"}, scoretest.Snap(t, s2, "bad").IPs)
		scoretest.RequireUnknown(t, s2, "good")
		require.Len(t, s2.Snapshots(), 2)
		st := s2.Stats()
		require.Equal(t, 2, st.Retained)
		for r, n := range st.Penalties {
			require.Zerof(t, n, "loading charges nothing (%s)", r)
		}

		// Retained peers do not decay in the new scorer either.
		s2.Refresh()
		require.Equal(t, wantBad.Score, s2.Score("bad"))

		// bad reconnects: its counters resume (without a host it has no
		// address now, so twin's P6 goes and bad's too), and decay again.
		s2.Tracer().OnNewOutboundStream("bad", "/meshsub/1.1.0")
		snap := scoretest.Snap(t, s2, "bad")
		require.True(t, snap.Connected)
		require.Equal(t, wantBad.Topics, snap.Topics)
		require.Equal(t, wantBad.BehaviourPenalty, snap.BehaviourPenalty)
		require.InDelta(t, wantBad.Score+1, snap.Score, 1e-9)
		require.Less(t, snap.Score, -10.0)
		require.Equal(t, 0.0, s2.Score("twin"))
		time.Sleep(time.Second)
		s2.Refresh()
		require.Less(t, s2.Score("bad"), 0.0)
		require.Greater(t, s2.Score("bad"), snap.Score, "decaying again once connected")
	})
}

// TestPersistWhoIsSaved checks that exactly the peers that would be
// retained on disconnect are saved: not positive ones; zero ones and those
// made negative by P5 alone yes; retained ones whatever their score.
func TestPersistWhoIsSaved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, scoretest.AppScores(map[peer.ID]float64{"shunned": -100}))
		s1 := scoretest.New(t, params)
		scoretest.Connect(s1, "good", "zero", "shunned", "gone")
		scoretest.DeliverN(s1, "T", "g", "good", 3)
		scoretest.DeliverN(s1, "T", "s", "shunned", 3) // +3, but P5 is -100
		scoretest.RejectN(s1, "U", "x", "gone", 1)
		s1.Tracer().OnClosedOutboundStream("gone")

		saved := scoretest.Save(t, s1)
		require.NotContains(t, string(saved), peer.ID("good").String())

		s2 := scoretest.New(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		scoretest.RequireUnknown(t, s2, "good")
		require.Equal(t, 0.0, scoretest.Snap(t, s2, "zero").Score)
		shunned := scoretest.Snap(t, s2, "shunned")
		require.Equal(t, 0.0, shunned.Topics["T"].FirstMessageDeliveries, "P2 credit is dropped")
		require.Equal(t, -100.0, shunned.Score)
		require.Equal(t, -1.0, s2.Score("gone"))
		for _, p := range []peer.ID{"zero", "shunned", "gone"} {
			require.False(t, scoretest.Snap(t, s2, p).Connected)
		}

		// An empty scorer saves a valid, empty state.
		empty := scoretest.Save(t, scoretest.New(t, params))
		s3 := scoretest.New(t, params)
		require.NoError(t, s3.Load(bytes.NewReader(empty)))
		require.Empty(t, s3.Snapshots())
	})
}

// TestPersistExpiredNotRestored checks that a peer whose retention ended
// while the node was down is not restored, that one ending later is, and
// that a new RetainScore shorter than the saved one bounds the retention.
func TestPersistExpiredNotRestored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := scoretest.StateParams(time.Hour, nil)
		s1 := scoretest.New(t, params)
		s1.Tracer().OnNewOutboundStream("early", "/meshsub/1.1.0")
		s1.Tracer().OnNewOutboundStream("late", "/meshsub/1.1.0")
		scoretest.RejectN(s1, "U", "e", "early", 1)
		scoretest.RejectN(s1, "U", "l", "late", 1)
		s1.Tracer().OnClosedOutboundStream("early") // retained until t0+1h
		time.Sleep(30 * time.Minute)
		t1 := time.Now()
		saved := scoretest.Save(t, s1) // late: until t1+1h = t0+1h30m

		// Down for 45 minutes: early's retention has ended, late's not.
		time.Sleep(45 * time.Minute)
		s2 := scoretest.New(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		scoretest.RequireUnknown(t, s2, "early")
		late := scoretest.Snap(t, s2, "late")
		require.True(t, late.RetainedUntil.Equal(t1.Add(time.Hour)))
		require.Equal(t, -1.0, late.Score)

		// A RetainScore of 5 minutes now: late is kept 5 minutes, no more.
		short := scoretest.StateParams(5*time.Minute, nil)
		s3 := scoretest.New(t, short)
		require.NoError(t, s3.Load(bytes.NewReader(saved)))
		require.True(t, scoretest.Snap(t, s3, "late").RetainedUntil.Equal(time.Now().Add(5*time.Minute)))

		// It is forgotten by the first Refresh after its retention, as
		// any retained peer.
		time.Sleep(15 * time.Minute)
		s2.Refresh()
		require.Equal(t, -1.0, s2.Score("late"), "at exactly its expiry it is kept")
		time.Sleep(time.Nanosecond)
		s2.Refresh()
		scoretest.RequireUnknown(t, s2, "late")

		// Down past everyone's retention: nothing is restored.
		s4 := scoretest.New(t, params)
		require.NoError(t, s4.Load(bytes.NewReader(saved)))
		require.Empty(t, s4.Snapshots())
	})
}

// TestPersistPeerIDs checks that peer IDs of every shape survive: real
// ones, ones with leading zero bytes (base58 '1's), arbitrary bytes.
func TestPersistPeerIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, pub, err := crypto.GenerateEd25519Key(nil)
		require.NoError(t, err)
		real, err := peer.IDFromPublicKey(pub)
		require.NoError(t, err)
		ids := []peer.ID{real, "\x00\x00zero", "\x00", "\xff\xfe\x00binary", "x"}
		params := scoretest.StateParams(time.Hour, nil)
		s1 := scoretest.New(t, params)
		for i, p := range ids {
			s1.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			scoretest.RejectN(s1, "U", fmt.Sprint(i), p, i+1)
		}
		saved := scoretest.Save(t, s1)
		require.Contains(t, string(saved), real.String())
		s2 := scoretest.New(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		for i, p := range ids {
			n := float64(i + 1)
			require.Equalf(t, -n*n, s2.Score(p), "peer %q", string(p))
		}
		require.Len(t, s2.Snapshots(), len(ids))
	})
}

// TestPersistConcurrent saves and loads while events are applied, scores
// read and the maintenance step runs, for the race detector; every state
// saved along the way must load.
func TestPersistConcurrent(t *testing.T) {
	params := scoretest.StateParams(time.Hour, func(p peer.ID) float64 {
		if strings.HasSuffix(string(p), "3") {
			return -1
		}
		return 0
	})
	s := scoretest.New(t, params)
	s.Tracer().OnNewOutboundStream("seed", "/meshsub/1.1.0")
	scoretest.RejectN(s, "T", "seed", "seed", 1)
	seed := scoretest.Save(t, s)

	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				p := peer.ID(fmt.Sprintf("p%d-%d", w, i%7))
				s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
				s.Tracer().Graft(p, "T")
				scoretest.DeliverN(s, "T", fmt.Sprintf("d%d-%d", w, i), p, 1)
				scoretest.RejectN(s, "T", fmt.Sprintf("r%d-%d", w, i), p, 1)
				if i%3 == 0 {
					s.Tracer().Prune(p, "T")
					s.AddPenalty(p, 1)
				}
				if i%5 == 0 {
					s.Tracer().OnClosedOutboundStream(p)
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			var buf bytes.Buffer
			if err := s.Save(&buf); err != nil {
				t.Error(err)
				return
			}
			fresh, err := peerscore.New(params)
			if err != nil {
				t.Error(err)
				return
			}
			if err := fresh.Load(&buf); err != nil {
				t.Error(err)
				return
			}
			for p, snap := range fresh.Snapshots() {
				if snap.Connected || math.IsNaN(snap.Score) {
					t.Errorf("restored %s: connected %v, score %v", p, snap.Connected, snap.Score)
				}
			}
		}
	})
	wg.Go(func() {
		for range rounds {
			if err := s.Load(bytes.NewReader(seed)); err != nil {
				t.Error(err)
				return
			}
			s.Refresh()
		}
	})
	wg.Go(func() {
		for i := range rounds * 10 {
			_ = s.Score(peer.ID(fmt.Sprintf("p%d-%d", i%workers, i%7)))
		}
	})
	wg.Wait()
	require.NoError(t, s.SaveFile(filepath.Join(t.TempDir(), "state")))
}
