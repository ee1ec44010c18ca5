// Package pkgtest holds test helpers that the sub-packages' tests (ban,
// rank, reputation, ...) share and the root's do not: checks of the
// module's option errors (errors.go), and a score table to stand in for
// a scorer (scoretable.go). Only tests import it.
package pkgtest
