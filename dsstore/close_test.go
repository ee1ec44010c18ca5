package dsstore_test

import (
	"testing"

	"github.com/peerscore/peerscore/internal/closetest"
)

// Start and Close keep the module's contract (internal/closetest).
func TestCloseContract(t *testing.T) { closetest.Run(t, closetest.Store) }
