package ethereum_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/preset/ethereum"
)

func TestMeshPenaltyText(t *testing.T) {
	for _, tt := range []struct {
		m    ethereum.MeshPenalty
		text string
	}{
		{ethereum.MeshPenaltyFull, "full"},
		{ethereum.MeshPenaltyMild, "mild"},
		{ethereum.MeshPenaltyOff, "off"},
	} {
		assert.Equal(t, tt.text, tt.m.String())
		got, err := tt.m.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, tt.text, string(got))
		var back ethereum.MeshPenalty = 99
		require.NoError(t, back.UnmarshalText([]byte(tt.text)))
		assert.Equal(t, tt.m, back)
	}

	assert.Equal(t, "MeshPenalty(7)", ethereum.MeshPenalty(7).String())
	_, err := ethereum.MeshPenalty(7).MarshalText()
	assert.EqualError(t, err, "peerscore/ethereum: MeshPenalty(7) is not full, mild or off")
	_, err = ethereum.MeshPenalty(-1).MarshalText()
	assert.Error(t, err)

	m := ethereum.MeshPenaltyMild
	assert.EqualError(t, m.UnmarshalText([]byte("Full")), `peerscore/ethereum: mesh penalty "Full": want full, mild or off`)
	assert.Equal(t, ethereum.MeshPenaltyMild, m, "a failed read changes nothing")
}

// A Preset in a configuration file carries its mesh penalty as a word.
func TestMeshPenaltyJSON(t *testing.T) {
	in := ethereum.Preset{ActiveValidators: 500_000, MeshPenalty: ethereum.MeshPenaltyOff}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"MeshPenalty":"off"`)
	var out ethereum.Preset
	require.NoError(t, json.Unmarshal(raw, &out))
	assert.Equal(t, in, out)

	err = json.Unmarshal([]byte(`{"MeshPenalty":"harsh"}`), &out)
	assert.ErrorContains(t, err, `mesh penalty "harsh"`)
}
