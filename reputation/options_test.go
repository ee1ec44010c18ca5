package reputation_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/pkgtest"
	"github.com/peerscore/peerscore/reputation"
)

// An invalid option is refused with an error that names it after the
// package's prefix, once, and no Reputation is made.
func TestNewRejectsInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  reputation.Option
		want string // the option the error names
		says string // and what it says
	}{
		{"zero half-life", reputation.WithHalfLife(0), "WithHalfLife", "not positive"},
		{"negative half-life", reputation.WithHalfLife(-time.Second), "WithHalfLife", "not positive"},
		{"fatal points", reputation.WithPenalty(reputation.Fatal, 50), "WithPenalty", "takes no points"},
		{"useful points", reputation.WithPenalty(reputation.Useful, 5), "WithPenalty", "takes no points"},
		{"unnamed action", reputation.WithPenalty(0, 5), "WithPenalty", "takes no points"},
		{"zero points", reputation.WithPenalty(reputation.Low, 0), "WithPenalty", "not in (0, 100]"},
		{"negative points", reputation.WithPenalty(reputation.Mid, -5), "WithPenalty", "not in (0, 100]"},
		{"too many points", reputation.WithPenalty(reputation.High, 101), "WithPenalty", "not in (0, 100]"},
		{"NaN points", reputation.WithPenalty(reputation.High, math.NaN()), "WithPenalty", "not in (0, 100]"},
		{"zero reward", reputation.WithReward(0, 10), "WithReward", "points is not in"},
		{"NaN reward", reputation.WithReward(math.NaN(), 10), "WithReward", "points is not in"},
		{"zero maximum", reputation.WithReward(1, 0), "WithReward", "maximum 0 is not in"},
		{"maximum above the scale", reputation.WithReward(1, 101), "WithReward", "maximum 101 is not in"},
		{"+Inf maximum", reputation.WithReward(1, math.Inf(1)), "WithReward", "maximum +Inf is not in"},
		{"freeze at zero", reputation.WithFreeze(0, time.Hour), "WithFreeze", "level 0 is not in"},
		{"freeze below the scale", reputation.WithFreeze(-101, time.Hour), "WithFreeze", "level -101 is not in"},
		{"freeze at NaN", reputation.WithFreeze(math.NaN(), time.Hour), "WithFreeze", "level NaN is not in"},
		{"freeze for no time", reputation.WithFreeze(-50, 0), "WithFreeze", "duration 0s is not positive"},
		{"no peers", reputation.WithMaxPeers(0), "WithMaxPeers", "not positive"},
		{"no reasons", reputation.WithMaxReasons(0), "WithMaxReasons", "not in [1, 64]"},
		{"too many reasons", reputation.WithMaxReasons(65), "WithMaxReasons", "not in [1, 64]"},
		{"zero interval", reputation.WithDecayInterval(0), "WithDecayInterval", "not positive"},
		{"nil logger", reputation.WithLogger(nil), "WithLogger", "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := reputation.New(reputation.WithMaxPeers(8), tc.opt)
			pkgtest.RequireNamedError(t, err, "peerscore/reputation", tc.want, tc.says)
			require.Nil(t, r)
		})
	}
}

// Nil options are skipped, as everywhere in the module.
func TestNewSkipsNilOptions(t *testing.T) {
	r, err := reputation.New(nil, reputation.WithMaxPeers(3), nil)
	require.NoError(t, err)
	require.NotNil(t, r)
}
