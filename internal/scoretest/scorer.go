package scoretest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
)

// Save returns what s.Save writes, failing the test on an error.
func Save(t testing.TB, s *peerscore.Scorer) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, s.Save(&buf))
	return buf.Bytes()
}

// Known lists the peers s knows, connected or retained, as strings.
func Known(s *peerscore.Scorer) []string {
	var out []string
	for p := range s.Snapshots() {
		out = append(out, string(p))
	}
	return out
}
