package reputation

import (
	"fmt"

	"github.com/peerscore/peerscore/internal/statefile"
)

// SaveFile saves the reputation (see Save) to the file at path,
// atomically, as the Scorer's and the Gater's SaveFile do: a temporary
// file in the same directory, synced, renamed over path, the directory
// synced. A crash at any point leaves either the old file or the new one;
// on error path is untouched. The file is created with mode 0600.
// Temporary files an interrupted SaveFile left are removed first. Two
// processes must not save to the same path. A node with a go-datastore
// keeps the reputation there instead, with package dsstore.
func (r *Reputation) SaveFile(path string) error {
	data, err := r.encodeState()
	if err != nil {
		return err
	}
	if err := statefile.WriteFile(path, data, r.cfg.logger); err != nil {
		return fmt.Errorf("peerscore/reputation: save %s: %w", path, err)
	}
	return nil
}

// LoadFile loads the reputation saved at path (see Load). A missing file
// is an error that satisfies errors.Is(err, fs.ErrNotExist): the first
// start. A file that is not a valid saved reputation is moved aside, to
// path + ".damaged-" + the UTC time, and logged at error level
// (WithLogger); LoadFile then returns an error wrapping ErrInvalidState
// and the Reputation is left unchanged. Either way the node should start.
// LoadFile also removes the temporary files an interrupted SaveFile to
// path left, except those of SaveFile calls still running in this
// process.
func (r *Reputation) LoadFile(path string) error {
	return statefile.Loader{
		What: "saved peer reputations", Prefix: "peerscore/reputation", Limit: r.cfg.limits.size,
		Logger: r.cfg.logger, Invalid: ErrInvalidState,
		TooLarge: func() error { return invalidState("larger than %d bytes", r.cfg.limits.size) },
		Load:     r.loadState,
	}.LoadFile(path)
}
