package reputation_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/reputation"
)

var quiet = reputation.WithLogger(slog.New(slog.DiscardHandler))

// sealRep wraps a JSON body as a version-1 saved reputation with a valid
// checksum, so that tests can write states Save would not.
func sealRep(body string) []byte {
	covered := "peerscore-reputation v1\n" + body + "\n"
	sum := sha256.Sum256([]byte(covered))
	return []byte(covered + "sha256 " + hex.EncodeToString(sum[:]) + "\n")
}

// The defect: after a restart, a peer reported Fatal scored 0; only a ban,
// if any, kept it out. What Save writes, Load reads back into a new
// Reputation: each value decays from its last report, so the time the
// node was down counts; a freeze in force stays until its end; reasons
// come back with their counts; peers that decayed to nothing meanwhile
// stay forgotten.
func TestSaveLoadAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := []reputation.Option{quiet, reputation.WithFreeze(-50, time.Hour)}
		r := newRep(t, opts...)
		r.Report("fatal", reputation.Fatal, "wrong network")
		for range 3 {
			r.Report("high", reputation.High, "invalid block")
		}
		r.Report("high", reputation.Low, "slow")
		r.Report("low", reputation.Low, "timeout")
		time.Sleep(time.Minute)
		var saved bytes.Buffer
		require.NoError(t, r.Save(&saved))
		require.True(t, strings.HasPrefix(saved.String(), "peerscore-reputation v1\n"))

		time.Sleep(10 * time.Minute) // down for ten minutes: a half-life
		back := newRep(t, opts...)
		require.NoError(t, back.Load(bytes.NewReader(saved.Bytes())))
		require.Equal(t, reputation.MinValue, back.Score("fatal"), "frozen for an hour from its report")
		st, ok := back.Standing("fatal")
		require.True(t, ok)
		require.False(t, st.FrozenUntil.IsZero())
		require.InDelta(t, -31*math.Exp2(-11.0/10), back.Score("high"), 1e-9, "decayed over the 11 minutes since its last report")
		st, ok = back.Standing("high")
		require.True(t, ok)
		require.Equal(t, []string{"slow (low)", "invalid block (high x3)"}, back.Reasons("high"))
		require.Len(t, st.Reasons, 2)
		require.Equal(t, 3, back.Len())

		time.Sleep(50 * time.Minute) // the freeze ends, the rest decays
		reputation.DecayStep(back)
		require.Greater(t, back.Score("fatal"), reputation.MinValue)
		require.Less(t, back.Score("fatal"), -50.0)

		// Long enough down, everything decays to nothing: nothing restored.
		time.Sleep(24 * time.Hour)
		empty := newRep(t, opts...)
		require.NoError(t, empty.Load(bytes.NewReader(saved.Bytes())))
		require.Zero(t, empty.Len())
	})
}

// The saved state meets the Reputation's current options: no freeze
// without WithFreeze, values above the reward maximum brought down to it,
// reasons cut to WithMaxReasons, peers beyond WithMaxPeers left out (the
// mildest, with a warning); a peer already tracked keeps its live state.
func TestLoadMeetsOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRep(t, quiet, reputation.WithFreeze(-50, time.Hour), reputation.WithReward(5, 20))
		for i := range 10 {
			p := peer.ID(fmt.Sprint("p", i))
			for j := range i + 1 {
				r.Report(p, reputation.High, fmt.Sprint("reason ", j))
			}
		}
		r.Report("good", reputation.Useful, "served")
		var saved bytes.Buffer
		require.NoError(t, r.Save(&saved))

		var logs bytes.Buffer
		small := newRep(t, reputation.WithMaxPeers(4), reputation.WithMaxReasons(2),
			reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		small.Report("p9", reputation.Low, "live")
		require.NoError(t, small.Load(bytes.NewReader(saved.Bytes())))
		require.Equal(t, 4, small.Len())
		require.Equal(t, -1.0, small.Score("p9"), "live state wins")
		for _, p := range []peer.ID{"p8", "p7", "p6"} { // the worst of the rest; p8 is frozen
			require.Less(t, small.Score(p), -60.0, p)
			require.Len(t, small.Reasons(p), 2)
		}
		st, _ := small.Standing("p8")
		require.True(t, st.FrozenUntil.IsZero(), "no freeze without WithFreeze")
		require.Zero(t, small.Score("good"), "no credit without WithReward")
		require.Contains(t, logs.String(), "left_out=6", "p0 to p5; good has no credit left to restore")
	})
}

// Input that is not a whole, valid saved reputation is refused with an
// error wrapping ErrInvalidState, and the Reputation is exactly as it was.
func TestLoadRejects(t *testing.T) {
	r := newRep(t, quiet)
	r.Report("a", reputation.High, "x")
	var buf bytes.Buffer
	require.NoError(t, r.Save(&buf))
	valid := buf.Bytes()
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/2] ^= 0x20
	id := peer.ID("someone").String()
	one := func(fields string) []byte {
		return sealRep(`{"saved_at":"2025-01-01T00:00:00Z","peers":[{"peer":"` + id + `",` + fields + `}]}`)
	}
	reason := `{"reason":"x","action":"high","count":1,"last":"2025-01-01T00:00:00Z"}`
	many := strings.Repeat(`{"reason":"r","action":"low","count":1,"last":"2025-01-01T00:00:00Z"},`, 64)
	cases := map[string][]byte{
		"empty":           nil,
		"bit flip":        flipped,
		"other format":    bytes.Replace(valid, []byte("reputation v1"), []byte("reputation v2"), 1),
		"value too low":   one(`"value":-100.5,"at":"2025-01-01T00:00:00Z"`),
		"value too high":  one(`"value":101,"at":"2025-01-01T00:00:00Z"`),
		"no time":         one(`"value":-5`),
		"unknown action":  one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[{"reason":"x","action":"severe","count":1,"last":"2025-01-01T00:00:00Z"}]`),
		"no action":       one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[{"reason":"x","count":1,"last":"2025-01-01T00:00:00Z"}]`),
		"zero count":      one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[{"reason":"x","action":"low","count":0,"last":"2025-01-01T00:00:00Z"}]`),
		"reason twice":    one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[` + reason + `,` + reason + `]`),
		"65 reasons":      one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[` + many + reason + `]`),
		"long reason":     one(`"value":-5,"at":"2025-01-01T00:00:00Z","reasons":[{"reason":"` + strings.Repeat("x", 65) + `","action":"low","count":1,"last":"2025-01-01T00:00:00Z"}]`),
		"key twice":       one(`"value":-5,"value":-100,"at":"2025-01-01T00:00:00Z"`),
		"key in caps":     one(`"Value":-5,"at":"2025-01-01T00:00:00Z"`),
		"bad peer":        sealRep(`{"saved_at":"2025-01-01T00:00:00Z","peers":[{"peer":"0OIl","value":-5,"at":"2025-01-01T00:00:00Z"}]}`),
		"peer twice":      sealRep(`{"saved_at":"2025-01-01T00:00:00Z","peers":[{"peer":"` + id + `","value":-5,"at":"2025-01-01T00:00:00Z"},{"peer":"` + id + `","value":-6,"at":"2025-01-01T00:00:00Z"}]}`),
		"truncated":       valid[:len(valid)-5],
		"unknown field":   one(`"value":-5,"at":"2025-01-01T00:00:00Z","why":"x"`),
		"scorer's format": []byte("peerscore-state v1\n{}\nsha256 00\n"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			target := newRep(t, quiet)
			target.Report("b", reputation.Mid, "y")
			err := target.Load(bytes.NewReader(data))
			require.ErrorIs(t, err, reputation.ErrInvalidState)
			require.Equal(t, 1, target.Len())
			require.Equal(t, -5.0, target.Score("b"))
		})
	}
}

// Save keeps to its limits, leaving out the mildest peers and saying so;
// whatever it writes, Load accepts.
func TestSaveLimits(t *testing.T) {
	var logs bytes.Buffer
	r := newRep(t, reputation.WithStateLimitsForTest(0, 3), reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	for i := range 5 {
		r.Report(peer.ID(fmt.Sprint("p", i)), reputation.High, "x")
		for range i {
			r.Report(peer.ID(fmt.Sprint("p", i)), reputation.High, "x")
		}
	}
	var buf bytes.Buffer
	require.NoError(t, r.Save(&buf))
	require.Contains(t, logs.String(), "left_out=2")
	back := newRep(t, quiet, reputation.WithStateLimitsForTest(0, 3))
	require.NoError(t, back.Load(bytes.NewReader(buf.Bytes())))
	require.Equal(t, 3, back.Len())
	for _, p := range []peer.ID{"p4", "p3", "p2"} {
		_, ok := back.Standing(p)
		require.True(t, ok, p)
	}
	small := newRep(t, quiet, reputation.WithStateLimitsForTest(0, 2))
	require.ErrorContains(t, small.Load(bytes.NewReader(buf.Bytes())), "3 peers, more than 2")
}

// SaveFile and LoadFile: a round trip; a missing file is fs.ErrNotExist; a
// damaged one is moved aside and logged, and nothing changes.
func TestSaveFileLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reputation")
	var logs bytes.Buffer
	r := newRep(t, quiet)
	r.Report("bad", reputation.Fatal, "wrong network")
	require.NoError(t, r.SaveFile(path))
	back := newRep(t, quiet)
	require.NoError(t, back.LoadFile(path))
	require.InDelta(t, reputation.MinValue, back.Score("bad"), 0.1)

	err := newRep(t, quiet).LoadFile(path + ".none")
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.False(t, errors.Is(err, reputation.ErrInvalidState))

	pkgtest.Damage(t, path)
	damaged := newRep(t, reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	err = damaged.LoadFile(path)
	require.ErrorIs(t, err, reputation.ErrInvalidState)
	require.Zero(t, damaged.Len())
	require.NoFileExists(t, path)
	require.Contains(t, logs.String(), "level=ERROR")
}
