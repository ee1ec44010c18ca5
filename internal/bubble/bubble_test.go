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
