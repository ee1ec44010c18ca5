package reputation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/reputation"
)

// newRep builds a Reputation or fails the test. Call it inside the
// synctest bubble when time matters: its clock starts here.
func newRep(t testing.TB, opts ...reputation.Option) *reputation.Reputation {
	t.Helper()
	r, err := reputation.New(opts...)
	require.NoError(t, err)
	return r
}

// started builds a Reputation and runs its decay loop until the test ends.
func started(t *testing.T, opts ...reputation.Option) *reputation.Reputation {
	t.Helper()
	r := newRep(t, opts...)
	r.Start(context.Background())
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	return r
}

// The rules, at one instant: what each action does to the value from
// where the earlier reports left it, within the scale.
func TestReportRules(t *testing.T) {
	const (
		low, mid, high = reputation.Low, reputation.Mid, reputation.High
		fatal, useful  = reputation.Fatal, reputation.Useful
	)
	rewards := reputation.WithReward(3, 20)
	for _, tc := range []struct {
		name    string
		opts    []reputation.Option
		reports []reputation.Action
		want    float64
		tracked bool
	}{
		{name: "low", reports: []reputation.Action{low}, want: -1, tracked: true},
		{name: "mid", reports: []reputation.Action{mid}, want: -5, tracked: true},
		{name: "high", reports: []reputation.Action{high}, want: -10, tracked: true},
		{name: "fatal", reports: []reputation.Action{fatal}, want: -100, tracked: true},
		{name: "penalties add up", reports: []reputation.Action{low, mid, high, mid}, want: -21, tracked: true},
		{name: "clamped at the minimum", reports: repeat(high, 11), want: -100, tracked: true},
		{name: "nothing below fatal", reports: []reputation.Action{fatal, low, high}, want: -100, tracked: true},
		{name: "fatal from anywhere", reports: []reputation.Action{high, fatal}, want: -100, tracked: true},
		{name: "useful without rewards is ignored", reports: []reputation.Action{useful, useful}, want: 0, tracked: false},
		{name: "useful without rewards leaves a penalty", reports: []reputation.Action{mid, useful}, want: -5, tracked: true},
		{name: "reward", opts: opts(rewards), reports: []reputation.Action{useful}, want: 3, tracked: true},
		{name: "rewards capped", opts: opts(rewards), reports: repeat(useful, 10), want: 20, tracked: true},
		{name: "a reward offsets a penalty", opts: opts(rewards), reports: []reputation.Action{high, useful}, want: -7, tracked: true},
		{name: "a penalty spends credit", opts: opts(rewards), reports: append(repeat(useful, 10), high), want: 10, tracked: true},
		{name: "fatal wipes credit", opts: opts(rewards), reports: append(repeat(useful, 10), fatal), want: -100, tracked: true},
		{name: "rewards climb from the minimum", opts: opts(rewards), reports: []reputation.Action{fatal, useful}, want: -97, tracked: true},
		{name: "rewards ignored while frozen", opts: opts(rewards, reputation.WithFreeze(-50, time.Hour)),
			reports: []reputation.Action{fatal, useful, useful}, want: -100, tracked: true},
		{name: "rewards count above the freeze level", opts: opts(rewards, reputation.WithFreeze(-50, time.Hour)),
			reports: []reputation.Action{high, useful}, want: -7, tracked: true},
		{name: "custom low", opts: opts(reputation.WithPenalty(low, 2)), reports: []reputation.Action{low, low}, want: -4, tracked: true},
		{name: "custom mid", opts: opts(reputation.WithPenalty(mid, 7.5)), reports: []reputation.Action{mid}, want: -7.5, tracked: true},
		{name: "custom high", opts: opts(reputation.WithPenalty(high, 100)), reports: []reputation.Action{high, high}, want: -100, tracked: true},
		{name: "custom penalties leave fatal alone", opts: opts(reputation.WithPenalty(high, 1)), reports: []reputation.Action{fatal}, want: -100, tracked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRep(t, tc.opts...)
				p := peer.ID("p")
				for _, a := range tc.reports {
					r.Report(p, a, "why")
				}
				require.Equal(t, tc.want, r.Score(p))
				st, ok := r.Standing(p)
				require.Equal(t, tc.tracked, ok)
				require.Equal(t, tc.want, st.Value)
				require.Zero(t, r.Score("other"), "other peers are untouched")
			})
		})
	}
}

func repeat(a reputation.Action, n int) []reputation.Action {
	out := make([]reputation.Action, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func opts(o ...reputation.Option) []reputation.Option { return o }

// Under the loop, a value halves every half-life, from whichever side,
// and is forgotten once below 0.01: Score 0, no standing, no reasons.
// Reports at 0; the loop steps every whole second; the checks run half a
// second after a step, so that the step is certainly done.
func TestDecayOverHalfLives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := started(t, reputation.WithReward(10, 10))
		bad, good := peer.ID("bad"), peer.ID("good")
		r.Report(bad, reputation.Fatal, "wrong network")
		r.Report(good, reputation.Useful, "served blocks")
		time.Sleep(500 * time.Millisecond)
		for k := 1; k <= 6; k++ {
			time.Sleep(10 * time.Minute)
			want := math.Exp2(-float64(k))
			scoretest.Near(t, -100*want, r.Score(bad), "bad peer after %d half-lives", k)
			scoretest.Near(t, 10*want, r.Score(good), "good peer after %d half-lives", k)
		}
		// Between steps Score holds the last step's value; Standing is exact.
		st, ok := r.Standing(bad)
		require.True(t, ok)
		scoretest.Near(t, -100*math.Exp2(-3600.5/600), st.Value, "standing between steps")
		require.Equal(t, []string{"wrong network (fatal)"}, r.Reasons(bad))

		// 10 is below 0.01 after 600·log2(1000) = 5979.5 s, -100 after
		// 600·log2(10^4) = 7972.6 s: forgotten at the steps that follow.
		time.Sleep(5979*time.Second - 3600*time.Second)
		require.Equal(t, 2, r.Len(), "both above 0.01 at 5979 s")
		time.Sleep(time.Second)
		require.Equal(t, 1, r.Len(), "the good peer forgotten at 5980 s")
		require.Zero(t, r.Score(good))
		time.Sleep(7972*time.Second - 5980*time.Second)
		require.Equal(t, 1, r.Len(), "the bad peer still there at 7972 s")
		require.NotNil(t, r.Reasons(bad))
		time.Sleep(time.Second)
		require.Zero(t, r.Len(), "and forgotten at 7973 s")
		require.Zero(t, r.Score(bad))
		require.Nil(t, r.Reasons(bad))
		_, ok = r.Standing(bad)
		require.False(t, ok)
	})
}

// Without the loop values are not republished, but a report applies to
// the value decayed up to its instant, and Standing reads it exact.
func TestReportAppliesDecayedValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRep(t)
		p := peer.ID("p")
		r.Report(p, reputation.High, "invalid block")
		time.Sleep(10 * time.Minute)
		require.Equal(t, -10.0, r.Score(p), "no loop: Score holds the last report's value")
		st, _ := r.Standing(p)
		scoretest.Near(t, -5, st.Value, "standing after one half-life")
		r.Report(p, reputation.High, "invalid block")
		scoretest.Near(t, -15, r.Score(p), "the report applies to the decayed -5")
	})
}

// WithHalfLife sets the half-life.
func TestHalfLifeOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := started(t, reputation.WithHalfLife(time.Minute), reputation.WithDecayInterval(30*time.Second))
		r.Report("p", reputation.Mid, "x")
		time.Sleep(2*time.Minute + time.Second)
		scoretest.Near(t, -1.25, r.Score("p"), "two one-minute half-lives")
	})
}

// WithFreeze: a penalty that reaches the level freezes the value, without
// decay, for the duration; penalties during the freeze lower it but do
// not extend it; once it ends the value decays; a new penalty while still
// at or below the level freezes it again. Reports come half a second
// after the loop's whole-second steps.
func TestFreeze(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := started(t, reputation.WithFreeze(-50, 30*time.Minute))
		time.Sleep(500 * time.Millisecond)
		frozenUntil := time.Now().Add(30 * time.Minute).Round(0)
		p := peer.ID("p")
		for range 9 {
			r.Report(p, reputation.Mid, "bad response")
		}
		st, _ := r.Standing(p)
		require.Zero(t, st.FrozenUntil, "at -45 no freeze yet")
		r.Report(p, reputation.Mid, "bad response") // -50: the level
		st, _ = r.Standing(p)
		require.Equal(t, frozenUntil, st.FrozenUntil)

		time.Sleep(20 * time.Minute)
		require.Equal(t, -50.0, r.Score(p), "frozen: no decay")
		r.Report(p, reputation.High, "invalid block") // lowers, does not extend
		require.Equal(t, -60.0, r.Score(p))
		st, _ = r.Standing(p)
		require.Equal(t, frozenUntil, st.FrozenUntil, "the freeze is not extended")

		time.Sleep(10*time.Minute + time.Second) // the freeze ended at 1800.5 s
		st, _ = r.Standing(p)
		require.Zero(t, st.FrozenUntil)
		time.Sleep(10 * time.Minute) // now 2401.5 s; the last step at 2401 s
		scoretest.Near(t, -60*math.Exp2(-600.5/600), r.Score(p), "decays once the freeze ends")

		// Still at or below the level after a freeze: the next penalty freezes again.
		r2 := started(t, reputation.WithFreeze(-50, time.Hour))
		q := peer.ID("q")
		r2.Report(q, reputation.Fatal, "wrong network")
		time.Sleep(time.Hour + 10*time.Minute) // freeze over, decayed to -50
		r2.Report(q, reputation.Low, "timeout")
		st, ok := r2.Standing(q)
		require.True(t, ok)
		scoretest.Near(t, -51, st.Value, "decayed to -50, then -1")
		require.Equal(t, time.Now().Add(time.Hour).Round(0), st.FrozenUntil, "frozen again")
		time.Sleep(30 * time.Minute)
		require.Equal(t, -51.0, r2.Score(q), "and held")
	})
}

// Reasons: most recent first, repeats counted, at most WithMaxReasons
// distinct (the least recent pushed out), the same text under another
// action kept apart, long texts cut at a character boundary, empty ones
// named.
func TestReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRep(t, reputation.WithMaxReasons(3))
		p := peer.ID("p")
		r.Report(p, reputation.Low, "timeout")
		time.Sleep(time.Second)
		r.Report(p, reputation.High, "invalid block")
		r.Report(p, reputation.Low, "timeout")
		r.Report(p, reputation.Low, "timeout")
		require.Equal(t, []string{"timeout (low x3)", "invalid block (high)"}, r.Reasons(p))

		r.Report(p, reputation.Mid, "invalid block")
		r.Report(p, reputation.Mid, "")
		require.Equal(t, []string{"unspecified (mid)", "invalid block (mid)", "timeout (low x3)"}, r.Reasons(p),
			"full: invalid block (high), the least recent, went")
		st, _ := r.Standing(p)
		require.Equal(t, reputation.Reason{Reason: "timeout", Action: reputation.Low, Count: 3, Last: start.Add(time.Second).Round(0)}, st.Reasons[2])

		long := strings.Repeat("é", 40) // 80 bytes
		r.Report(p, reputation.Low, long)
		st, _ = r.Standing(p)
		require.Len(t, st.Reasons, 3)
		require.Equal(t, strings.Repeat("é", 32), st.Reasons[0].Reason, "cut to 64 bytes, whole characters")
		require.Equal(t, "invalid block", st.Reasons[2].Reason, "timeout, now the least recent, went")
		r.Report(p, reputation.Low, long)
		st, _ = r.Standing(p)
		require.Equal(t, 2, st.Reasons[0].Count, "a long reason cut the same way counts as one")

		require.Nil(t, r.Reasons("never reported"))
	})
}

// A Standing marshals to JSON that reads: the peer as text, the action as
// its name, times as RFC 3339.
func TestStandingJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRep(t, reputation.WithFreeze(-50, time.Hour))
		p := peer.ID("\x00\x24\x08\x01\x12\x20" + strings.Repeat("\x01", 32)) // an Ed25519 identity ID
		r.Report(p, reputation.Fatal, "wrong network")
		st, ok := r.Standing(p)
		require.True(t, ok)
		raw, err := json.Marshal(st)
		require.NoError(t, err)
		var back map[string]any
		require.NoError(t, json.Unmarshal(raw, &back))
		require.Equal(t, p.String(), back["peer"])
		require.Equal(t, -100.0, back["value"])
		require.Equal(t, st.FrozenUntil.Format(time.RFC3339Nano), back["frozen_until"])
		reasons := back["reasons"].([]any)
		require.Len(t, reasons, 1)
		require.Equal(t, map[string]any{"reason": "wrong network", "action": "fatal", "count": 1.0,
			"last": time.Now().Format(time.RFC3339Nano)}, reasons[0])

		r2 := newRep(t)
		r2.Report(p, reputation.Low, "timeout")
		st, _ = r2.Standing(p)
		raw, err = json.Marshal(st)
		require.NoError(t, err)
		require.NotContains(t, string(raw), "frozen_until", "no freeze: left out")
	})
}

// Odd input changes nothing: an empty peer ID, an unknown action (logged
// at Warn, naming it), a report to a Reputation never started or closed
// twice.
func TestOddInput(t *testing.T) {
	var logs bytes.Buffer
	r := newRep(t, reputation.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	r.Report("", reputation.Fatal, "no one")
	require.Zero(t, r.Len())
	r.Report("p", 0, "zero")
	r.Report("p", reputation.Useful+1, "beyond")
	require.Zero(t, r.Len())
	require.Zero(t, r.Score("p"))
	require.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), logs.String())
	require.Contains(t, logs.String(), "action=Action(6)")
	require.NoError(t, r.Close(), "never started")
	require.NoError(t, r.Close())
	r.Start(context.Background()) // after Close: does nothing
	require.NoError(t, r.Close())
}
