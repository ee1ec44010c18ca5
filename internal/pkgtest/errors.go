package pkgtest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RequireNamedError checks that err says what is wrong the module's way:
// the package's prefix once ("peerscore/ban"), then the option, function
// or argument at fault (name), then what it says (says).
func RequireNamedError(t testing.TB, err error, prefix, name, says string) {
	t.Helper()
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, prefix+": "+name+": "), "error %q does not start with the prefix and %s", msg, name)
	require.Equal(t, 1, strings.Count(msg, "peerscore"), "prefix repeated in %q", msg)
	require.Contains(t, msg, says)
}
