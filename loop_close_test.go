package peerscore_test

import (
	"testing"

	"github.com/peerscore/peerscore/internal/closetest"
)

// Start and Close keep the module's contract (internal/closetest), with
// WithInspect and WithThresholdEvents as the callbacks.
func TestCloseContract(t *testing.T) { closetest.Run(t, closetest.Scorer) }
