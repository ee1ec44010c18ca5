package errprefix_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore/internal/errprefix"
)

var errBase = errors.New("base")

func TestAdd(t *testing.T) {
	require.NoError(t, errprefix.Add("p", nil))
	require.NoError(t, errprefix.Mark("p", nil))

	err := errprefix.Add("p", errors.New("WithX: bad"))
	require.EqualError(t, err, "p: WithX: bad")

	// A marked error comes back as it was made, its text never read.
	own := fmt.Errorf("p: WithY: %w", errBase)
	marked := errprefix.Mark("p", own)
	require.Equal(t, marked, errprefix.Add("p", marked))
	require.EqualError(t, marked, "p: WithY: base")
	require.ErrorIs(t, marked, own)
	require.ErrorIs(t, marked, errBase)

	// Marked for another prefix, or by text alone: prefixed.
	require.EqualError(t, errprefix.Add("q", marked), "q: p: WithY: base")
	require.EqualError(t, errprefix.Add("p", own), "p: p: WithY: base")

	// A wrapper round a marked error has a text of its own: prefixed.
	wrapped := fmt.Errorf("WithZ: %w", marked)
	require.EqualError(t, errprefix.Add("p", wrapped), "p: WithZ: p: WithY: base")
	require.ErrorIs(t, errprefix.Add("p", wrapped), errBase)
}
