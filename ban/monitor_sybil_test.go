package ban_test

import (
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/testnet"
)

// The defect: the ban limit's budget was a share of all peers, and any bad
// peer spent it, so with 90 throw-away Sybils among 30 honest peers the
// real attacker stayed connected for windows on end, and each trip blamed
// the node itself. The limit guards against previously good peers all
// turning bad at once (prysm#17166): it counts only peers the Monitor has
// seen score above zero. Peers that never did are banned as soon as they
// fall below the minimum, and a burst of them is logged as what it is.
// When the established peers then all turn bad, the limit holds, and says
// which case it saw.
func TestMonitorBanLimitIgnoresSybils(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		honest, sybils := fakePeers(31)[:30], fakePeers(121)[31:]
		attacker := fakePeers(121)[30]
		h := newFakeHost(append(append([]peer.ID{attacker}, honest...), sybils...)...)
		scores := newScoreTable()
		for _, p := range honest {
			scores.Set(p, 10)
		}
		scores.Set(attacker, 10)
		for _, p := range sybils {
			scores.Set(p, -1000)
		}
		const interval = 30 * time.Second
		mon, bans, logs := startLogged(t, h, scores, interval)
		defer mon.Close()

		// One round: every Sybil is banned, the good peers are seen good.
		time.Sleep(interval + time.Millisecond)
		require.Len(t, bans.get(), len(sybils))
		require.Equal(t, ban.MonitorStats{Bans: 90, FreshBans: 90}, mon.Stats())
		require.Contains(t, logs.String(), `level=WARN msg="banned many peers that never scored above zero`)
		require.NotContains(t, logs.String(), "level=ERROR")

		// The attacker, good until now, turns bad: banned within a round.
		scores.Set(attacker, -1000)
		time.Sleep(interval)
		require.Len(t, bans.get(), len(sybils)+1)
		require.Equal(t, attacker, bans.get()[len(sybils)].peer)

		// The node's own fault: every honest peer turns bad at once. A
		// tenth of the 31 established peers may go in the window, the
		// attacker among them; the rest are held back, and the error says
		// previously good peers turned bad.
		for _, p := range honest {
			scores.Set(p, -1000)
		}
		time.Sleep(2 * interval)
		require.Len(t, bans.get(), len(sybils)+3)
		st := mon.Stats()
		require.Equal(t, uint64(1), st.LimitReached)
		require.Equal(t, uint64(90), st.FreshBans)
		require.Equal(t, 1, strings.Count(logs.String(), `level=ERROR msg="ban limit reached: peers that scored above zero turned bad at once`))
		require.Len(t, h.net.Peers(), 28, "the held-back honest peers stay connected")
	})
}
