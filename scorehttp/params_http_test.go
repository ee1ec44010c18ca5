package scorehttp_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestParamsServesTheDocument: GET /params' data is a
// peerscore.ParamsDocument that reads back as the scorer's own parameters
// (topics added later and the colocation whitelist included) and
// thresholds, so it can be saved and given to the attack lab's -params.
func TestParamsServesTheDocument(t *testing.T) {
	p := params()
	p.IPColocationFactorWeight, p.IPColocationFactorThreshold = -5, 2
	p.IPColocationFactorWhitelist = []*net.IPNet{scoretest.CIDR("10.0.0.0/8"), scoretest.CIDR("fd00::/8")}
	s := scoretest.New(t, p, peerscore.WithThresholds(thresholds()))
	require.NoError(t, s.SetTopicParams("late", scoretest.FirstTopic(0.5, 1, 10)))

	var got struct{ Data peerscore.ParamsDocument }
	get(t, serve(t, s)+"/params", http.StatusOK, &got)
	want := s.Params()
	want.AppSpecificScore = nil
	require.Equal(t, want, got.Data.Params)
	require.Equal(t, s.Thresholds(), got.Data.Thresholds)
	require.Len(t, got.Data.Params.Topics, 3)
}
