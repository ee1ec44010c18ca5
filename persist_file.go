package peerscore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// stateFiles serialises, across every Scorer of the process, what SaveFile
// and LoadFile do to the names in a state file's directory: creating a
// temporary file, removing stale ones, renaming over the state file and
// moving a damaged one aside. temps holds the temporary files SaveFile
// calls are still writing (absolute paths), so that cleaning up after a
// crash never removes one of them.
var stateFiles struct {
	sync.Mutex
	temps map[string]struct{}
}

// SaveFile saves the scorer's state (see Save) to the file at path,
// atomically: it writes a temporary file in the same directory, syncs it
// to disk, renames it over path and syncs the directory. A crash at any
// point leaves either the old file or the new one, never a mix; on error
// the temporary file is removed and path is untouched. The file is created
// with mode 0600. Temporary files for path that an earlier SaveFile left
// behind when the process crashed are removed first (see LoadFile).
// SaveFile calls may run at once, for the same path or not; the last to
// finish wins. Two processes must not save to the same path.
func (s *Scorer) SaveFile(path string) (err error) {
	dir, base := splitStatePath(path)
	data, err := s.encodeSaved()
	if err != nil {
		return err
	}
	s.removeStaleTemps(dir, base)
	f, done, err := createStateTemp(dir, base)
	if err != nil {
		return fmt.Errorf("peerscore: save %s: %w", path, err)
	}
	defer done()
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("peerscore: save %s: %w", path, err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	stateFiles.Lock()
	err = os.Rename(tmp, path)
	stateFiles.Unlock()
	if err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for syncing, and its renames need no such step.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
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
	dir, base := splitStatePath(path)
	s.removeStaleTemps(dir, base)
	data, read, err := s.readStateFile(path)
	if err == nil {
		err = s.loadState(data)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrInvalidState) {
		return err
	}
	return s.setAside(path, read, err)
}

// readStateFile reads the state file at path, refusing one that is too
// large before reading it, and returns what it learnt about the file too.
func (s *Scorer) readStateFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("peerscore: load: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("peerscore: load: %w", err)
	}
	limit := int64(s.stateLimits.size)
	if info.Mode().IsRegular() && info.Size() > limit {
		return nil, info, tooLarge(s.stateLimits)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, info, fmt.Errorf("peerscore: load %s: %w", path, err)
	}
	return data, info, nil
}

// setAside moves the invalid state file at path out of the way, so that
// the next save starts afresh and the damaged file stays for inspection.
// read is the file as it was read: if a SaveFile has replaced it since,
// the new file stays where it is.
func (s *Scorer) setAside(path string, read fs.FileInfo, cause error) error {
	aside := path + ".damaged-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	stateFiles.Lock()
	now, err := os.Stat(path)
	if err == nil && !os.SameFile(read, now) {
		err = errors.New("replaced since it was read")
	}
	if err == nil {
		err = os.Rename(path, aside)
	}
	stateFiles.Unlock()
	if err != nil {
		s.logger.Error("saved peer scores are invalid; starting without them", "path", path, "err", cause,
			"not_moved_aside", err)
		return fmt.Errorf("%w (file %s, not moved aside: %v)", cause, path, err)
	}
	s.logger.Error("saved peer scores are invalid; moved aside, starting without them", "path", path,
		"moved_to", aside, "err", cause)
	return fmt.Errorf("%w (file %s, moved to %s)", cause, path, aside)
}

func splitStatePath(path string) (dir, base string) {
	dir, base = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// tempPrefix starts the name of SaveFile's temporary files for base;
// os.CreateTemp ends it with digits.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

func isStateTemp(name, base string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// absPath names a file the same way however its directory was spelt.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// createStateTemp creates SaveFile's temporary file and registers it as in
// use until done is called.
func createStateTemp(dir, base string) (f *os.File, done func(), err error) {
	stateFiles.Lock()
	defer stateFiles.Unlock()
	f, err = os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return nil, nil, err
	}
	key := absPath(f.Name())
	if stateFiles.temps == nil {
		stateFiles.temps = make(map[string]struct{})
	}
	stateFiles.temps[key] = struct{}{}
	return f, func() {
		stateFiles.Lock()
		delete(stateFiles.temps, key)
		stateFiles.Unlock()
	}, nil
}

// removeStaleTemps removes the temporary files of base in dir that no
// SaveFile of this process is writing: what a crash during SaveFile left.
// It logs what it removed, and what it could not, at warn level.
func (s *Scorer) removeStaleTemps(dir, base string) {
	stateFiles.Lock()
	defer stateFiles.Unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.logger.Warn("cannot look for stale temporary state files", "dir", dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isStateTemp(e.Name(), base) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if _, busy := stateFiles.temps[absPath(name)]; busy {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.logger.Warn("cannot remove a stale temporary state file", "path", name, "err", err)
			continue
		}
		s.logger.Warn("removed a temporary state file left by an interrupted save", "path", name)
	}
}
