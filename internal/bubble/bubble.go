// Package bubble helps tests that run in a testing/synctest bubble tell
// whether a call that may block has returned, without sleeping for real:
// after synctest.Wait every goroutine of the bubble has run as far as it
// can, so the call has either returned or is durably blocked.
package bubble

import "testing/synctest"

// Go runs fn on a goroutine of its own and returns a channel closed when
// fn has returned.
func Go(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	return done
}

// Returned reports whether done is closed, once the bubble is quiet. It
// must be called from inside the bubble.
func Returned(done <-chan struct{}) bool {
	synctest.Wait()
	select {
	case <-done:
		return true
	default:
		return false
	}
}
