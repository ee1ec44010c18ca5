package statefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// files serialises, across every saver of the process (every Scorer and
// every Gater), what WriteFile and the loaders do to the names in a state
// file's directory: creating a temporary file, removing stale ones,
// renaming over the state file and moving a damaged one aside. temps holds
// the temporary files WriteFile calls are still writing (absolute paths),
// so that cleaning up after a crash never removes one of them.
var files struct {
	sync.Mutex
	temps map[string]struct{}
}

// ErrTooLarge is returned by ReadFile for a file larger than its limit.
var ErrTooLarge = errors.New("state file too large")

// WriteFile writes data to the file at path atomically: it writes a
// temporary file in the same directory, syncs it to disk, renames it over
// path and syncs the directory. A crash at any point leaves either the old
// file or the new one, never a mix; on error the temporary file is removed
// and path is untouched. The file is created with mode 0600. Temporary
// files for path that an earlier WriteFile left behind when the process
// crashed are removed first (see RemoveStaleTemps), and logged to logger.
// WriteFile calls may run at once, for the same path or not; the last to
// finish wins. Two processes must not write the same path.
func WriteFile(path string, data []byte, logger *slog.Logger) (err error) {
	dir, base := split(path)
	RemoveStaleTemps(path, logger)
	f, done, err := createTemp(dir, base)
	if err != nil {
		return err
	}
	defer done()
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
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
	files.Lock()
	err = os.Rename(tmp, path)
	files.Unlock()
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

// ReadFile reads the file at path, refusing one larger than limit bytes
// before reading it (ErrTooLarge), and returns what it learnt about the
// file too, for SetAside. A file that is not regular (a pipe) is read up
// to limit+1 bytes, so that the caller sees it is too large.
func ReadFile(path string, limit int) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if info.Mode().IsRegular() && info.Size() > int64(limit) {
		return nil, info, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, info, err
	}
	return data, info, nil
}

// SetAside moves the state file at path out of the way, to path +
// ".damaged-" + the UTC time, so that the next save starts afresh and the
// damaged file stays for inspection, and returns where it went. read is
// the file as ReadFile found it: if a WriteFile has replaced it since, the
// new file stays where it is and SetAside returns an error.
func SetAside(path string, read fs.FileInfo) (string, error) {
	aside := path + ".damaged-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	files.Lock()
	defer files.Unlock()
	now, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if read == nil || !os.SameFile(read, now) {
		return "", errors.New("replaced since it was read")
	}
	if err := os.Rename(path, aside); err != nil {
		return "", err
	}
	return aside, nil
}

// SetAsideLogged sets the damaged file at path aside as SetAside does and
// logs it at error level as what ("saved bans") the node starts without.
// It returns cause with the file's name and where it went, or why it
// stayed.
func SetAsideLogged(logger *slog.Logger, what, path string, read fs.FileInfo, cause error) error {
	aside, err := SetAside(path, read)
	if err != nil {
		logger.Error(what+" are invalid; starting without them", "path", path, "err", cause, "not_moved_aside", err)
		return fmt.Errorf("%w (file %s, not moved aside: %v)", cause, path, err)
	}
	logger.Error(what+" are invalid; moved aside, starting without them", "path", path, "moved_to", aside, "err", cause)
	return fmt.Errorf("%w (file %s, moved to %s)", cause, path, aside)
}

func split(path string) (dir, base string) {
	dir, base = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// tempPrefix starts the name of WriteFile's temporary files for base;
// os.CreateTemp ends it with digits.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

func isTemp(name, base string) bool {
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

// createTemp creates WriteFile's temporary file and registers it as in use
// until done is called.
func createTemp(dir, base string) (f *os.File, done func(), err error) {
	files.Lock()
	defer files.Unlock()
	f, err = os.CreateTemp(dir, tempPrefix(base)+"*")
	if err != nil {
		return nil, nil, err
	}
	key := absPath(f.Name())
	if files.temps == nil {
		files.temps = make(map[string]struct{})
	}
	files.temps[key] = struct{}{}
	return f, func() {
		files.Lock()
		delete(files.temps, key)
		files.Unlock()
	}, nil
}

// RemoveStaleTemps removes the temporary files of the state file at path
// (named "." + its name + ".tmp-" and digits, in its directory) that no
// WriteFile of this process is writing: what a crash during WriteFile
// left. It logs what it removed, and what it could not, at warn level.
func RemoveStaleTemps(path string, logger *slog.Logger) {
	dir, base := split(path)
	files.Lock()
	defer files.Unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("cannot look for stale temporary state files", "dir", dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTemp(e.Name(), base) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if _, busy := files.temps[absPath(name)]; busy {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("cannot remove a stale temporary state file", "path", name, "err", err)
			continue
		}
		logger.Warn("removed a temporary state file left by an interrupted save", "path", name)
	}
}

// Loader is what LoadFile needs to know of a kind of saved state.
type Loader struct {
	What    string       // how log lines name it: "saved bans"
	Prefix  string       // what its errors start with: "peerscore/ban"
	Limit   int          // the largest file read, in bytes
	Logger  *slog.Logger // where a damaged file is logged
	Invalid error        // what Load's errors about a state it cannot use wrap
	// TooLarge is the error, wrapping Invalid, for a file over Limit.
	TooLarge func() error
	// Load checks and restores a whole state, or changes nothing.
	Load func(data []byte) error
}

// LoadFile is the LoadFile of every saved state: it removes what an
// interrupted WriteFile left next to path, reads the file (refusing one
// larger than the limit before reading it) and loads it. A file that is
// not a valid state is moved aside and logged (SetAsideLogged); the error
// then wraps l.Invalid and says where the file went. A missing file is an
// error satisfying errors.Is(err, fs.ErrNotExist); other errors reading
// it are returned as they are, after the prefix and path.
func (l Loader) LoadFile(path string) error {
	RemoveStaleTemps(path, l.Logger)
	data, read, err := ReadFile(path, l.Limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		err = l.TooLarge()
	case err != nil:
		return fmt.Errorf("%s: load %s: %w", l.Prefix, path, err)
	default:
		err = l.Load(data)
	}
	if err == nil || !errors.Is(err, l.Invalid) {
		return err
	}
	return SetAsideLogged(l.Logger, l.What, path, read, err)
}
