package peerscore_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestStatsCaps: Stats reports the bounds in force, the defaults and the
// ones given, next to the counts they bound, and JSON names them.
func TestStatsCaps(t *testing.T) {
	params := scoretest.Params(nil)
	st := scoretest.New(t, params).Stats()
	require.Equal(t, 1<<19, st.MaxDeliveryRecords, "WithMaxDeliveryRecords' default")
	require.Equal(t, 1<<13, st.MaxRetainedPeers, "WithMaxRetainedPeers' default")

	s := scoretest.New(t, params, peerscore.WithMaxDeliveryRecords(3), peerscore.WithMaxRetainedPeers(2))
	for i := range 5 {
		scoretest.Deliver(s, scoretest.Msg("t", string(rune('a'+i)), "A"))
	}
	st = s.Stats()
	require.Equal(t, 3, st.MaxDeliveryRecords)
	require.Equal(t, 2, st.MaxRetainedPeers)
	require.Equal(t, 3, st.DeliveryRecords, "held at the bound Stats reports")

	raw, err := json.Marshal(st)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.Equal(t, 3.0, fields["max_delivery_records"])
	require.Equal(t, 2.0, fields["max_retained_peers"])
}
