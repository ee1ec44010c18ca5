package peerscore_test

// Saving retained scores and loading them into a new Scorer: Save, Load,
// SaveFile, LoadFile. Every helper here starts with "persist" so that it
// cannot collide with helpers of other test files in this package.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// persistParams scores, in topic T: P2 (weight 1, cap 100), P3 (weight -1,
// threshold 4, cap 10, activation 1s), P3b (weight -1) and P4 (weight -2);
// in topic U: P4 (weight -1). P6 has weight -1 above one peer per address,
// P7 weight -1 above 0. Every counter halves at each Refresh. Peers are
// retained for retain; app, if not nil, is P5 with weight 1.
func persistParams(retain time.Duration, app func(peer.ID) float64) *peerscore.Params {
	return &peerscore.Params{
		SkipAtomicValidation: true,
		Topics: map[string]*peerscore.TopicParams{
			"T": {
				SkipAtomicValidation:            true,
				TopicWeight:                     1,
				FirstMessageDeliveriesWeight:    1,
				FirstMessageDeliveriesDecay:     0.5,
				FirstMessageDeliveriesCap:       100,
				MeshMessageDeliveriesWeight:     -1,
				MeshMessageDeliveriesDecay:      0.5,
				MeshMessageDeliveriesCap:        10,
				MeshMessageDeliveriesThreshold:  4,
				MeshMessageDeliveriesActivation: time.Second,
				MeshMessageDeliveriesWindow:     10 * time.Millisecond,
				MeshFailurePenaltyWeight:        -1,
				MeshFailurePenaltyDecay:         0.5,
				InvalidMessageDeliveriesWeight:  -2,
				InvalidMessageDeliveriesDecay:   0.5,
			},
			"U": {
				SkipAtomicValidation:           true,
				TopicWeight:                    1,
				InvalidMessageDeliveriesWeight: -1,
				InvalidMessageDeliveriesDecay:  0.5,
			},
		},
		AppSpecificScore:            app,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -1,
		IPColocationFactorThreshold: 1,
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   0,
		BehaviourPenaltyDecay:       0.5,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 retain,
	}
}

func persistNew(t testing.TB, p *peerscore.Params) *peerscore.Scorer {
	t.Helper()
	s, err := peerscore.New(p)
	require.NoError(t, err)
	return s
}

func persistMsg(topic, id string, from peer.ID) *pubsub.Message {
	tp := topic
	return &pubsub.Message{
		Message:      &pb.Message{Topic: &tp, From: []byte("author"), Seqno: []byte(id), Data: []byte(id)},
		ID:           id,
		ReceivedFrom: from,
	}
}

// persistReject has from send n invalid messages on topic.
func persistReject(s *peerscore.Scorer, topic, prefix string, from peer.ID, n int) {
	for i := range n {
		m := persistMsg(topic, fmt.Sprintf("%s-%d", prefix, i), from)
		s.Tracer().ValidateMessage(m)
		s.Tracer().RejectMessage(m, pubsub.RejectValidationFailed)
	}
}

// persistDeliver has from be first to deliver n valid messages on topic.
func persistDeliver(s *peerscore.Scorer, topic, prefix string, from peer.ID, n int) {
	for i := range n {
		m := persistMsg(topic, fmt.Sprintf("%s-%d", prefix, i), from)
		s.Tracer().ValidateMessage(m)
		s.Tracer().DeliverMessage(m)
	}
}

func persistSave(t testing.TB, s *peerscore.Scorer) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	return buf.Bytes()
}

func persistSnap(t testing.TB, s *peerscore.Scorer, p peer.ID) peerscore.Snapshot {
	t.Helper()
	snap, ok := s.Snapshot(p)
	require.Truef(t, ok, "peer %s should be known", p)
	return snap
}

func persistUnknown(t testing.TB, s *peerscore.Scorer, p peer.ID) {
	t.Helper()
	_, ok := s.Snapshot(p)
	require.Falsef(t, ok, "peer %s should be unknown", p)
	require.Equal(t, 0.0, s.Score(p))
}

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

// persistSeal wraps a JSON body in a version-1 header and a valid checksum,
// to build files that pass the integrity check but not the content check.
func persistSeal(version, body string) []byte {
	covered := "peerscore-state " + version + "\n" + body + "\n"
	sum := sha256.Sum256([]byte(covered))
	return []byte(covered + "sha256 " + hex.EncodeToString(sum[:]) + "\n")
}

// TestPersistBadPeerSurvivesRestart is the scenario: a bad peer's
// negative score is saved, the node goes down for ten minutes, and a new
// Scorer that loads the file has the peer retained with exactly the score
// and counters the old one would have kept for it, P3b charged and P2 dropped
// as on a disconnect. Saving changes nothing in the live scorer. The peer
// reconnecting resumes its counters.
func TestPersistBadPeerSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := persistParams(time.Hour, nil)
		s1 := persistNew(t, params)
		for _, p := range []peer.ID{"bad", "twin", "good"} {
			s1.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		}
		// bad and twin share an address: P6 = -(2-1)² each.
		peerscore.SetIPsForTest(s1, "bad", []string{"192.0.2.1"})
		peerscore.SetIPsForTest(s1, "twin", []string{"192.0.2.1"})

		// bad: in T's mesh long enough for P3 to apply, one first
		// delivery (credit that a disconnect drops), three invalid
		// messages in T and one in U, two behaviour penalties.
		s1.Tracer().Graft("bad", "T")
		persistDeliver(s1, "T", "b", "bad", 1)
		time.Sleep(1500 * time.Millisecond)
		s1.Refresh()
		persistReject(s1, "T", "x", "bad", 3)
		persistReject(s1, "U", "y", "bad", 1)
		s1.AddPenalty("bad", 2)
		persistDeliver(s1, "T", "g", "good", 5)
		require.Greater(t, s1.Score("good"), 0.0)
		require.Less(t, s1.Score("bad"), -10.0)

		before := s1.Snapshots()
		statsBefore := s1.Stats()
		saved := persistSave(t, s1)
		require.Equal(t, before, s1.Snapshots(), "Save changes no live state")
		require.Equal(t, statsBefore, s1.Stats(), "Save charges nothing")
		require.True(t, bytes.HasPrefix(saved, []byte("peerscore-state v1\n")))

		// The reference: the same peers disconnecting at the same instant.
		t0 := time.Now()
		for _, p := range []peer.ID{"bad", "twin", "good"} {
			s1.Tracer().OnClosedOutboundStream(p)
		}
		wantBad, wantTwin := persistSnap(t, s1, "bad"), persistSnap(t, s1, "twin")
		require.True(t, wantBad.RetainedUntil.Equal(t0.Add(time.Hour)))
		require.Greater(t, wantBad.Topics["T"].MeshFailurePenalty, 0.0, "the mesh deficit became P3b")
		require.Equal(t, 0.0, wantBad.Topics["T"].FirstMessageDeliveries)
		require.Less(t, wantBad.Score, -10.0)
		require.Equal(t, -1.0, wantTwin.Score, "twin is retained for its P6 alone")

		// Ten minutes down. The old scorer keeps its retained peers frozen.
		time.Sleep(10 * time.Minute)
		s1.Refresh()
		require.Equal(t, wantBad.Score, s1.Score("bad"))

		s2 := persistNew(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		persistSameRetained(t, "bad", wantBad, persistSnap(t, s2, "bad"))
		persistSameRetained(t, "twin", wantTwin, persistSnap(t, s2, "twin"))
		require.Equal(t, wantBad.Score, s2.Score("bad"), "Score agrees with Snapshot")
		require.Equal(t, []string{"192.0.2.1"}, persistSnap(t, s2, "bad").IPs)
		persistUnknown(t, s2, "good")
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
		snap := persistSnap(t, s2, "bad")
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
		app := func(p peer.ID) float64 {
			if p == "shunned" {
				return -100
			}
			return 0
		}
		params := persistParams(time.Hour, app)
		s1 := persistNew(t, params)
		for _, p := range []peer.ID{"good", "zero", "shunned", "gone"} {
			s1.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
		}
		persistDeliver(s1, "T", "g", "good", 3)
		persistDeliver(s1, "T", "s", "shunned", 3) // +3, but P5 is -100
		persistReject(s1, "U", "x", "gone", 1)
		s1.Tracer().OnClosedOutboundStream("gone")

		saved := persistSave(t, s1)
		require.NotContains(t, string(saved), peer.ID("good").String())

		s2 := persistNew(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		persistUnknown(t, s2, "good")
		require.Equal(t, 0.0, persistSnap(t, s2, "zero").Score)
		shunned := persistSnap(t, s2, "shunned")
		require.Equal(t, 0.0, shunned.Topics["T"].FirstMessageDeliveries, "P2 credit is dropped")
		require.Equal(t, -100.0, shunned.Score)
		require.Equal(t, -1.0, s2.Score("gone"))
		for _, p := range []peer.ID{"zero", "shunned", "gone"} {
			require.False(t, persistSnap(t, s2, p).Connected)
		}

		// An empty scorer saves a valid, empty state.
		empty := persistSave(t, persistNew(t, params))
		s3 := persistNew(t, params)
		require.NoError(t, s3.Load(bytes.NewReader(empty)))
		require.Empty(t, s3.Snapshots())
	})
}

// TestPersistExpiredNotRestored checks that a peer whose retention ended
// while the node was down is not restored, that one ending later is, and
// that a new RetainScore shorter than the saved one bounds the retention.
func TestPersistExpiredNotRestored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := persistParams(time.Hour, nil)
		s1 := persistNew(t, params)
		s1.Tracer().OnNewOutboundStream("early", "/meshsub/1.1.0")
		s1.Tracer().OnNewOutboundStream("late", "/meshsub/1.1.0")
		persistReject(s1, "U", "e", "early", 1)
		persistReject(s1, "U", "l", "late", 1)
		s1.Tracer().OnClosedOutboundStream("early") // retained until t0+1h
		time.Sleep(30 * time.Minute)
		t1 := time.Now()
		saved := persistSave(t, s1) // late: until t1+1h = t0+1h30m

		// Down for 45 minutes: early's retention has ended, late's not.
		time.Sleep(45 * time.Minute)
		s2 := persistNew(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		persistUnknown(t, s2, "early")
		late := persistSnap(t, s2, "late")
		require.True(t, late.RetainedUntil.Equal(t1.Add(time.Hour)))
		require.Equal(t, -1.0, late.Score)

		// A RetainScore of 5 minutes now: late is kept 5 minutes, no more.
		short := persistParams(5*time.Minute, nil)
		s3 := persistNew(t, short)
		require.NoError(t, s3.Load(bytes.NewReader(saved)))
		require.True(t, persistSnap(t, s3, "late").RetainedUntil.Equal(time.Now().Add(5*time.Minute)))

		// It is forgotten by the first Refresh after its retention, as
		// any retained peer.
		time.Sleep(15 * time.Minute)
		s2.Refresh()
		require.Equal(t, -1.0, s2.Score("late"), "at exactly its expiry it is kept")
		time.Sleep(time.Nanosecond)
		s2.Refresh()
		persistUnknown(t, s2, "late")

		// Down past everyone's retention: nothing is restored.
		s4 := persistNew(t, params)
		require.NoError(t, s4.Load(bytes.NewReader(saved)))
		require.Empty(t, s4.Snapshots())
	})
}

// TestPersistLoadMeetsCurrentParams checks that saved counters meet the new
// scorer's parameters: unscored topics dropped, caps applied, current
// weights used; and that a peer the scorer already knows keeps its live
// state.
func TestPersistLoadMeetsCurrentParams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := persistParams(time.Hour, nil)
		params.Topics["T"].FirstMessageDeliveriesCap = 10
		params.Topics["T"].MeshMessageDeliveriesCap = 5
		s := persistNew(t, params)
		s.Tracer().OnNewOutboundStream("live", "/meshsub/1.1.0")
		persistDeliver(s, "T", "l", "live", 2)
		liveBefore := persistSnap(t, s, "live")

		expires := time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)
		body := fmt.Sprintf(`{"saved_at":"2000-01-01T00:00:00Z","peers":[`+
			`{"id":%q,"expires":%q,"topics":[`+
			`{"topic":"gone","first_message_deliveries":1,"mesh_message_deliveries":1,"mesh_failure_penalty":1,"invalid_message_deliveries":9},`+
			`{"topic":"T","first_message_deliveries":50,"mesh_message_deliveries":8,"mesh_failure_penalty":2,"invalid_message_deliveries":1}],`+
			`"behaviour_penalty":3,"slow_peer":4,"ips":["::ffff:192.0.2.7"]},`+
			`{"id":%q,"expires":%q,"behaviour_penalty":5}]}`,
			peer.ID("odd").String(), expires, peer.ID("live").String(), expires)
		require.NoError(t, s.Load(bytes.NewReader(persistSeal("v1", body))))

		snap := persistSnap(t, s, "odd")
		require.Len(t, snap.Topics, 1, "topic gone is not scored")
		ts := snap.Topics["T"]
		require.Equal(t, 10.0, ts.FirstMessageDeliveries, "capped at 10")
		require.Equal(t, 5.0, ts.MeshMessageDeliveries, "capped at 5")
		require.Equal(t, 2.0, ts.MeshFailurePenalty)
		require.Equal(t, 1.0, ts.InvalidMessageDeliveries)
		require.Equal(t, 3.0, snap.BehaviourPenalty)
		require.Equal(t, 4.0, snap.SlowPeerCounter)
		require.Equal(t, []string{"192.0.2.7"}, snap.IPs, "addresses in the form the host gives")
		// P2 10, P3b -2, P4 -2, P7 -9; not in the mesh, so no P3.
		require.Equal(t, 10.0-2-2-9, snap.Score)
		require.Equal(t, snap.Score, s.Score("odd"))

		require.Equal(t, liveBefore, persistSnap(t, s, "live"), "the live state wins")
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
		params := persistParams(time.Hour, nil)
		s1 := persistNew(t, params)
		for i, p := range ids {
			s1.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			persistReject(s1, "U", fmt.Sprint(i), p, i+1)
		}
		saved := persistSave(t, s1)
		require.Contains(t, string(saved), real.String())
		s2 := persistNew(t, params)
		require.NoError(t, s2.Load(bytes.NewReader(saved)))
		for i, p := range ids {
			n := float64(i + 1)
			require.Equalf(t, -n*n, s2.Score(p), "peer %q", string(p))
		}
		require.Len(t, s2.Snapshots(), len(ids))
	})
}

// TestPersistRejectsCorruptInput checks that every damaged input is
// rejected with ErrInvalidState and leaves the scorer exactly as it was:
// every truncation of a valid file, every flipped bit pattern in every
// byte, another version, garbage, nothing, and well-sealed files with bad
// contents.
func TestPersistRejectsCorruptInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		params := persistParams(time.Hour, nil)
		src := persistNew(t, params)
		for _, p := range []peer.ID{"a", "b", "c"} {
			src.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
			persistReject(src, "T", string(p), p, 2)
		}
		peerscore.SetIPsForTest(src, "a", []string{"2001:db8::1", "2001:db8::"})
		src.Tracer().OnClosedOutboundStream("c")
		valid := persistSave(t, src)

		// The target has state of its own, live and retained.
		s := persistNew(t, params)
		s.Tracer().OnNewOutboundStream("live", "/meshsub/1.1.0")
		s.Tracer().OnNewOutboundStream("kept", "/meshsub/1.1.0")
		persistReject(s, "U", "k", "kept", 1)
		s.Tracer().OnClosedOutboundStream("kept")
		before := s.Snapshots()
		require.Len(t, before, 2)

		reject := func(what string, input []byte) {
			t.Helper()
			err := s.Load(bytes.NewReader(input))
			require.Errorf(t, err, "%s should be rejected", what)
			require.ErrorIsf(t, err, peerscore.ErrInvalidState, "%s: %v", what, err)
			require.Equalf(t, before, s.Snapshots(), "%s changed the scorer", what)
		}

		for n := range len(valid) {
			reject(fmt.Sprintf("truncated to %d of %d bytes", n, len(valid)), valid[:n])
		}
		for i := range valid {
			for _, mask := range []byte{0x01, 0x20, 0x80, 0xff} {
				bad := bytes.Clone(valid)
				bad[i] ^= mask
				reject(fmt.Sprintf("byte %d (%q) xor %#x", i, valid[i], mask), bad)
			}
		}
		body := string(valid[len("peerscore-state v1\n"):bytes.LastIndexByte(valid[:len(valid)-1], '\n')])
		body = strings.TrimSuffix(body, "\n")
		require.NoError(t, persistNew(t, params).Load(bytes.NewReader(persistSeal("v1", body))), "the resealed file is valid")

		upper := bytes.Clone(valid)
		copy(upper[len(upper)-65:], strings.ToUpper(string(upper[len(upper)-65:])))

		peerA := peer.ID("a").String()
		exp := `"expires":"2000-01-01T02:00:00Z"`
		cases := map[string][]byte{
			"empty":               {},
			"garbage":             []byte("\x00\x01 this is not a state file\n"),
			"just a header":       []byte("peerscore-state v1\n"),
			"version 2":           persistSeal("v2", body),
			"version 0":           persistSeal("v0", body),
			"trailing garbage":    append(bytes.Clone(valid), "more\n"...),
			"two files":           append(bytes.Clone(valid), valid...),
			"no final newline":    valid[:len(valid)-1],
			"uppercase checksum":  upper,
			"crc instead of sha":  []byte("peerscore-state v1\n{}\ncrc32 00000000\n"),
			"JSON array":          persistSeal("v1", `[]`),
			"JSON then more":      persistSeal("v1", `{"peers":[]} {}`),
			"unknown field":       persistSeal("v1", `{"peers":[],"extra":1}`),
			"unknown peer field":  persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"score":-5}]}`),
			"negative counter":    persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"behaviour_penalty":-1}]}`),
			"huge counter":        persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"slow_peer":1e400}]}`),
			"negative in topic":   persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"topics":[{"topic":"T","first_message_deliveries":0,"mesh_message_deliveries":0,"mesh_failure_penalty":0,"invalid_message_deliveries":-2}]}]}`),
			"NaN as string":       persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"slow_peer":"NaN"}]}`),
			"topic twice":         persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"topics":[{"topic":"T"},{"topic":"T"}]}]}`),
			"peer twice":          persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`},{"id":"`+peerA+`",`+exp+`}]}`),
			"no expiry":           persistSeal("v1", `{"peers":[{"id":"`+peerA+`"}]}`),
			"bad expiry":          persistSeal("v1", `{"peers":[{"id":"`+peerA+`","expires":"tomorrow"}]}`),
			"empty peer ID":       persistSeal("v1", `{"peers":[{"id":"",`+exp+`}]}`),
			"non-base58 peer ID":  persistSeal("v1", `{"peers":[{"id":"0OIl",`+exp+`}]}`),
			"long peer ID":        persistSeal("v1", `{"peers":[{"id":"`+strings.Repeat("z", 300)+`",`+exp+`}]}`),
			"bad address":         persistSeal("v1", `{"peers":[{"id":"`+peerA+`",`+exp+`,"ips":["192.0.2.300"]}]}`),
			"wrong checksum":      append(persistSeal("v1", body)[:len(persistSeal("v1", body))-3], "00\n"...),
			"checksum line short": []byte("peerscore-state v1\n{}\nsha256 abc\n"),
		}
		// A good peer before a bad one: nothing may be applied at all.
		cases["good then bad"] = persistSeal("v1", `{"peers":[{"id":"`+peer.ID("new").String()+`",`+
			`"expires":"2000-01-01T02:00:00Z"},{"id":"`+peerA+`",`+exp+`,"ips":["nowhere"]}]}`)
		for what, input := range cases {
			reject(what, input)
		}

		// A file over MaxStateSize is refused without being read whole.
		big := make([]byte, peerscore.MaxStateSizeForTest+1)
		copy(big, valid)
		reject("oversized", big)

		// Input that cannot be read is an I/O error, not an invalid state.
		err := s.Load(iotestErrReader{})
		require.Error(t, err)
		require.NotErrorIs(t, err, peerscore.ErrInvalidState)
		require.Equal(t, before, s.Snapshots())

		// And the valid file loads.
		require.NoError(t, s.Load(bytes.NewReader(valid)))
		require.Len(t, s.Snapshots(), 5)
		require.Equal(t, before["live"], persistSnap(t, s, "live"))
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestPersistFile checks SaveFile and LoadFile: a missing file is
// fs.ErrNotExist, a round trip restores the peers, saving over an existing
// file replaces it whole and leaves no temporary file, and a failed save
// leaves the old file as it was.
func TestPersistFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "scores.state")
		params := persistParams(time.Hour, nil)
		s1 := persistNew(t, params)

		err := persistNew(t, params).LoadFile(path)
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.NotErrorIs(t, err, peerscore.ErrInvalidState)

		require.NoError(t, os.WriteFile(path, []byte("an older, longer file that will be replaced entirely\n"), 0o644))
		s1.Tracer().OnNewOutboundStream("bad", "/meshsub/1.1.0")
		persistReject(s1, "T", "x", "bad", 3)
		require.NoError(t, s1.SaveFile(path))

		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, persistSave(t, s1), data, "the file holds exactly what Save writes")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1, "no temporary file left behind")
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o600), info.Mode().Perm())

		s2 := persistNew(t, params)
		require.NoError(t, s2.LoadFile(path))
		require.Equal(t, -18.0, s2.Score("bad"))
		require.False(t, persistSnap(t, s2, "bad").Connected)

		// Saving again replaces the file.
		s1.Tracer().OnClosedOutboundStream("bad")
		s1.Tracer().OnNewOutboundStream("worse", "/meshsub/1.1.0")
		persistReject(s1, "T", "y", "worse", 4)
		require.NoError(t, s1.SaveFile(path))
		s3 := persistNew(t, params)
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
		s4 := persistNew(t, params)
		err = s4.LoadFile(path)
		require.ErrorIs(t, err, peerscore.ErrInvalidState)
		require.Contains(t, err.Error(), path)
		require.Empty(t, s4.Snapshots())
	})
}

// TestPersistConcurrent saves and loads while events are applied, scores
// read and the maintenance step runs, for the race detector; every state
// saved along the way must load.
func TestPersistConcurrent(t *testing.T) {
	params := persistParams(time.Hour, func(p peer.ID) float64 {
		if strings.HasSuffix(string(p), "3") {
			return -1
		}
		return 0
	})
	s := persistNew(t, params)
	s.Tracer().OnNewOutboundStream("seed", "/meshsub/1.1.0")
	persistReject(s, "T", "seed", "seed", 1)
	seed := persistSave(t, s)

	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				p := peer.ID(fmt.Sprintf("p%d-%d", w, i%7))
				s.Tracer().OnNewOutboundStream(p, "/meshsub/1.1.0")
				s.Tracer().Graft(p, "T")
				persistDeliver(s, "T", fmt.Sprintf("d%d-%d", w, i), p, 1)
				persistReject(s, "T", fmt.Sprintf("r%d-%d", w, i), p, 1)
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
