package reputation_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/reputation"
)

// Actions marshal to their names and back; unnamed ones are refused both
// ways, and String still says what they are.
func TestActionText(t *testing.T) {
	for a, name := range map[reputation.Action]string{
		reputation.Low: "low", reputation.Mid: "mid", reputation.High: "high",
		reputation.Fatal: "fatal", reputation.Useful: "useful",
	} {
		require.Equal(t, name, a.String())
		raw, err := json.Marshal(a)
		require.NoError(t, err)
		require.Equal(t, `"`+name+`"`, string(raw))
		var back reputation.Action
		require.NoError(t, json.Unmarshal(raw, &back))
		require.Equal(t, a, back)
	}
	for _, bad := range []reputation.Action{0, reputation.Useful + 1, 255} {
		_, err := json.Marshal(bad)
		require.Error(t, err, "action %d", bad)
		require.Contains(t, bad.String(), "Action(")
	}
	var a reputation.Action
	err := json.Unmarshal([]byte(`"severe"`), &a)
	require.ErrorContains(t, err, `unknown action "severe"`)
	require.Zero(t, a, "a failed read leaves the action alone")
	require.Error(t, json.Unmarshal([]byte(`""`), &a), "the empty name is no action")
}
