package bubble_test

import (
	"testing"
	"testing/synctest"

	"github.com/peerscore/peerscore/internal/bubble"
)

func TestReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		blocked := bubble.Go(func() { <-release })
		quick := bubble.Go(func() {})
		if !bubble.Returned(quick) {
			t.Fatal("a call that does not block has not returned")
		}
		if bubble.Returned(blocked) {
			t.Fatal("a blocked call has returned")
		}
		close(release)
		if !bubble.Returned(blocked) {
			t.Fatal("a released call has not returned")
		}
	})
}

func TestGoroutinesCountsTheBubbleAlone(t *testing.T) {
	outside := make(chan struct{})
	defer close(outside)
	for range 3 {
		go func() { <-outside }()
	}
	synctest.Test(t, func(t *testing.T) {
		base := bubble.Goroutines()
		if base < 1 {
			t.Fatalf("the bubble counts %d goroutines, want at least the caller", base)
		}
		release := make(chan struct{})
		for range 5 {
			go func() { <-release }()
		}
		if got := bubble.Goroutines(); got != base+5 {
			t.Errorf("after starting 5: %d goroutines, want %d", got, base+5)
		}
		close(release)
		if got := bubble.Goroutines(); got != base {
			t.Errorf("after they ended: %d goroutines, want %d", got, base)
		}
	})
}
