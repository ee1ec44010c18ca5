package peerscore

import (
	"fmt"

	"github.com/peerscore/peerscore/internal/statefile"
)

// SaveFile saves the scorer's state (see Save) to the file at path,
// atomically: it writes a temporary file in the same directory, syncs it
// to disk, renames it over path and syncs the directory. A crash at any
// point leaves either the old file or the new one, never a mix; on error
// the temporary file is removed and path is untouched. The file is created
// with mode 0600. Temporary files for path that an earlier SaveFile left
// behind when the process crashed are removed first (see LoadFile).
// SaveFile calls may run at once, for the same path or not; the last to
// finish wins. Two processes must not save to the same path.
func (s *Scorer) SaveFile(path string) error {
	data, err := s.encodeSaved()
	if err != nil {
		return err
	}
	if err := statefile.WriteFile(path, data, s.logger); err != nil {
		return fmt.Errorf("peerscore: save %s: %w", path, err)
	}
	return nil
}

// LoadFile loads the state file at path (see Load), so that a node starts
// with the bad peers it knew. A missing file is an error that satisfies
// errors.Is(err, fs.ErrNotExist). A file that is not a valid state (damaged,
// truncated, larger than 64 MiB, of another version) is moved aside,
// to path + ".damaged-" + the UTC time, and logged at error level through
// the Scorer's logger; LoadFile then returns an error wrapping
// ErrInvalidState and the scorer is left unchanged. A file larger than
// 64 MiB is refused before any of it is read.
//
// Either way the node should start: losing retained scores costs less than
// not starting. The start-up pattern:
//
//	if err := scorer.LoadFile(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
//		logger.Warn("starting without saved peer scores", "err", err)
//	}
//
// LoadFile also removes the temporary files an interrupted SaveFile to
// path left in its directory (named "." + the file's name + ".tmp-" and
// digits), except those of SaveFile calls still running in this process.
func (s *Scorer) LoadFile(path string) error {
	return statefile.Loader{
		What: "saved peer scores", Prefix: "peerscore", Limit: s.stateLimits.size, Logger: s.logger, Invalid: ErrInvalidState,
		TooLarge: func() error { return tooLarge(s.stateLimits) },
		Load:     s.loadState,
	}.LoadFile(path)
}
