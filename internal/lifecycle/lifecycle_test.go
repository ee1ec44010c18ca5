package lifecycle

import (
	"sync"
	"testing"
	"testing/synctest"
)

// goroutineID reads the runtime's header format; if that ever changes,
// Close from a callback would deadlock again, so check it here: non-zero,
// stable within a goroutine, distinct across goroutines, in a synctest
// bubble too (whose header adds the bubble after the ID).
func TestGoroutineID(t *testing.T) {
	check := func(t *testing.T) {
		me := goroutineID()
		if me == 0 || goroutineID() != me {
			t.Fatalf("goroutineID() = %d, then %d", me, goroutineID())
		}
		ids := make([]uint64, 8)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i] = goroutineID() })
		}
		wg.Wait()
		seen := map[uint64]bool{me: true}
		for _, id := range ids {
			if id == 0 || seen[id] {
				t.Fatalf("goroutine IDs not distinct and non-zero: %d and %v", me, ids)
			}
			seen[id] = true
		}
	}
	check(t)
	synctest.Test(t, check)
}
