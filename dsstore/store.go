package dsstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/lifecycle"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/reputation"
)

// errPrefix starts every error of the package, once.
const errPrefix = "peerscore/dsstore"

// Store keeps a Scorer's retained scores and a Gater's ban table in a
// datastore: Load reads them back, Save writes them, and once started it
// writes them every interval and once more on Close. See the package
// documentation for the keys and why.
type Store struct {
	ds     datastore.Datastore
	kinds  []*kind
	cfg    config
	prefix datastore.Key

	mu     sync.Mutex // serialises the Store's datastore calls
	life   lifecycle.Lifecycle
	closed sync.Once
	final  error // the result of Close's write
}

// kind is one state a Store keeps: its name, key, where a damaged value
// goes, and how it is saved and loaded.
type kind struct {
	name         string // "scores", "bans" or "reputation"
	key, damaged datastore.Key
	save         func(io.Writer) error
	load         func(io.Reader) error
	invalid      error // what load's errors wrap when the value is invalid

	// read is set once the value under key has been read (loaded, found
	// missing or found damaged): only then may a write replace it, or a
	// failed read would let the state in memory, empty at a start, erase
	// the saved one. Guarded by Store.mu.
	read bool
}

// New returns a Store that keeps the state of s and g in ds, and of a
// Reputation given with WithReputation; either of s and g may be nil (a
// node without a Monitor has no Gater to keep), but there must be
// something to keep. The Store does nothing until Load, Save or Start.
//
// The defaults: keys under "/peerscore" (WithPrefix), a write every 30
// seconds once started (WithInterval), logs to slog.Default()
// (WithLogger), no Reputation (WithReputation).
func New(ds datastore.Datastore, s *peerscore.Scorer, g *ban.Gater, opts ...Option) (*Store, error) {
	if ds == nil {
		return nil, fmt.Errorf("%s: New: nil datastore", errPrefix)
	}
	cfg := config{
		interval: defaultInterval,
		prefix:   datastore.NewKey("/peerscore"),
		logger:   slog.Default(),
	}
	if err := option.Apply(errPrefix, &cfg, opts); err != nil {
		return nil, err
	}
	st := &Store{ds: ds, cfg: cfg, prefix: cfg.prefix}
	damaged := cfg.prefix.ChildString("damaged")
	if s != nil {
		st.kinds = append(st.kinds, &kind{
			name: "scores", key: cfg.prefix.ChildString("scores"), damaged: damaged.ChildString("scores"),
			save: s.Save, load: s.Load, invalid: peerscore.ErrInvalidState,
		})
	}
	if g != nil {
		st.kinds = append(st.kinds, &kind{
			name: "bans", key: cfg.prefix.ChildString("bans"), damaged: damaged.ChildString("bans"),
			save: g.Save, load: g.Load, invalid: ban.ErrInvalidState,
		})
	}
	if r := cfg.rep; r != nil {
		st.kinds = append(st.kinds, &kind{
			name: "reputation", key: cfg.prefix.ChildString("reputation"), damaged: damaged.ChildString("reputation"),
			save: r.Save, load: r.Load, invalid: reputation.ErrInvalidState,
		})
	}
	if len(st.kinds) == 0 {
		return nil, fmt.Errorf("%s: New: nothing to keep: no Scorer, Gater or Reputation (WithReputation)", errPrefix)
	}
	return st, nil
}

// Load reads the saved state from the datastore into the Scorer, the
// Gater and the Reputation: retained peers as Scorer.Load restores them,
// bans as Gater.Load does (those that ended while the node was down are
// not restored), reputations as Reputation.Load does. Call it
// once, at start, before the scorer and the router start and before the
// host accepts connections.
//
// A missing value is the first start: nothing to load, no error. A value
// that does not read back is logged at error level, copied to the
// damaged key and deleted from its own (see the package documentation),
// and the other kinds are loaded all the same. Load returns nil if all was
// well, else an error saying what it could not load (wrapping
// peerscore.ErrInvalidState or ban.ErrInvalidState for a damaged value,
// the datastore's error for a failed read): worth a log line, never a
// reason to stop the node.
//
// A kind that could not be read is not lost: the Store does not write it
// until a read of it succeeds. Every Save (so every interval, once
// started) tries the read again first and, once it succeeds, loads what
// was saved into the Scorer or the Gater as Load would, then writes.
func (st *Store) Load(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	var errs []error
	for _, k := range st.kinds {
		if err := st.loadKind(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// loadKind reads one kind's value and loads it, once: a kind already read
// is left alone, so that a Save retrying a failed read never loads the
// same value twice. The caller holds st.mu.
func (st *Store) loadKind(ctx context.Context, k *kind) error {
	if k.read {
		return nil
	}
	value, err := st.ds.Get(ctx, k.key)
	switch {
	case errors.Is(err, datastore.ErrNotFound):
		k.read = true
		st.cfg.logger.Debug("no saved state in the datastore", "kind", k.name, "key", k.key)
		return nil
	case err != nil:
		st.cfg.logger.Warn("cannot read saved state from the datastore; keeping it, and not writing over it until a read succeeds",
			"kind", k.name, "key", k.key, "err", err)
		return fmt.Errorf("%s: load %s: %w", errPrefix, k.name, err)
	}
	err = k.load(bytes.NewReader(value))
	if err == nil || errors.Is(err, k.invalid) {
		// A damaged value holds nothing to keep: it may be written over.
		k.read = true
	}
	if err == nil {
		st.cfg.logger.Debug("loaded saved state from the datastore", "kind", k.name, "key", k.key, "bytes", len(value))
		return nil
	}
	if !errors.Is(err, k.invalid) {
		return fmt.Errorf("%s: load %s: %w", errPrefix, k.name, err)
	}
	// Keep the damaged value for inspection, and take it off its key so
	// that the next start does not trip on it again.
	if moveErr := errors.Join(st.ds.Put(ctx, k.damaged, value), st.ds.Delete(ctx, k.key)); moveErr != nil {
		st.cfg.logger.Error("saved state in the datastore is invalid; starting without it",
			"kind", k.name, "key", k.key, "err", err, "not_moved_aside", moveErr)
		return fmt.Errorf("%w (key %s, not moved aside: %v)", err, k.key, moveErr)
	}
	st.cfg.logger.Error("saved state in the datastore is invalid; moved aside, starting without it",
		"kind", k.name, "key", k.key, "moved_to", k.damaged, "err", err)
	return fmt.Errorf("%w (key %s, moved to %s)", err, k.key, k.damaged)
}

// Save writes the state now: the Scorer's, the Gater's and the
// Reputation's, each with one Put of its whole value, then Sync of the
// prefix. A kind that fails does not stop the others from being written; the error names each
// failure. A started Store calls Save every interval and on Close; call it
// yourself to write at a moment of your choosing (before a planned
// restart, say).
//
// A kind whose saved value has not been read yet (Load was not called, or
// its read failed) is read first, and loaded as Load does; if the read
// fails again, that kind is not written, so that the saved state survives
// until it can be read.
func (st *Store) Save(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	var errs []error
	for _, k := range st.kinds {
		if err := st.loadKind(ctx, k); !k.read {
			errs = append(errs, fmt.Errorf("save %s: not written: its saved value could not be read, and is kept until it can be: %w",
				k.name, errors.Unwrap(err)))
			continue
		}
		var buf bytes.Buffer
		if err := k.save(&buf); err != nil {
			errs = append(errs, fmt.Errorf("save %s: %w", k.name, err))
			continue
		}
		if err := st.ds.Put(ctx, k.key, buf.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("save %s: %w", k.name, err))
		}
	}
	if err := st.ds.Sync(ctx, st.prefix); err != nil {
		errs = append(errs, fmt.Errorf("sync %s: %w", st.prefix, err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", errPrefix, err)
	}
	return nil
}

// Start writes the state every interval (WithInterval), on a goroutine of
// its own, until ctx is done or Close is called. It returns at once.
// Calling it again, or after Close, does nothing. A write that fails is
// logged at warn level and tried again at the next interval.
func (st *Store) Start(ctx context.Context) { st.life.Start(ctx, st.run) }

// run writes every interval. The writes are the Store's own work, which
// Close waits for: the Store calls no code of yours but the datastore's
// and the logger's, which are not callbacks.
func (st *Store) run(r *lifecycle.Run) {
	tick := time.NewTicker(st.cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-r.Done():
			return
		case <-tick.C:
		}
		if err := st.Save(r.Context()); err != nil && !r.Stopped() {
			st.cfg.logger.Warn("cannot write peer state to the datastore; trying again at the next interval",
				"err", err, "interval", st.cfg.interval)
		}
	}
}

// Close stops the periodic writes, waits for one under way, and writes the
// state once more, so that a clean stop loses nothing; it returns the
// error of that write. Close it before the datastore. Only the first call
// writes; later calls return its result. A Store that was never started
// writes on Close too.
//
// Close stops the background work and waits until it has stopped, but it
// does not wait for a callback of yours that is running, so a callback may
// call Close, of this component or of another. Once Close has returned,
// the background work does not run again and no callback is called again;
// a callback still running may finish, and its return leads to nothing
// more. Close is safe for concurrent use and may be called any number of
// times; Start after Close does nothing. "Start, Close and callbacks" in
// the documentation of [github.com/peerscore/peerscore] says why.
//
// The Store has no callbacks: the datastore and the logger are its work,
// which Close waits for, so neither may call Close.
func (st *Store) Close() error {
	st.life.Close()
	st.closed.Do(func() { st.final = st.Save(context.Background()) })
	return st.final
}
