// Package option applies functional options, the same way for every
// constructor of the module: in order, skipping nil options, stopping at
// the first error, which it prefixes with the package's name once.
package option

import (
	"errors"
	"fmt"

	"github.com/peerscore/peerscore/internal/errprefix"
)

// Apply applies opts to cfg. An error comes back as "prefix: error",
// unless the option marked it as already prefixed (errprefix.Mark: the
// error of a Validate method passed on, say), which comes back as it is.
func Apply[C any, O ~func(*C) error](prefix string, cfg *C, opts []O) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(cfg); err != nil {
			return errprefix.Add(prefix, err)
		}
	}
	return nil
}

// Check returns the option most options of the module are: one check of
// the argument, then one field set. When ok is false the option fails with
// problem, which names the option ("WithLogger: nil logger"; Apply adds
// the package's prefix); otherwise it applies set.
func Check[C any](ok bool, problem string, set func(*C)) func(*C) error {
	return func(c *C) error {
		if !ok {
			return errors.New(problem)
		}
		set(c)
		return nil
	}
}

// Positive is Check for a count or a duration that must be above zero
// (a NaN is not): the error reads "name: v is not positive".
func Positive[C any, N ~int | ~int64 | ~float64](name string, v N, set func(*C)) func(*C) error {
	return func(c *C) error {
		if !(v > 0) {
			return fmt.Errorf("%s: %v is not positive", name, v)
		}
		set(c)
		return nil
	}
}
