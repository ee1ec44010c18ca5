package peerscore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestManualClockIsStartsLoop replays random traces into two Scorers under
// one fake clock: one runs Start's loop on its tickers, the other is
// driven by a ManualClock advanced to the time of each event. Their scores
// must be equal, bit for bit, after every event and time step: the
// ManualClock runs the same maintenance at the same instants.
func TestManualClockIsStartsLoop(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		tr := newTrace(seed, 2000)
		synctest.Test(t, func(t *testing.T) {
			h := scoretest.NewAddrHost()
			quiet := peerscore.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			params := tr.params()
			loop, err := peerscore.New(params, peerscore.WithHost(h), quiet)
			require.NoError(t, err)
			clock := peerscore.NewManualClock(time.Now())
			manual, err := peerscore.New(params, peerscore.WithHost(h), quiet, peerscore.WithClock(clock))
			require.NoError(t, err)
			// manual's Start does nothing: the clock runs its maintenance.
			live := startLive(t, params.DecayInterval, loop, loop.Start, manual.Start)
			for i, e := range tr.events {
				switch e.op {
				case opAdvance, opRefresh:
					live.wait(e)
				case opSetIPs:
					h.SetIPs(tr.peers[e.peer], e.ips)
				default:
					clock.Advance(time.Now())
					tr.applyEvent(wrapOurs(loop), e)
					tr.applyEvent(wrapOurs(manual), e)
				}
				clock.Advance(time.Now())
				require.Equal(t, time.Now(), clock.Now())
				for _, p := range tr.peers {
					if a, b := loop.Score(p), manual.Score(p); a != b {
						t.Fatalf("seed %d event %d (%v) at %v: peer %s: Start's loop %v, ManualClock %v\n%s",
							seed, i, e, time.Since(live.start), p, a, b, recentEvents(tr, i))
					}
				}
			}
		})
	}
}

// liveRun is a trace run, in a synctest bubble, against scorers whose own
// loops keep time: they started at start and decay every interval.
type liveRun struct {
	start    time.Time
	interval time.Duration
}

// startLive starts the loops (each start is a Start method) at one instant
// under a context of the run's own, so that their tickers fire together.
// When the test ends, the context ends and closer closes, without error.
func startLive(t *testing.T, interval time.Duration, closer io.Closer, starts ...func(context.Context)) liveRun {
	ctx, cancel := context.WithCancel(context.Background())
	run := liveRun{start: time.Now(), interval: interval}
	for _, start := range starts {
		start(ctx)
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, closer.Close())
		synctest.Wait()
	})
	return run
}

// wait lets the time of event e (opAdvance or opRefresh) pass, then lets
// the loops finish what fell due: opAdvance passes e.advance, opRefresh
// the time to the loops' next decay, as they refresh themselves.
func (r liveRun) wait(e traceEvent) {
	if e.op == opAdvance {
		time.Sleep(e.advance)
	} else {
		time.Sleep(r.interval - time.Since(r.start)%r.interval)
	}
	synctest.Wait()
}

func recentEvents(tr *trace, i int) string {
	out := ""
	for k := max(0, i-10); k <= i; k++ {
		out += "  " + tr.events[k].String() + "\n"
	}
	return out
}

func TestManualClockOptions(t *testing.T) {
	params := scoretest.Params(nil)
	_, err := peerscore.New(params, peerscore.WithClock(nil))
	require.ErrorContains(t, err, "WithClock: nil clock")
	clock := peerscore.NewManualClock(time.Unix(1000, 0))
	_, err = peerscore.New(params, peerscore.WithClock(clock))
	require.NoError(t, err)
	_, err = peerscore.New(params, peerscore.WithClock(clock))
	require.ErrorContains(t, err, "already drives a Scorer")

	// Time does not go back.
	clock.Advance(time.Unix(2000, 0))
	clock.Advance(time.Unix(1500, 0))
	require.Equal(t, time.Unix(2000, 0), clock.Now())
}

// TestManualClockChargesPromisesAtHeartbeats: broken IWANT promises are
// charged at the router's heartbeats (the first HeartbeatInitialDelay
// after the start), by Start's loop and by a ManualClock alike.
func TestManualClockChargesPromisesAtHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		params := scoretest.BehaviourParams(nil)
		loop := scoretest.New(t, params)
		clock := peerscore.NewManualClock(time.Now())
		manual := scoretest.New(t, params, peerscore.WithClock(clock))
		loop.Start(ctx)
		defer func() { require.NoError(t, loop.Close()) }()
		for _, s := range []*peerscore.Scorer{loop, manual} {
			scoretest.Connect(s, "liar")
		}
		charged := false
		for step := range 120 { // 12 s in steps of 100 ms, past several heartbeats
			if step%10 == 3 { // an IWANT to the liar, never answered, now and then
				for _, s := range []*peerscore.Scorer{loop, manual} {
					s.Tracer().SendRPC(scoretest.IWantRPC(fmt.Sprintf("m%d", step)), "liar")
				}
			}
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			clock.Advance(time.Now())
			a, b := scoretest.Snap(t, loop, "liar").BehaviourPenalty, scoretest.Snap(t, manual, "liar").BehaviourPenalty
			require.Equal(t, a, b, "P7 counter at %v", time.Duration(step+1)*100*time.Millisecond)
			charged = charged || a > 0
		}
		require.True(t, charged, "no promise was ever charged: the test shows nothing")
	})
}
