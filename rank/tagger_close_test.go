package rank_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
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

// Start and Close in any order, any number of times: Close before Start
// leaves Start doing nothing; Start twice runs one loop; no goroutine is
// left behind (synctest would report it).
func TestTaggerStartCloseIdempotent(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		net := newTrimNet(t, 3, 10, 50)
		net.connectAll(t, t.Context())
		var calls atomic.Int64
		scores := rank.ScoreFunc(func(peer.ID) float64 { calls.Add(1); return 1 })

		tg, err := rank.NewTagger(net.hosts[0], scores, rank.WithInterval(time.Second))
		require.NoError(t, err)
		require.NoError(t, tg.Close())
		require.NoError(t, tg.Close())
		tg.Start(context.Background())
		tg.Refresh()
		time.Sleep(3 * time.Second)
		require.Zero(t, calls.Load())
		requireClean(t, net)

		tg, err = rank.NewTagger(net.hosts[0], scores, rank.WithInterval(time.Second))
		require.NoError(t, err)
		tg.Start(context.Background())
		tg.Start(context.Background())
		time.Sleep(2*time.Second + time.Millisecond) // rounds at 0, 1s, 2s
		require.Equal(t, int64(3*2), calls.Load())
		require.NoError(t, tg.Close())
		require.NoError(t, tg.Close())
		requireClean(t, net)
		time.Sleep(3 * time.Second)
		require.Equal(t, int64(3*2), calls.Load())
	})
}

// The loop stops when its context ends; Close then still cleans up.
func TestTaggerStopsWithContext(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		net := newTrimNet(t, 3, 10, 50)
		net.connectAll(t, t.Context())
		var calls atomic.Int64
		tg, err := rank.NewTagger(net.hosts[0], rank.ScoreFunc(func(peer.ID) float64 { calls.Add(1); return 1 }),
			rank.WithInterval(time.Second))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		tg.Start(ctx)
		time.Sleep(time.Millisecond)
		cancel()
		time.Sleep(3 * time.Second)
		require.Equal(t, int64(2), calls.Load())
		_, tagged := net.tag(1, "peerscore")
		require.True(t, tagged)
		require.NoError(t, tg.Close())
		requireClean(t, net)
	})
}

// A callback may call Close, from the loop's goroutine or from a Refresh:
// Close returns, the round changes nothing more, the loop ends, and no tag
// or protection is left.
func TestTaggerCloseFromCallback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh bool // the callback runs in a Refresh rather than the loop
		inScore bool // Close from Score rather than WithProtected
	}{
		{name: "loop, WithProtected"},
		{name: "loop, Score", inScore: true},
		{name: "Refresh, WithProtected", refresh: true},
		{name: "Refresh, Score", refresh: true, inScore: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				net := newTrimNet(t, 4, 10, 50)
				net.connectAll(t, t.Context())
				const interval = time.Second
				var tg *rank.Tagger
				var closeOnce sync.Once
				var closing atomic.Bool // set after the first clean round
				var rounds atomic.Int64
				closeIfAsked := func() {
					if closing.Load() {
						closeOnce.Do(func() { require.NoError(t, tg.Close()) })
					}
				}
				score := rank.ScoreFunc(func(p peer.ID) float64 {
					rounds.Add(1)
					if tc.inScore {
						closeIfAsked()
					}
					return 1
				})
				var err error
				tg, err = rank.NewTagger(net.hosts[0], score, rank.WithInterval(interval), rank.WithProtectBest(1),
					rank.WithProtected(func(peer.ID) bool {
						if !tc.inScore {
							closeIfAsked()
						}
						return false
					}))
				require.NoError(t, err)
				tg.Start(context.Background())
				defer tg.Close() // should the test fail before the callback closes it
				time.Sleep(interval / 2)
				protected := 0
				for i := 1; i < len(net.hosts); i++ {
					if net.cm.IsProtected(net.id(i), "peerscore") {
						protected++
					}
				}
				require.Equal(t, 1, protected)

				closing.Store(true)
				if tc.refresh {
					tg.Refresh()
				} else {
					time.Sleep(interval)
				}
				synctest.Wait()
				requireClean(t, net)
				before := rounds.Load()
				time.Sleep(3 * interval)
				require.Equal(t, before, rounds.Load(), "the loop went on after Close")
				requireClean(t, net)
			})
		})
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
