// Package bubble helps tests that run in a testing/synctest bubble tell
// whether a call that may block has returned, without sleeping for real:
// after synctest.Wait every goroutine of the bubble has run as far as it
// can, so the call has either returned or is durably blocked.
package bubble

import (
	"regexp"
	"runtime"
	"strings"
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
// of earlier tests may still be ending. It must be called from inside the
// bubble.
func Goroutines() int {
	return len(Stacks())
}

// Stacks returns the tracebacks of the caller's bubble's goroutines, once
// it is quiet, its caller's first. The runtime's traceback names each
// goroutine's bubble, which is how goroutines of other tests are left out.
// It must be called from inside the bubble.
func Stacks() []string {
	synctest.Wait()
	all := strings.Split(allStacks(), "\n\n")
	mine := bubbleOf(all[0])
	if mine == "" {
		// Outside a bubble synctest.Wait has already panicked, so the
		// traceback's format has changed: counting nothing would let a
		// leak pass.
		panic("bubble: the traceback names no bubble: " + strings.SplitN(all[0], "\n", 2)[0])
	}
	var stacks []string
	for _, g := range all {
		if bubbleOf(g) == mine {
			stacks = append(stacks, g)
		}
	}
	return stacks
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// bubbleOf returns the bubble label of a traceback's "goroutine N [state,
// synctest bubble B]:" header, empty outside a bubble.
func bubbleOf(stack string) string {
	m := goroutineHeader.FindStringSubmatch(stack)
	if m == nil {
		return ""
	}
	return m[1]
}

var goroutineHeader = regexp.MustCompile(`^goroutine \d+ \[[^\]]*?(synctest bubble \d+)?\]:`)
