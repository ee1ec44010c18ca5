package rank_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/closetest"
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

// Start and Close keep the module's contract (internal/closetest), with
// the Scorer's Score and WithProtected, called from the loop, as the
// callbacks.
func TestTaggerCloseContract(t *testing.T) { closetest.Run(t, closetest.Tagger) }

// A Refresh is the Tagger's work on the caller's goroutine, under the same
// contract as the loop's: a callback in it may call Close, and a Close
// from elsewhere does not wait for its callbacks; either way the round
// changes nothing more, and the connection manager is left clean.
func TestTaggerRefreshAndClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inScore bool // the callback is Score rather than WithProtected
		outside bool // Close from outside while the callback runs, rather than from it
	}{
		{name: "Close from WithProtected"},
		{name: "Close from Score", inScore: true},
		{name: "Close during WithProtected", outside: true},
		{name: "Close during Score", inScore: true, outside: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testnet.Bubble(t, func(t *testing.T) {
				net := newTrimNet(t, 4, 10, 50)
				net.connectAll(t, t.Context())
				const interval = time.Second
				var tg *rank.Tagger
				var armed atomic.Bool // set once the loop has tagged and protected
				var calls atomic.Int64
				entered, release := make(chan struct{}), make(chan struct{})
				callback := func() {
					if !armed.CompareAndSwap(true, false) {
						return
					}
					calls.Add(1)
					if !tc.outside {
						assert.NoError(t, tg.Close())
						return
					}
					close(entered)
					<-release
				}
				score := rank.ScoreFunc(func(peer.ID) float64 {
					if tc.inScore {
						callback()
					}
					return 1
				})
				var err error
				tg, err = rank.NewTagger(net.hosts[0], score, rank.WithInterval(interval), rank.WithProtectBest(1),
					rank.WithProtected(func(peer.ID) bool {
						if !tc.inScore {
							callback()
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

				armed.Store(true)
				refreshed := make(chan struct{})
				go func() {
					defer close(refreshed)
					tg.Refresh()
				}()
				if tc.outside {
					<-entered
					closed := make(chan struct{})
					go func() {
						defer close(closed)
						assert.NoError(t, tg.Close())
					}()
					synctest.Wait()
					select {
					case <-closed:
					default:
						t.Fatal("Close waited for a callback of Refresh")
					}
					requireClean(t, net)
					close(release)
				}
				synctest.Wait()
				select {
				case <-refreshed:
				default:
					t.Fatal("Refresh did not return")
				}
				requireClean(t, net)
				before := calls.Load()
				time.Sleep(3 * interval)
				require.Equal(t, before, calls.Load(), "callbacks after Close")
				requireClean(t, net)
				tg.Refresh()
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
			scores.Set(net.id(i), float64(i))
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
					scores.Set(net.id(i), float64(r.IntN(200)-100))
				}
				time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
			}
			for i := 1; i < n; i++ { // everyone back, scores distinct
				_ = testnet.Connect(ctx, net.hosts[0], net.hosts[i])
				scores.Set(net.id(i), float64(10*i))
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
