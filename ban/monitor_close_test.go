package ban_test

import (
	"testing"

	"github.com/peerscore/peerscore/internal/closetest"
)

// Start and Close keep the module's contract (internal/closetest), with
// the Scorer's Score, WithProtected and WithOnBan as the callbacks.
func TestMonitorCloseContract(t *testing.T) { closetest.Run(t, closetest.Monitor) }
