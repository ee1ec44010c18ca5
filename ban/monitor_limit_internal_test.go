package ban

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The budget is the share of the base, rounded down with no float
// surprise, and at least one.
func TestBanLimiterBudget(t *testing.T) {
	for _, tc := range []struct {
		share float64
		base  int
		want  int
	}{
		{0.1, 100, 10},
		{0.29, 100, 29}, // 28.999999999999996 in float64
		{0.07, 100, 7},
		{0.3, 10, 3},
		{0.1, 99, 9},
		{0.1, 5, 1},
		{0.1, 0, 1},
		{0.5, 3, 1},
		{1, 7, 7},
		{1, 0, 1},
	} {
		l := banLimiter{share: tc.share, base: tc.base}
		require.Equal(t, tc.want, l.budget(), "%v of %d", tc.share, tc.base)
	}
}

// A ban counts against the window for exactly the window's length.
func TestBanLimiterWindow(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := banLimiter{share: 0.5, window: time.Minute}
	l.startRound(4, t0) // budget 2
	require.True(t, l.allow(t0))
	l.record(t0)
	require.True(t, l.allow(t0.Add(time.Second)))
	l.record(t0.Add(time.Second))
	require.False(t, l.allow(t0.Add(time.Second)))
	require.False(t, l.allow(t0.Add(time.Minute-time.Nanosecond)))
	require.True(t, l.allow(t0.Add(time.Minute)), "the first ban has left the window")
	require.Len(t, l.recent, 1)
	l.startRound(2, t0.Add(time.Minute)) // 2 connected + 1 banned in the window
	require.Equal(t, 3, l.base)
	require.True(t, l.allow(t0.Add(2*time.Minute)))
	require.Empty(t, l.recent)
}
