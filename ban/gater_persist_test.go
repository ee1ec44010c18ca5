package ban_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// wall is a ban table as it reads back from a saved one: times without
// their monotonic reading, in UTC.
func wall(bans []ban.Entry) []ban.Entry {
	out := make([]ban.Entry, len(bans))
	for i, e := range bans {
		e.Until = e.Until.Round(0).UTC()
		out[i] = e
	}
	return out
}

// sealBans wraps a JSON body as a version-1 saved table with a valid
// checksum, so that tests can write tables Save would not.
func sealBans(body string) []byte {
	covered := "peerscore-bans v1\n" + body + "\n"
	sum := sha256.Sum256([]byte(covered))
	return []byte(covered + "sha256 " + hex.EncodeToString(sum[:]) + "\n")
}

// fillGater bans peers (with real and made-up IDs), addresses and subnets,
// each until another time.
func fillGater(t *testing.T, g *ban.Gater, start time.Time) {
	t.Helper()
	for i, p := range append(keyedPeers(t, 3), peer.ID("made-up"), peer.ID("\x00\x00lead")) {
		g.Ban(p, start.Add(time.Duration(i+1)*time.Hour))
	}
	require.NoError(t, g.BanIP(netip.MustParseAddr("192.0.2.7"), start.Add(90*time.Minute)))
	require.NoError(t, g.BanIP(netip.MustParseAddr("2001:db8::1"), start.Add(150*time.Minute)))
	require.NoError(t, g.BanSubnet(netip.MustParsePrefix("198.51.100.0/24"), start.Add(time.Minute)))
	require.NoError(t, g.BanSubnet(netip.MustParsePrefix("2001:db8:1:2::/64"), start.Add(24*time.Hour)))
}

// What Save writes, Load reads back into a new Gater: every ban in force,
// of peers (whatever their ID), addresses and subnets, to the nanosecond.
func TestGaterSaveLoad(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		start := time.Now().Add(123456789 * time.Nanosecond)
		g := ban.NewGater()
		fillGater(t, g, start)
		g.Ban(peerA, start.Add(time.Hour))
		g.Unban(peerA) // not in force: not saved

		var buf bytes.Buffer
		require.NoError(t, g.Save(&buf))
		lines := strings.Split(buf.String(), "\n")
		require.Len(t, lines, 4)
		require.Equal(t, "peerscore-bans v1", lines[0])
		require.True(t, strings.HasPrefix(lines[1], `{"saved_at":"`), lines[1])
		require.True(t, strings.HasPrefix(lines[2], "sha256 "), lines[2])
		require.Empty(t, lines[3])

		back := ban.NewGater()
		require.NoError(t, back.Load(bytes.NewReader(buf.Bytes())))
		require.Equal(t, wall(g.Bans()), back.Bans())
		require.Len(t, back.Bans(), 9)
		until, ok := back.BannedIP(netip.MustParseAddr("2001:db8:1:2::99"))
		require.True(t, ok)
		require.True(t, until.Equal(start.Add(24*time.Hour)))

		// Saving again gives the same table.
		var again bytes.Buffer
		require.NoError(t, back.Save(&again))
		require.Equal(t, lines[1][strings.Index(lines[1], `"bans"`):],
			strings.Split(again.String(), "\n")[1][strings.Index(lines[1], `"bans"`):])
	})
}

// A ban that ended while the node was down is not restored; the others
// are, each until its own end; a ban already in force that ends later is
// kept as it is, and one that ends sooner is extended.
func TestGaterLoadSkipsEndedAndMerges(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		start := time.Now()
		g := ban.NewGater()
		fillGater(t, g, start)
		var buf bytes.Buffer
		require.NoError(t, g.Save(&buf))

		time.Sleep(2 * time.Hour) // "down" for two hours
		back := ban.NewGater()
		ps := keyedPeers(t, 3)
		back.Ban(ps[2], start.Add(10*time.Hour)) // longer than saved (3h)
		back.Ban(ps[1], start.Add(2*time.Hour+time.Minute))
		require.NoError(t, back.Load(bytes.NewReader(buf.Bytes())))

		// g's table now holds the saved bans still in force.
		want := wall(g.Bans())
		for i := range want {
			if want[i].Peer == ps[2] {
				want[i].Until = start.Add(10 * time.Hour).UTC() // back's was longer
			}
		}
		want = append(want, ban.Entry{Peer: ps[1], Until: start.Add(2*time.Hour + time.Minute).UTC()}) // back's own
		require.ElementsMatch(t, want, wall(back.Bans()))
		require.Len(t, want, 6, "three saved bans ended (a peer's, the /24's, the 90-minute address's), one is back's own")
	})
}

// Input that is not a whole, valid table is refused with an error wrapping
// ErrInvalidState, and the Gater is exactly as it was.
func TestGaterLoadRejects(t *testing.T) {
	g := ban.NewGater()
	until := time.Now().Add(time.Hour)
	fillGater(t, g, time.Now())
	var buf bytes.Buffer
	require.NoError(t, g.Save(&buf))
	valid := buf.Bytes()
	flipped := bytes.Clone(valid)
	flipped[len(flipped)/2] ^= 0x20
	id := keyedPeers(t, 1)[0].String()
	ban1 := func(fields string) []byte {
		return sealBans(`{"saved_at":"2025-01-01T00:00:00Z","bans":[` + fields + `]}`)
	}
	cases := map[string][]byte{
		"empty":               nil,
		"garbage":             []byte("not a table\n"),
		"bit flip":            flipped,
		"other version":       bytes.Replace(valid, []byte("bans v1"), []byte("bans v2"), 1),
		"scorer's state":      []byte("peerscore-state v1\n{}\nsha256 00\n"),
		"no end":              ban1(`{"peer":"` + id + `"}`),
		"neither":             ban1(`{"until":"2099-01-01T00:00:00Z"}`),
		"both":                ban1(`{"peer":"` + id + `","prefix":"192.0.2.0/24","until":"2099-01-01T00:00:00Z"}`),
		"bad peer":            ban1(`{"peer":"0OIl","until":"2099-01-01T00:00:00Z"}`),
		"bad prefix":          ban1(`{"prefix":"192.0.2.0/33","until":"2099-01-01T00:00:00Z"}`),
		"host bits":           ban1(`{"prefix":"192.0.2.7/24","until":"2099-01-01T00:00:00Z"}`),
		"mapped prefix":       ban1(`{"prefix":"::ffff:192.0.2.0/120","until":"2099-01-01T00:00:00Z"}`),
		"peer twice":          ban1(`{"peer":"` + id + `","until":"2099-01-01T00:00:00Z"},{"peer":"` + id + `","until":"2099-01-02T00:00:00Z"}`),
		"prefix twice":        ban1(`{"prefix":"192.0.2.0/24","until":"2099-01-01T00:00:00Z"},{"prefix":"192.0.2.0/24","until":"2099-01-02T00:00:00Z"}`),
		"unknown field":       ban1(`{"peer":"` + id + `","until":"2099-01-01T00:00:00Z","reason":"x"}`),
		"key twice":           ban1(`{"peer":"` + id + `","until":"2099-01-01T00:00:00Z","until":"2099-01-02T00:00:00Z"}`),
		"peer key twice":      ban1(`{"peer":"` + id + `","peer":"` + keyedPeers(t, 2)[1].String() + `","until":"2099-01-01T00:00:00Z"}`),
		"key in other case":   ban1(`{"Peer":"` + id + `","until":"2099-01-01T00:00:00Z"}`),
		"top key in caps":     sealBans(`{"saved_at":"2025-01-01T00:00:00Z","BANS":[]}`),
		"data after the body": sealBans(`{"saved_at":"2025-01-01T00:00:00Z","bans":[]} {}`),
	}
	for n := 1; n < len(valid); n += 1 + n/4 {
		cases[fmt.Sprintf("truncated to %d of %d", n, len(valid))] = valid[:n]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			target := ban.NewGater()
			target.Ban(peerA, until)
			before := target.Bans()
			err := target.Load(bytes.NewReader(data))
			require.ErrorIs(t, err, ban.ErrInvalidState)
			require.True(t, strings.HasPrefix(err.Error(), "peerscore/ban: invalid saved bans: "), err.Error())
			require.Equal(t, before, target.Bans())
		})
	}
}

// Save keeps to the limits, leaving out the bans that end soonest and
// saying so, and whatever it writes Load accepts; Load refuses more.
func TestGaterSaveLimits(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		var logs bytes.Buffer
		start := time.Now()
		g := ban.NewGater(ban.WithStateLimitsForTest(0, 4), ban.WithGaterLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		fillGater(t, g, start)
		var buf bytes.Buffer
		require.NoError(t, g.Save(&buf))
		require.Contains(t, logs.String(), "saved bans at their limit")
		require.Contains(t, logs.String(), "left_out=5")

		back := ban.NewGater(ban.WithStateLimitsForTest(0, 4))
		require.NoError(t, back.Load(bytes.NewReader(buf.Bytes())))
		all := wall(g.Bans())
		require.Equal(t, all[len(all)-4:], back.Bans(), "the four that end last")

		small := ban.NewGater(ban.WithStateLimitsForTest(0, 3))
		require.ErrorContains(t, small.Load(bytes.NewReader(buf.Bytes())), "4 bans, more than 3")
		require.Empty(t, small.Bans())

		// By size: room for about two bans.
		sized := ban.NewGater(ban.WithStateLimitsForTest(300, 0), ban.WithGaterLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		fillGater(t, sized, start)
		buf.Reset()
		require.NoError(t, sized.Save(&buf))
		require.LessOrEqual(t, buf.Len(), 300)
		back = ban.NewGater(ban.WithStateLimitsForTest(300, 0))
		require.NoError(t, back.Load(bytes.NewReader(buf.Bytes())))
		got := back.Bans()
		require.NotEmpty(t, got)
		require.Equal(t, all[len(all)-len(got):], got)
		tooBig := append(bytes.Clone(buf.Bytes()), bytes.Repeat([]byte{' '}, 300)...)
		require.ErrorContains(t, back.Load(bytes.NewReader(tooBig)), "larger than 300 bytes")
	})
}

// SaveFile and LoadFile: a round trip through a file; a missing file is
// fs.ErrNotExist; a damaged one is moved aside and logged, and the Gater
// is unchanged; a file over the limit is refused by its size; temporary
// files a crash left are removed.
func TestGaterSaveFileLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bans")
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	g := ban.NewGater(ban.WithGaterLogger(logger))
	fillGater(t, g, time.Now())
	stale := filepath.Join(dir, ".bans.tmp-4242")
	require.NoError(t, os.WriteFile(stale, []byte("half a table"), 0o600))
	require.NoError(t, g.SaveFile(path))
	require.NoFileExists(t, stale)
	require.Contains(t, logs.String(), "level=WARN msg=\"removed a temporary state file left by an interrupted save\"")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	back := ban.NewGater(ban.WithGaterLogger(logger))
	require.NoError(t, back.LoadFile(path))
	require.Equal(t, wall(g.Bans()), back.Bans())

	missing := ban.NewGater()
	err = missing.LoadFile(filepath.Join(dir, "none"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.False(t, errors.Is(err, ban.ErrInvalidState))

	pkgtest.Damage(t, path)
	damaged := ban.NewGater(ban.WithGaterLogger(logger))
	damaged.Ban(peerA, time.Now().Add(time.Hour))
	before := damaged.Bans()
	err = damaged.LoadFile(path)
	require.ErrorIs(t, err, ban.ErrInvalidState)
	require.Contains(t, err.Error(), "moved to "+path+".damaged-")
	require.Equal(t, before, damaged.Bans())
	require.NoFileExists(t, path)
	require.Contains(t, logs.String(), "level=ERROR msg=\"saved bans are invalid; moved aside, starting without them\"")
	asides, err := filepath.Glob(path + ".damaged-*")
	require.NoError(t, err)
	require.Len(t, asides, 1)

	// Too large by its size: refused before reading, moved aside too.
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("x"), 1000), 0o600))
	small := ban.NewGater(ban.WithStateLimitsForTest(999, 0), ban.WithGaterLogger(logger))
	err = small.LoadFile(path)
	require.ErrorIs(t, err, ban.ErrInvalidState)
	require.Contains(t, err.Error(), "larger than 999 bytes")
	require.NoFileExists(t, path)
}

// The defect this fixes: a banned peer got back in after a restart, until
// the Monitor's next round found it again. A node whose Monitor banned a
// peer, saved its table and restarted with a new Gater that loaded it
// refuses the peer at once, in both directions, before any Monitor runs;
// without the saved table, the peer connects.
func TestGaterBansSurviveRestart(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const us, bad, restarted, fresh = 0, 1, 2, 3
		net := newGatedNet(t, 4)
		hUs, hBad := net.hosts[us], net.hosts[bad]
		app := newScoreTable()
		app.Set(hBad.ID(), -1000)
		scorer := scoredRouter(t, ctx, hUs, app.Get, time.Hour)
		scoretest.PlainRouter(t, ctx, hBad)
		require.NoError(t, net.connect(ctx, us, bad))
		time.Sleep(time.Second)
		mon, err := ban.NewMonitor(hUs, scorer, net.gaters[us], ban.WithCheckInterval(time.Second), quiet)
		require.NoError(t, err)
		mon.Start(ctx)
		time.Sleep(2 * time.Second)
		require.NoError(t, mon.Close())
		_, banned := net.gaters[us].Banned(hBad.ID())
		require.True(t, banned)

		path := filepath.Join(t.TempDir(), "bans")
		require.NoError(t, net.gaters[us].SaveFile(path))

		// The node comes back (host "restarted", with a Gater of its own)
		// and loads the table; another node that loads nothing lets the
		// peer in.
		require.NoError(t, net.gaters[restarted].LoadFile(path))
		net.requireRefused(t, ctx, restarted, bad)
		require.NoError(t, net.connect(ctx, bad, fresh))
		time.Sleep(time.Second)
		require.True(t, net.connected(fresh, bad))
	})
}
