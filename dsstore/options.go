package dsstore

import (
	"log/slog"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"

	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/reputation"
)

// Option configures a Store in New.
type Option func(*config) error

// defaultInterval is how often a started Store writes: the Monitor's
// default check interval. A crash loses at most this much, which is little
// next to how long scores are retained (RetainScore, typically minutes to
// hours) and bans last (an hour by default).
const defaultInterval = 30 * time.Second

type config struct {
	interval time.Duration
	prefix   datastore.Key
	logger   *slog.Logger
	rep      *reputation.Reputation
}

// WithReputation keeps rep's table too, under the key "reputation" (after
// the Scorer's and the Gater's), as Reputation.Save writes it, so that the
// application's opinions of its peers survive restarts: without it, a
// peer reported Fatal is back at 0 after one. rep must not be nil.
func WithReputation(rep *reputation.Reputation) Option {
	return option.Check(rep != nil, "WithReputation: nil Reputation",
		func(c *config) { c.rep = rep })
}

// WithInterval sets how often a started Store writes the state; it must be
// positive. The default is 30 seconds. A crash loses what changed since
// the last write, so at most one interval.
func WithInterval(d time.Duration) Option {
	return option.Positive("WithInterval", d, func(c *config) { c.interval = d })
}

// WithPrefix sets the key under which the Store keeps its values, in
// go-datastore's key form ("/peerscore" is the default; "/node/peerscore"
// nests it deeper). It must not be empty; "/" puts the values at the top
// of the datastore.
func WithPrefix(prefix string) Option {
	return option.Check(strings.TrimSpace(prefix) != "", "WithPrefix: empty prefix",
		func(c *config) { c.prefix = datastore.NewKey(prefix) })
}

// WithLogger sets where the Store logs: a damaged value at error level,
// failed periodic writes at warn level, loads and their counts at debug
// level. The default is slog.Default(), the logger the application chose
// as its default.
func WithLogger(l *slog.Logger) Option {
	return option.Check(l != nil, "WithLogger: nil logger", func(c *config) { c.logger = l })
}
