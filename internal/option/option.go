// Package option applies functional options, the same way for every
// constructor of the module: in order, skipping nil options, stopping at
// the first error, which it prefixes with the package's name once.
package option

import (
	"fmt"
	"strings"
)

// Apply applies opts to cfg. An error comes back as "prefix: error", unless
// it already starts with the prefix (an option passing on the error of a
// Validate method, say).
func Apply[C any, O ~func(*C) error](prefix string, cfg *C, opts []O) error {
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(cfg); err != nil {
			if strings.HasPrefix(err.Error(), prefix+": ") {
				return err
			}
			return fmt.Errorf("%s: %w", prefix, err)
		}
	}
	return nil
}
