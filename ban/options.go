package ban

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The Gater and the Monitor take options of their own types: they are
// built at different times (the Gater before the host, the Monitor after
// the scorer) and share no setting, so an option given to the wrong one is
// a compile error rather than one silently ignored.

// GaterOption configures a Gater in NewGater.
type GaterOption func(*gaterConfig) error

type gaterConfig struct {
	next connmgr.ConnectionGater
}

// WithNext chains another connection gater behind the Gater: every
// interception asks the Gater's bans first and then next, and allows the
// connection only if both do. Use it to keep a gater you already have (an
// IP blocklist, a connection limiter). A nil next means none.
func WithNext(next connmgr.ConnectionGater) GaterOption {
	return func(c *gaterConfig) error {
		c.next = next
		return nil
	}
}

// MonitorOption configures a Monitor in NewMonitor.
type MonitorOption func(*monitorConfig) error

// Defaults of a Monitor. The minimum score and the ban duration are those
// of Optimism's op-node (its --p2p.ban.threshold and --p2p.ban.duration).
const (
	defaultMinScore      = -100.0
	defaultBanDuration   = time.Hour
	defaultCheckInterval = 30 * time.Second
)

type monitorConfig struct {
	minScore    float64
	minScoreSet bool
	banDuration time.Duration
	retain      time.Duration // > 0: bans last this long instead
	interval    time.Duration
	protected   []func(peer.ID) bool
	onBan       func(p peer.ID, score float64, until time.Time)
	logger      *slog.Logger
}

// WithMinScore sets the score below which a peer is banned (a peer exactly
// at the minimum stays). It must be zero or negative: a peer with a
// positive score has done more good than harm. -Inf bans no one.
//
// Without this option, the minimum is the scorer's GraylistThreshold if
// the Scorer given to NewMonitor has thresholds (a *peerscore.Scorer built
// with peerscore.WithThresholds does): at that score the router already
// ignores the peer, so banning it only frees the connection it holds.
// Otherwise it is -100, op-node's ban threshold.
func WithMinScore(minimum float64) MonitorOption {
	return func(c *monitorConfig) error {
		switch {
		case math.IsNaN(minimum):
			return errors.New("WithMinScore: NaN")
		case minimum > 0:
			return fmt.Errorf("WithMinScore: %v is above zero; a peer with a positive score must not be banned", minimum)
		}
		c.minScore, c.minScoreSet = minimum, true
		return nil
	}
}

// WithBanDuration sets how long a ban lasts; it must be positive. The
// default is one hour (op-node's). WithBanUntilForgotten takes precedence
// over it.
func WithBanDuration(d time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithBanDuration: %v is not positive", d)
		}
		c.banDuration = d
		return nil
	}
}

// WithBanUntilForgotten ties the length of a ban to the scorer's memory:
// pass the scorer's Params.RetainScore, and each ban lasts that long,
// whatever WithBanDuration says.
//
// A banned peer is disconnected, and from then on the scorer retains its
// bad score, frozen, for RetainScore (a banned peer's score is below the
// minimum, which is at most zero, and the scorer retains peers at zero or
// below). The link makes the ban end when the scorer forgets, give or take
// one DecayInterval. With a ban shorter than RetainScore, the peer would
// come back while its bad score is still held against it, and be banned
// again a check later: reconnection churn instead of a ban. With a ban
// longer than RetainScore, the scorer would forget the peer while it is
// still banned, and the peer would come back with a clean slate however
// long the gater held it, so the extra time buys nothing the score would
// remember. Tied, the peer stays out exactly as long as its record counts
// against it.
//
// retainScore must be positive: a RetainScore of zero means the scorer
// forgets at once, and a ban for no time would not be a ban.
func WithBanUntilForgotten(retainScore time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if retainScore <= 0 {
			return fmt.Errorf("WithBanUntilForgotten: RetainScore %v is not positive", retainScore)
		}
		c.retain = retainScore
		return nil
	}
}

// WithCheckInterval sets how often each connected peer is checked; it must
// be positive, and the checks of a round are spread evenly over it. The
// default is 30 seconds.
func WithCheckInterval(d time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithCheckInterval: %v is not positive", d)
		}
		c.interval = d
		return nil
	}
}

// WithProtected marks peers that are never banned: a peer for which
// protected returns true stays, whatever its score. Given more than once,
// a peer is protected if any of the callbacks says so. The callbacks are
// asked only about peers below the minimum score, from the Monitor's
// goroutine; they must be safe to call from it.
func WithProtected(protected func(peer.ID) bool) MonitorOption {
	return func(c *monitorConfig) error {
		if protected == nil {
			return errors.New("WithProtected: nil function")
		}
		c.protected = append(c.protected, protected)
		return nil
	}
}

// WithOnBan has the Monitor call fn after each ban, with the peer, the score
// that got it banned and the time its ban ends (which may be later than
// this ban asked for, if the peer was already banned for longer). fn runs on
// the Monitor's goroutine holding no lock, after the peer's connections
// were closed; a slow fn delays the next checks. fn may call Close (see
// Monitor.Close).
func WithOnBan(fn func(p peer.ID, score float64, until time.Time)) MonitorOption {
	return func(c *monitorConfig) error {
		if fn == nil {
			return errors.New("WithOnBan: nil function")
		}
		c.onBan = fn
		return nil
	}
}

// WithLogger sets where the Monitor logs: bans at info level, protected
// peers spared at debug level, failures to close connections at warn
// level. The default discards.
func WithLogger(l *slog.Logger) MonitorOption {
	return func(c *monitorConfig) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}
