package rank_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/testnet"
	"github.com/peerscore/peerscore/rank"
)

// requireClean checks that no peer of net carries the Tagger's tag or
// protection.
func requireClean(t *testing.T, net *trimNet) {
	t.Helper()
	for i := 1; i < len(net.hosts); i++ {
		_, tagged := net.tag(i, "peerscore")
		require.False(t, tagged, "peer %d still tagged", i)
		require.False(t, net.cm.IsProtected(net.id(i), "peerscore"), "peer %d still protected", i)
	}
}

// Rounds from the loop and from concurrent Refresh calls, while peers
// connect and disconnect, leave every connected peer tagged with its
// current score and the best one alone protected; Close leaves nothing.
// Run with -race.
func TestTaggerConcurrentRefreshAndChurn(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const n = 9
		net := newTrimNet(t, n, 100, 200)
		net.connectAll(t, ctx)
		scores := newScoreTable()
		for i := 1; i < n; i++ {
			scores.set(net.id(i), float64(i))
		}
		tg, err := rank.NewTagger(net.hosts[0], scores, rank.WithInterval(100*time.Millisecond), rank.WithProtectBest(1))
		require.NoError(t, err)
		tg.Start(ctx)

		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				r := newRand(uint64(w))
				for range 200 {
					tg.Refresh()
					time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
				}
			})
		}
		wg.Go(func() {
			r := newRand(7)
			for range 100 {
				i := 1 + r.IntN(n-1)
				switch r.IntN(3) {
				case 0:
					_ = net.hosts[0].Network().ClosePeer(net.id(i))
				case 1:
					_ = testnet.Connect(ctx, net.hosts[0], net.hosts[i])
				default:
					scores.set(net.id(i), float64(r.IntN(200)-100))
				}
				time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
			}
			for i := 1; i < n; i++ { // everyone back, scores distinct
				_ = testnet.Connect(ctx, net.hosts[0], net.hosts[i])
				scores.set(net.id(i), float64(10*i))
			}
		})
		wg.Wait()
		time.Sleep(time.Second)

		for i := 1; i < n; i++ {
			require.True(t, net.connected(i))
			v, ok := net.tag(i, "peerscore")
			require.True(t, ok, "peer %d untagged", i)
			require.Equal(t, 10*i, v, "peer %d", i)
			require.Equal(t, i == n-1, net.cm.IsProtected(net.id(i), "peerscore"), "peer %d", i)
		}
		require.NoError(t, tg.Close())
		requireClean(t, net)
	})
}
