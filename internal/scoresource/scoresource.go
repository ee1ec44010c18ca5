// Package scoresource is where the ban and rank packages read peers'
// scores from: the Scorer interface, the adapter that makes a function a
// Scorer, and the check that a Scorer can be called at all. Both packages
// export these under their own names (ban.Scorer, rank.ScoreFunc, ...), as
// aliases, so a Scorer or ScoreFunc made for one is also one for the other.
package scoresource

import (
	"fmt"
	"reflect"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Scorer gives a peer's score: *peerscore.Scorer, or any other score.
type Scorer interface {
	Score(peer.ID) float64
}

// Func is a score function used as a Scorer: a peer's score is f(peer).
type Func func(peer.ID) float64

// Score returns f(p).
func (f Func) Score(p peer.ID) float64 { return f(p) }

// IsNil reports whether s is nil, or a nil pointer, function, map, slice,
// channel or interface inside the interface: a Scorer whose Score would
// panic, which a constructor rejects at once rather than let it panic
// later on a goroutine of its own.
func IsNil(s Scorer) bool {
	if s == nil {
		return true
	}
	switch v := reflect.ValueOf(s); v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// CheckArgs returns the error of constructor fn (under the package's
// prefix) for the arguments ban's Monitor and rank's Tagger both take: no
// host, or a Scorer whose Score would panic (IsNil). It returns nil when
// both can be used.
func CheckArgs(prefix, fn string, h host.Host, s Scorer) error {
	switch {
	case h == nil:
		return fmt.Errorf("%s: %s: nil host", prefix, fn)
	case IsNil(s):
		return fmt.Errorf("%s: %s: nil Scorer", prefix, fn)
	}
	return nil
}
