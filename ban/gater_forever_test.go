package ban_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
)

// unsavableTimes are ends of a ban that no saved table can hold: RFC 3339,
// and so a saved table, has four-digit years in UTC.
var unsavableTimes = map[string]time.Time{
	"year 10000":                  time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	"unix 1<<62":                  time.Unix(1<<62, 0),
	"9999 at -14:00 is UTC 10000": time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -14*3600)),
}

// The defect: a ban "for good" (a time after year 9999) made Save, and so
// every save of the table and scorehttp's /bans, fail for every ban, and a
// restart lost them all. Ban, BanIP and BanSubnet refuse such a time and
// change nothing; the rest of the table still saves; Forever, the latest
// time a table holds, is accepted and survives a round trip.
func TestGaterRefusesUnsavableTimes(t *testing.T) {
	for name, until := range unsavableTimes {
		t.Run(name, func(t *testing.T) {
			g := ban.NewGater()
			require.NoError(t, g.Ban(peerB, time.Now().Add(time.Hour)))
			require.ErrorContains(t, g.Ban(peerA, until), "ban.Forever")
			require.ErrorContains(t, g.BanIP(netip.MustParseAddr("192.0.2.1"), until), "ban.Forever")
			require.ErrorContains(t, g.BanSubnet(netip.MustParsePrefix("2001:db8::/48"), until), "ban.Forever")
			_, banned := g.Banned(peerA)
			require.False(t, banned)
			_, banned = g.BannedIP(netip.MustParseAddr("192.0.2.1"))
			require.False(t, banned)
			require.Len(t, g.Bans(), 1)

			var buf bytes.Buffer
			require.NoError(t, g.Save(&buf))
			back := ban.NewGater()
			require.NoError(t, back.Load(&buf))
			require.Len(t, back.Bans(), 1)
		})
	}

	g := ban.NewGater()
	require.NoError(t, g.Ban(peerA, ban.Forever))
	require.NoError(t, g.BanSubnet(netip.MustParsePrefix("192.0.2.0/24"), ban.Forever))
	var buf bytes.Buffer
	require.NoError(t, g.Save(&buf))
	back := ban.NewGater()
	require.NoError(t, back.Load(&buf))
	until, ok := back.Banned(peerA)
	require.True(t, ok)
	require.True(t, until.Equal(ban.Forever))
	require.Len(t, back.Bans(), 2)
}

// A saved table whose ban ends after year 9999 in UTC (a hand-edited or
// hostile file: Save never writes one) is refused whole, as any value out
// of range is, and the Gater is left as it was.
func TestGaterLoadRefusesUnsavableTimes(t *testing.T) {
	id := peerA.String()
	for _, until := range []string{"9999-12-31T23:59:59-14:00", "9999-12-31T23:00:00-01:00"} {
		data := sealBans(`{"saved_at":"2025-01-01T00:00:00Z","bans":[{"peer":"` + id + `","until":"` + until + `"}]}`)
		g := ban.NewGater()
		err := g.Load(bytes.NewReader(data))
		require.ErrorIs(t, err, ban.ErrInvalidState, until)
		require.ErrorContains(t, err, "after year 9999")
		require.Empty(t, g.Bans())
	}
	data := sealBans(`{"saved_at":"2025-01-01T00:00:00Z","bans":[{"peer":"` + id + `","until":"9999-12-31T23:59:59+01:00"}]}`)
	g := ban.NewGater()
	require.NoError(t, g.Load(bytes.NewReader(data)))
	require.Len(t, g.Bans(), 1)
}
