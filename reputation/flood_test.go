package reputation_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/reputation"
)

// The defect: a Fatal report, then 4,096 Fatal reports about fresh IDs,
// and the offender was forgotten and scored 0, with WithFreeze too: room
// went to the highest value first, and the older Fatal had decayed a
// little above -100. Under a flood, a record that has aged is not taken
// for a milder one: peers are ranked by the value their last report left
// them at, and among equals the most recently tracked goes first, so the
// flood pushes out its own members and the offender stays.
func TestFloodKeepsWorstOffender(t *testing.T) {
	for name, opts := range map[string][]reputation.Option{
		"no freeze": nil,
		"freeze":    {reputation.WithFreeze(-50, 12*time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRep(t, append(opts, reputation.WithLogger(slog.New(slog.DiscardHandler)))...)
				offender := peer.ID("offender")
				r.Report(offender, reputation.Fatal, "wrong network")
				time.Sleep(time.Minute)
				reputation.DecayStep(r)
				for i := range reputation.DefaultMaxPeers {
					r.Report(peer.ID(fmt.Sprintf("fresh-%d", i)), reputation.Fatal, "wrong network")
				}
				require.LessOrEqual(t, r.Len(), reputation.DefaultMaxPeers)
				st, ok := r.Standing(offender)
				require.True(t, ok, "the offender was forgotten")
				require.Less(t, st.Value, -90.0)
				require.Less(t, r.Score(offender), -90.0)
			})
		})
	}
}

// Under WithFreeze, a frozen peer is never forgotten before its freeze
// ends, however full the table: while every tracked peer is frozen, a
// report about a new peer is not tracked (and is counted in
// Stats().Untracked); once freezes end, new peers get room again.
func TestFrozenPeersNeverEvicted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const bound = 16
		var logs bytes.Buffer
		r := newRep(t, reputation.WithMaxPeers(bound), reputation.WithFreeze(-50, time.Hour),
			reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		for i := range bound {
			r.Report(peer.ID(fmt.Sprintf("frozen-%d", i)), reputation.Fatal, "x")
		}
		time.Sleep(time.Minute)
		r.Report("newcomer", reputation.Fatal, "x")
		require.Equal(t, bound, r.Len())
		require.Zero(t, r.Score("newcomer"))
		for i := range bound {
			require.Equal(t, reputation.MinValue, r.Score(peer.ID(fmt.Sprintf("frozen-%d", i))), "frozen-%d", i)
		}
		r.Report("another", reputation.Low, "x")
		require.Equal(t, uint64(2), r.Stats().Untracked)
		require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())

		time.Sleep(time.Hour) // the freezes end
		r.Report("newcomer", reputation.Fatal, "x")
		require.Equal(t, reputation.MinValue, r.Score("newcomer"))
		require.LessOrEqual(t, r.Len(), bound)
	})
}
