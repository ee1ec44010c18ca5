package ban_test

// Start and Close, and the callbacks that run on the goroutine Close waits
// for. Close from outside waits for a running callback, every time it is
// called; Close from inside a callback returns (it cannot wait for itself)
// and the loop ends with the callback. Every wait is bounded by the
// synctest bubble: Close runs on a goroutine of its own, and after
// synctest.Wait it has returned or is durably blocked, which the tests
// tell apart without sleeping for real.

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/internal/testnet"
)

// closeAsync runs closeFn on a goroutine of its own and returns a channel
// closed when it has returned.
func closeAsync(closeFn func() error) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = closeFn()
	}()
	return done
}

// returned reports whether done is closed, once every goroutine of the
// bubble has run as far as it can.
func returned(done <-chan struct{}) bool {
	synctest.Wait()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// counter counts callback runs.
type counter struct{ n atomic.Int64 }

func (c *counter) get() int64 { return c.n.Load() }

// Start and Close may be called in any order, any number of times; no
// goroutine is left behind (synctest would report it).
func TestMonitorStartCloseIdempotent(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		p := fakePeers(1)[0]
		const interval = time.Second
		newMon := func() (*ban.Monitor, *scoreTable) {
			s := newScoreTable()
			m, err := ban.NewMonitor(newFakeHost(p), s, ban.NewGater(), ban.WithCheckInterval(interval))
			require.NoError(t, err)
			return m, s
		}

		// Close before Start; Start after Close does nothing.
		m, s := newMon()
		require.NoError(t, m.Close())
		require.NoError(t, m.Close())
		m.Start(context.Background())
		time.Sleep(3 * interval)
		require.Empty(t, s.callTimes(p))

		// Start twice runs one loop; Close twice.
		m, s = newMon()
		m.Start(context.Background())
		m.Start(context.Background())
		time.Sleep(3*interval + time.Millisecond)
		require.Len(t, s.callTimes(p), 3)
		require.NoError(t, m.Close())
		require.NoError(t, m.Close())
		time.Sleep(3 * interval)
		require.Len(t, s.callTimes(p), 3)
		m.Start(context.Background())
		time.Sleep(3 * interval)
		require.Len(t, s.callTimes(p), 3)

		// Cancelling the context stops it too; Close then returns.
		m, s = newMon()
		ctx, cancel := context.WithCancel(context.Background())
		m.Start(ctx)
		time.Sleep(interval + time.Millisecond)
		cancel()
		time.Sleep(3 * interval)
		require.Len(t, s.callTimes(p), 1)
		require.NoError(t, m.Close())
	})
}

// The Monitor: WithOnBan calling the Monitor's Close bans no one more and
// returns; Close from outside waits for a running WithOnBan; a score
// function calling Close bans no one.
func TestMonitorCloseFromCallbacks(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		peers := fakePeers(3)
		low := ban.ScoreFunc(func(peer.ID) float64 { return -1000 })

		// WithOnBan calls Close: one ban, then nothing.
		h := newFakeHost(peers...)
		closed := make(chan struct{})
		var bans counter
		var m1 *ban.Monitor
		m1, err := ban.NewMonitor(h, low, ban.NewGater(), ban.WithCheckInterval(3*time.Second),
			ban.WithOnBan(func(peer.ID, float64, time.Time) {
				if bans.n.Add(1) == 1 {
					_ = m1.Close()
					close(closed)
				}
			}))
		require.NoError(t, err)
		m1.Start(context.Background())
		time.Sleep(time.Second)
		require.True(t, returned(closed), "Close called from WithOnBan did not return")
		time.Sleep(time.Minute)
		synctest.Wait()
		require.EqualValues(t, 1, bans.get(), "bans after Close")
		require.Len(t, h.net.closedPeers(), 1)
		require.True(t, returned(closeAsync(m1.Close)))

		// Close from outside waits for WithOnBan, twice.
		release := make(chan struct{})
		var banning counter
		m2, err := ban.NewMonitor(newFakeHost(peers...), low, ban.NewGater(), ban.WithCheckInterval(3*time.Second),
			ban.WithOnBan(func(peer.ID, float64, time.Time) { banning.n.Add(1); <-release }))
		require.NoError(t, err)
		m2.Start(context.Background())
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 1, banning.get(), "WithOnBan is running")
		first, second := closeAsync(m2.Close), closeAsync(m2.Close)
		require.False(t, returned(first), "Close returned while WithOnBan was running")
		require.False(t, returned(second), "a second Close returned while WithOnBan was running")
		close(release)
		require.True(t, returned(first))
		require.True(t, returned(second))

		// The score function calls Close: no ban.
		h = newFakeHost(peers...)
		gater := ban.NewGater()
		var m3 *ban.Monitor
		m3, err = ban.NewMonitor(h, ban.ScoreFunc(func(peer.ID) float64 { _ = m3.Close(); return -1000 }), gater,
			ban.WithCheckInterval(3*time.Second))
		require.NoError(t, err)
		m3.Start(context.Background())
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Empty(t, h.net.closedPeers(), "banned after the score function closed the Monitor")
		require.Empty(t, gater.Bans())
	})
}

// A Monitor's WithOnBan closes the Scorer while the Scorer's inspection
// callback closes the Monitor: each Close runs on a goroutine the other
// would wait for, and both return.
func TestMonitorAndScorerCloseEachOther(t *testing.T) {
	testnet.Bubble(t, func(t *testing.T) {
		inBan, inInspect := make(chan struct{}), make(chan struct{})
		var once1, once2 sync.Once
		var closes atomic.Int32
		var m *ban.Monitor
		var s *peerscore.Scorer
		s, err := peerscore.New(scoretest.Params(nil), peerscore.WithInspect(func(map[peer.ID]float64) {
			once1.Do(func() { close(inInspect) })
			<-inBan
			_ = m.Close()
			closes.Add(1)
		}, time.Second))
		require.NoError(t, err)
		m, err = ban.NewMonitor(newFakeHost(fakePeers(1)...), ban.ScoreFunc(func(peer.ID) float64 { return -1000 }),
			ban.NewGater(), ban.WithCheckInterval(time.Second),
			ban.WithOnBan(func(peer.ID, float64, time.Time) {
				once2.Do(func() { close(inBan) })
				<-inInspect
				_ = s.Close()
				closes.Add(1)
			}))
		require.NoError(t, err)
		s.Start(context.Background())
		m.Start(context.Background())
		time.Sleep(time.Second)
		synctest.Wait()
		require.EqualValues(t, 2, closes.Load(), "the two Close calls did not both return")
		require.True(t, returned(closeAsync(s.Close)))
		require.True(t, returned(closeAsync(m.Close)))
	})
}
