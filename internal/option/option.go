// Package option applies functional options, the same way for every
// constructor of the module: in order, skipping nil options, stopping at
// the first error, which it prefixes with the package's name once.
package option

import (
	"strings"

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
			if unmarkedRootPrefix(prefix, err) {
				return err
			}
			return errprefix.Add(prefix, err)
		}
	}
	return nil
}

// unmarkedRootPrefix reports whether err is one of the root package's
// option errors that already carry its prefix without being marked (the
// ParamError of WithThresholds, which prints "peerscore: ...", and the
// error of WithGossipSubParams). It is the one place the module still
// reads an error's text to decide on its prefix, and goes away once the
// root marks those two errors with errprefix.Mark.
func unmarkedRootPrefix(prefix string, err error) bool {
	return prefix == "peerscore" && strings.HasPrefix(err.Error(), prefix+": ")
}
