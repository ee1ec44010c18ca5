// Package dsstore keeps a node's peer-scoring state in the go-datastore the
// node already has (LevelDB, Pebble, Badger, ...), so that it survives
// restarts and crashes: the retained scores of a peerscore.Scorer (its
// Save), the ban table of a ban.Gater (its Save) and, with WithReputation,
// the opinions of a reputation.Reputation (its Save).
//
// A node that restarts forgets, unless it saves them, the bad scores its
// scorer retains and the bans its gater holds, and a bad peer gets a clean
// slate by waiting for a restart, or by causing one. Scorer.SaveFile and
// Gater.SaveFile keep them in files, written when the node stops; a Store
// keeps them in the datastore and writes them every interval too, so that
// a crash loses at most one interval's worth:
//
//	store, err := dsstore.New(ds, scorer, gater, dsstore.WithInterval(30*time.Second))
//	if err := store.Load(ctx); err != nil {
//		logger.Warn("starting without some saved peer state", "err", err) // and carry on
//	}
//	store.Start(ctx)
//	defer store.Close() // writes once more; close it before ds
//
// Load before the scorer and the router start and before the host accepts
// connections: build the host with libp2p.NoListenAddrs (libp2p.New
// otherwise listens at once) and call h.Network().Listen after Load. Close
// before closing the datastore. The module's examples/node starts and
// stops the whole kit in that order.
//
// # Keys and values
//
// A Store writes a key per kind under its prefix ("/peerscore" unless
// WithPrefix says otherwise):
//
//	/peerscore/scores       the Scorer's state, exactly as Scorer.Save writes it
//	/peerscore/bans         the Gater's table, exactly as Gater.Save writes it
//	/peerscore/reputation   the Reputation's table (WithReputation), as Reputation.Save writes it
//
// One value per kind, holding the whole state, rather than one per peer,
// because:
//
//   - A single Put is atomic in every datastore; go-datastore's batches are
//     not transactional. So each value is always one whole, consistent
//     state: the one of the last write, or, if the node crashed during it,
//     the one before. Per-peer keys would need a batch that a crash could
//     leave half applied, and a delete for every peer forgotten since the
//     last write (a query and a diff each interval).
//   - The value is the saved format with its version line and SHA-256, so
//     a damaged value is detected before any of it is used, with the same
//     size limits and the same checks as a file (Scorer.LoadFile); a value
//     copied to a file is a valid state file, and back.
//   - The state is small: the retained peers (bounded, 8,192 by default),
//     the bans in force and the tracked reputations (4,096 by default),
//     typically kilobytes to a few hundred; writing it whole every 30
//     seconds is cheap for an LSM store.
//
// The keys are written one after the other, so a crash between them can
// leave scores of one interval with bans of the previous one: each whole,
// none lost. After the writes, the Store calls the datastore's
// Sync on its prefix, which is what makes them survive a crash of the
// machine where the datastore needs it.
//
// A value that does not read back (damaged, truncated, of a version this
// build does not know) is logged at error level, copied to
// /peerscore/damaged/scores (or .../bans, .../reputation) for inspection,
// replacing any earlier copy, and deleted from its key; Load then goes on
// with the other kinds, and returns an error that says what it skipped. Nothing here stops
// the node: losing retained scores or bans costs less than not starting.
//
// A value that cannot be read at all (an I/O error, a timeout) is another
// matter: it may be perfectly good. The Store then writes nothing over
// it: each later write (every interval, once started) reads it again
// first, loads it once the read succeeds, and only then writes that kind,
// so a passing fault of the datastore loses nothing.
//
// The datastore may be shared with the rest of the node (its peerstore,
// say); the Store only touches keys under its prefix, and serialises its
// own calls, so a datastore that is not safe for concurrent use
// (datastore.MapDatastore) is fine if nothing else uses it.
package dsstore
