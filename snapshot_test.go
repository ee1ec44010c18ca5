package peerscore_test

// What a user marshals to JSON (snapshot.go, and Stats and ThresholdEvent
// alike) reads as text.

import (
	"encoding/json"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/scoretest"
)

// TestJSON: what a user marshals reads as text: peer IDs in base58 (also as
// the keys of Snapshots), enums by name, durations as duration strings.
func TestJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		id, err := peer.Decode("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")
		require.NoError(t, err)
		topic := "T"
		tp := scoretest.InvalidTopic(1, -1)
		tp.TimeInMeshWeight, tp.TimeInMeshQuantum, tp.TimeInMeshCap = 1, time.Second, 10
		s := scoretest.New(t, scoretest.Params(map[string]*peerscore.TopicParams{topic: tp}))
		scoretest.Connect(s, id)
		s.Tracer().Graft(id, topic)
		time.Sleep(90 * time.Second)
		s.Refresh()
		scoretest.RejectN(s, topic, "m", id, 1)

		var snaps map[string]map[string]any
		out, err := json.Marshal(s.Snapshots())
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(out, &snaps))
		snap, ok := snaps[id.String()]
		require.Truef(t, ok, "Snapshots keyed by the peer ID as text: %s", out)
		require.Equal(t, id.String(), snap["peer"])
		require.Equal(t, "1m30s", snap["topics"].(map[string]any)[topic].(map[string]any)["time_in_mesh"])
		require.Equal(t, -1.0+10, snap["score"], "P4 of one invalid message, P1 capped at 10")

		out, err = json.Marshal(s.Stats())
		require.NoError(t, err)
		var stats map[string]any
		require.NoError(t, json.Unmarshal(out, &stats))
		require.Equal(t, 1.0, stats["penalties"].(map[string]any)["invalid_message"], "%s", out)

		out, err = json.Marshal(peerscore.ThresholdEvent{Peer: id, Threshold: peerscore.ThresholdGossip, Reason: peerscore.ComponentInvalidMessages})
		require.NoError(t, err)
		var ev map[string]any
		require.NoError(t, json.Unmarshal(out, &ev))
		require.Equal(t, id.String(), ev["peer"])
		require.Equal(t, "gossip", ev["threshold"])
		require.Equal(t, string(peerscore.ComponentInvalidMessages), ev["reason"])
	})
}

// TestJSONInfinite: a score of ±Inf, which AppSpecificScore can give, still
// marshals (JSON has no infinity): as ±MaxFloat64.
func TestJSONInfinite(t *testing.T) {
	p := scoretest.Params(nil)
	p.AppSpecificScore, p.AppSpecificWeight = func(peer.ID) float64 { return math.Inf(-1) }, 1
	s := scoretest.New(t, p)
	scoretest.Connect(s, "A")
	snap := scoretest.Snap(t, s, "A")
	require.True(t, math.IsInf(snap.Score, -1))
	out, err := json.Marshal(s.Snapshots())
	require.NoError(t, err)
	require.Contains(t, string(out), `"score":-1.7976931348623157e+308`)
	_, err = json.Marshal(peerscore.ThresholdEvent{Peer: "A", Old: 0, New: math.Inf(-1), ReasonValue: math.Inf(-1)})
	require.NoError(t, err)
}

// Dominant names the most negative component of a negative score and the
// most positive of a positive one, the first by name among equals, and
// nothing when no component is other than zero (a negative zero
// included).
func TestDominant(t *testing.T) {
	topic := func(p1, p4 float64) map[string]peerscore.TopicSnapshot {
		return map[string]peerscore.TopicSnapshot{"t": {P1: p1, P4: p4, TopicWeight: 1, Score: p1 + p4}}
	}
	for _, tc := range []struct {
		name  string
		snap  peerscore.Snapshot
		want  peerscore.Component
		value float64
	}{
		{"nothing", peerscore.Snapshot{}, "", 0},
		{"negative zeros", peerscore.Snapshot{P6: math.Copysign(0, -1), P7: math.Copysign(0, -1)}, "", 0},
		{"positive", peerscore.Snapshot{Score: 0.03, TopicScore: 0.03, Topics: topic(0.03, 0)}, peerscore.ComponentTimeInMesh, 0.03},
		{"negative", peerscore.Snapshot{Score: -9, TopicScore: -10, P5: 1, Topics: topic(0, -10)}, peerscore.ComponentInvalidMessages, -10},
		{"a negative score owes nothing to its positive part", peerscore.Snapshot{Score: -1, P5: 5, P7: -6}, peerscore.ComponentBehaviourPenalty, -6},
		{"ties by name", peerscore.Snapshot{Score: -2, P6: -1, P7: -1}, peerscore.ComponentIPColocation, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, v := tc.snap.Dominant()
			require.Equal(t, tc.want, c)
			require.Equal(t, tc.value, v)
		})
	}
}
