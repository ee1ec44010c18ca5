package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// The defect: the liar, at a score that printed as 0.0, was shown
// "because of P1 time in mesh (0.0)": a few seconds in the mesh, blamed.
// A score at or above zero has nothing to blame; a negative one names its
// most negative component, printed so that a small one does not read 0.
func TestBlame(t *testing.T) {
	inMesh := peerscore.Snapshot{Score: 0.03, TopicScore: 0.03, Topics: map[string]peerscore.TopicSnapshot{
		"t": {P1: 0.03, TopicWeight: 1, Score: 0.03},
	}}
	require.Equal(t, "-", blame(inMesh))
	require.Equal(t, "-", blame(peerscore.Snapshot{}))
	require.Equal(t, "P7 behaviour (-10)", blame(peerscore.Snapshot{Score: -10, P7: -10}))
	slight := peerscore.Snapshot{Score: -0.004, TopicScore: -0.004, Topics: map[string]peerscore.TopicSnapshot{
		"t": {P3b: -0.004, TopicWeight: 1, Score: -0.004},
	}}
	require.Equal(t, "P3b mesh failure (-0.004)", blame(slight))
}
