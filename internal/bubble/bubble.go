// Package bubble helps tests that run in a testing/synctest bubble tell
// whether a call that may block has returned, without sleeping for real:
// after synctest.Wait every goroutine of the bubble has run as far as it
// can, so the call has either returned or is durably blocked.
package bubble

import (
	"regexp"
	"runtime"
	"testing/synctest"
)

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

// Goroutines counts the goroutines of the caller's bubble, once it is
// quiet. runtime.NumGoroutine counts the whole process, where goroutines
// of earlier tests may still be ending; the traceback names each
// goroutine's bubble, so the count here is the bubble's alone. It must
// be called from inside the bubble.
func Goroutines() int {
	synctest.Wait()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	headers := goroutineHeader.FindAllSubmatch(buf, -1)
	if len(headers) == 0 {
		return 0
	}
	// The first goroutine of an all-goroutine traceback is the caller's.
	mine := string(headers[0][1])
	if mine == "" {
		return 0
	}
	count := 0
	for _, h := range headers {
		if string(h[1]) == mine {
			count++
		}
	}
	return count
}

// goroutineHeader matches a traceback's "goroutine N [state, synctest
// bubble B]:" line and captures the bubble label, empty outside one.
var goroutineHeader = regexp.MustCompile(`(?m)^goroutine \d+ \[[^\]]*?(synctest bubble \d+)?\]:`)
