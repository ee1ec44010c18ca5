// Package paramerr reports invalid parameters found by the module's
// sub-packages. The error is a peerscore.ParamError printed under the
// sub-package's name, once:
//
//	peerscore/derive: topic "blocks": Topic.MeshDegree = 0: must be at least 1
//
// and it unwraps to that ParamError, so callers use errors.As and
// errors.Is(err, peerscore.ErrInvalidParams) exactly as with the root's own
// errors.
package paramerr

import (
	"errors"
	"fmt"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/errprefix"
)

// New returns the error for one invalid field, under prefix (e.g.
// "peerscore/derive"). topic is empty for fields outside a topic.
func New(prefix, topic, field string, value any, rule string) error {
	pe := &peerscore.ParamError{Topic: topic, Field: field, Value: value, Rule: rule}
	return &prefixed{prefix: prefix, pe: pe, cause: pe}
}

// Wrap returns err under prefix. A ParamError in err's chain is printed
// under prefix instead of whatever prefix it had (the root's "peerscore",
// or another sub-package's), so an error passed up through two packages
// still carries one prefix, that of the package the caller called; err
// stays in the chain. Any other error gets the prefix unless it was
// marked as having it already (errprefix.Mark). Wrap(prefix, nil) is nil.
func Wrap(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if p, ok := err.(*prefixed); ok && p.prefix == prefix {
		return err
	}
	var pe *peerscore.ParamError
	if errors.As(err, &pe) {
		return &prefixed{prefix: prefix, pe: pe, cause: err}
	}
	return errprefix.Add(prefix, err)
}

// prefixed is a ParamError printed under a sub-package's prefix.
type prefixed struct {
	prefix string
	pe     *peerscore.ParamError // what Error prints
	cause  error                 // the error wrapped: pe, or an error holding it
}

// Error reads as ParamError's own message, with the sub-package's prefix.
func (e *prefixed) Error() string {
	if e.pe.Topic != "" {
		return fmt.Sprintf("%s: topic %q: %s = %v: %s", e.prefix, e.pe.Topic, e.pe.Field, e.pe.Value, e.pe.Rule)
	}
	return fmt.Sprintf("%s: %s = %v: %s", e.prefix, e.pe.Field, e.pe.Value, e.pe.Rule)
}

// Unwrap leads errors.As to the ParamError, and errors.Is, through it, to
// peerscore.ErrInvalidParams.
func (e *prefixed) Unwrap() error { return e.cause }
