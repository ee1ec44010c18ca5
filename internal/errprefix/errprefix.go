// Package errprefix puts a package's name in front of its errors, once:
// "peerscore/ban: WithBanDuration: -1s is not positive". An error that
// already carries the name, such as the error of a Validate method passed
// on by an option, is marked as such when it is made (Mark), and Add then
// leaves it as it is; no error message is ever inspected.
package errprefix

import "fmt"

// marked is an error whose message already starts with prefix and ": ".
type marked struct {
	prefix string
	err    error
}

func (m marked) Error() string { return m.err.Error() }
func (m marked) Unwrap() error { return m.err }

// Mark says that err's message already starts with prefix and ": ", so
// that Add with the same prefix returns err unchanged. Mark(prefix, nil)
// is nil.
func Mark(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return marked{prefix: prefix, err: err}
}

// Add returns err under prefix: "prefix: err", wrapping err, unless err
// was marked with that prefix by Mark, in which case it returns err
// unchanged (its message is that of the error Mark was given, which it
// wraps). Only err itself is looked at, not the errors it wraps:
// an error that wraps a marked one has a message of its own, which need
// not start with the prefix. Add(prefix, nil) is nil.
func Add(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if m, ok := err.(marked); ok && m.prefix == prefix {
		return err
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
