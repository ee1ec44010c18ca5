package testnet

import (
	"runtime"
	"testing"
	"testing/synctest"
)

// Bubble runs body in a synctest bubble (fake time) on one thread. Under
// the race detector, bubbled timers firing on several threads at once trip
// a Go runtime bug (golang/go#78156); pubsub's own tests run on one thread
// for the same reason.
func Bubble(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	synctest.Test(t, body)
}
