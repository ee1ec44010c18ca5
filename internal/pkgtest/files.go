package pkgtest

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Damage flips one bit in the middle of the file at path, as a failing
// disk might: a saved state must then fail its checksum.
func Damage(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEmpty(t, data)
	data[len(data)/2] ^= 1
	require.NoError(t, os.WriteFile(path, data, 0o600))
}
