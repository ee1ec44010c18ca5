package peerscore_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// WithAppReasons puts the application's explanation of P5 in every
// snapshot of a peer, Snapshot and Snapshots alike, and in their JSON;
// other peers get what the function says of them.
func TestSnapshotAppReasons(t *testing.T) {
	bad, good := peer.ID("bad"), peer.ID("good")
	reasons := map[peer.ID][]string{bad: {"invalid block (high x3)", "slow response (low)"}}
	params := scoretest.Params(nil)
	params.AppSpecificScore = func(p peer.ID) float64 { return -float64(len(reasons[p])) }
	params.AppSpecificWeight = 1
	s := scoretest.New(t, params, peerscore.WithAppReasons(func(p peer.ID) []string { return reasons[p] }))
	scoretest.Connect(s, bad, good)

	snap := scoretest.Snap(t, s, bad)
	require.Equal(t, reasons[bad], snap.AppReasons)
	require.Equal(t, -2.0, snap.AppSpecificScore)
	require.Nil(t, scoretest.Snap(t, s, good).AppReasons)

	all := s.Snapshots()
	require.Equal(t, reasons[bad], all[bad].AppReasons)
	require.Nil(t, all[good].AppReasons)

	raw, err := json.Marshal(snap)
	require.NoError(t, err)
	var back struct {
		AppReasons []string `json:"app_reasons"`
	}
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, reasons[bad], back.AppReasons)
	raw, err = json.Marshal(all[good])
	require.NoError(t, err)
	require.NotContains(t, string(raw), "app_reasons", "no reasons: the field is left out")
}

// Without WithAppReasons, snapshots carry no reasons and their JSON has no
// such field.
func TestSnapshotAppReasonsOff(t *testing.T) {
	s := scoretest.New(t, scoretest.Params(nil))
	p := peer.ID("p")
	scoretest.Connect(s, p)
	snap := scoretest.Snap(t, s, p)
	require.Nil(t, snap.AppReasons)
	raw, err := json.Marshal(s.Snapshots())
	require.NoError(t, err)
	require.NotContains(t, string(raw), "app_reasons")
}

// The function runs outside the scorer's lock (it may call back into the
// scorer: here Stats, which takes the lock and would deadlock otherwise),
// once per peer per snapshot, and never on Score's path.
func TestSnapshotAppReasonsCalledOutsideLock(t *testing.T) {
	var s *peerscore.Scorer
	var calls atomic.Int64
	params := scoretest.Params(nil)
	s = scoretest.New(t, params, peerscore.WithAppReasons(func(peer.ID) []string {
		calls.Add(1)
		_ = s.Stats()
		return []string{"x"}
	}))
	peers := []peer.ID{"a", "b", "c"}
	scoretest.Connect(s, peers...)
	for _, p := range peers {
		_ = s.Score(p)
	}
	require.Zero(t, calls.Load(), "Score must not ask for reasons")
	scoretest.Snap(t, s, peers[0])
	require.EqualValues(t, 1, calls.Load())
	s.Snapshots()
	require.EqualValues(t, 1+len(peers), calls.Load())
}

// A nil function is an error that names the option.
func TestWithAppReasonsNil(t *testing.T) {
	_, err := peerscore.New(scoretest.Params(nil), peerscore.WithAppReasons(nil))
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "peerscore: WithAppReasons:"), err.Error())
}
