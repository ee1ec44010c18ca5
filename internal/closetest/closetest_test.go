package closetest_test

import (
	"testing"

	"github.com/peerscore/peerscore/internal/closetest"
)

// Callbacks of any two components, or of two of the same, closing both at
// once. Each component's own package runs closetest.Run on it.
func TestPairs(t *testing.T) { closetest.Pairs(t, closetest.All...) }
