package scorehttp

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestParamsViewCarriesEveryField: GET /params' data, built from Params
// and Thresholds whose every field is set (by reflection, so a field added
// later is set too), reads back as a peerscore.ParamsDocument equal to
// them but for AppSpecificScore, which is left out.
func TestParamsViewCarriesEveryField(t *testing.T) {
	p, th := scoretest.FilledParams(t)
	raw, err := json.Marshal(newParamsView(p, th))
	require.NoError(t, err)

	var got peerscore.ParamsDocument
	require.NoError(t, json.Unmarshal(raw, &got))
	want := *p
	want.AppSpecificScore = nil
	require.Equal(t, &want, got.Params)
	require.Equal(t, th, got.Thresholds)

	raw, err = json.Marshal(newParamsView(p, nil))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &got))
	require.Nil(t, got.Thresholds, "null without thresholds")
}
