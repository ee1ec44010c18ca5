package ban

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/option"
)

// The Gater and the Monitor take options of their own types: they are
// built at different times (the Gater before the host, the Monitor after
// the scorer) and share no setting, so an option given to the wrong one is
// a compile error rather than one silently ignored.

// GaterOption configures a Gater in NewGater.
type GaterOption func(*gaterConfig) error

type gaterConfig struct {
	next   connmgr.ConnectionGater
	logger *slog.Logger
	limits stateLimits
	widest widest
}

// widest is the widest subnet a Gater bans: the least prefix length of
// each family.
type widest struct{ v4, v6 int }

// Defaults of WithMinPrefixLen: an IPv4 /16 is a large provider's block,
// an IPv6 /32 a whole provider's allocation.
const (
	defaultMinPrefixLen4 = 16
	defaultMinPrefixLen6 = 32
)

// WithMinPrefixLen sets the widest subnets the Gater bans: an IPv4 subnet
// needs a prefix of at least ipv4 bits, an IPv6 one at least ipv6 bits.
// The defaults are /16 and /32. Lengths outside an address's range are
// held to it: 0 or less allows any width, even 0.0.0.0/0, and 32 (or 128)
// or more allows single addresses only.
//
// The limit exists because a ban of 0.0.0.0/0 or ::/0 cuts the node off
// from everyone, and a saved table that holds one, hand-edited or planted,
// would do it again at every start. BanSubnet refuses a wider subnet with
// an error; Load leaves it out, restores the rest of the table, and logs
// at warn level what it left out.
func WithMinPrefixLen(ipv4, ipv6 int) GaterOption {
	return func(c *gaterConfig) error {
		c.widest = widest{v4: min(max(ipv4, 0), 32), v6: min(max(ipv6, 0), 128)}
		return nil
	}
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

// WithGaterLogger sets where the Gater logs: at error level a saved table
// that LoadFile found damaged and moved aside, at warn level a table too
// large to save whole, saved subnets wider than WithMinPrefixLen allows
// and the temporary files of an interrupted SaveFile it removed, at debug
// level what Load restored. A nil logger keeps the default, which is
// slog.Default(), the logger the application chose as its default. (The
// Monitor's logger is set with WithLogger.)
func WithGaterLogger(l *slog.Logger) GaterOption {
	return func(c *gaterConfig) error {
		if l != nil {
			c.logger = l
		}
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

	// See WithBanLimit for why.
	defaultBanLimitShare  = 0.1
	defaultBanLimitWindow = 10 * time.Minute
)

type monitorConfig struct {
	minScore    float64
	minScoreSet bool
	banDuration time.Duration
	retain      time.Duration // > 0: bans last this long instead
	interval    time.Duration
	limitShare  float64
	limitWindow time.Duration
	ipBanAbove  int // 0: no address bans
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
// default is one hour (op-node's). WithBanForRetainScore takes precedence
// over it.
func WithBanDuration(d time.Duration) MonitorOption {
	return option.Positive("WithBanDuration", d, func(c *monitorConfig) { c.banDuration = d })
}

// WithBanForRetainScore makes every ban last retainScore, which should be
// the scorer's Params.RetainScore, whatever WithBanDuration says (in
// whichever order the two are given). It is a fixed duration, taken once:
// the Monitor does not ask the scorer when it forgets a peer, and the ban
// does not end any sooner or later for what the scorer does.
//
// Why RetainScore: a banned peer is disconnected, and from then on the
// scorer retains its bad score, frozen, for RetainScore (a banned peer's
// score is below the minimum, which is at most zero, and the scorer
// retains peers at zero or below). The ban then ends when the scorer
// forgets, give or take one DecayInterval. With a ban shorter than RetainScore, the peer would
// come back while its bad score is still held against it, and be banned
// again a check later: reconnection churn instead of a ban. With a ban
// longer than RetainScore, the scorer would forget the peer while it is
// still banned, and the peer would come back with a clean slate however
// long the gater held it, so the extra time buys nothing the score would
// remember. Tied, the peer stays out exactly as long as its record counts
// against it.
//
// The ban is the Gater's and lasts retainScore whatever the scorer does:
// if a flood of worse peers pushes the banned peer out of the scorer's
// bounded retained set (peerscore.WithMaxRetainedPeers), the scorer
// forgets it early, but the Gater still keeps it out until the ban ends.
//
// retainScore must be positive: a RetainScore of zero means the scorer
// forgets at once, and a ban for no time would not be a ban.
func WithBanForRetainScore(retainScore time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if retainScore <= 0 {
			return fmt.Errorf("WithBanForRetainScore: RetainScore %v is not positive: the scorer forgets a disconnected peer at once "+
				"(set Params.RetainScore; derive.Budget's zero RetainScore gives derive.DefaultRetainScore)", retainScore)
		}
		c.retain = retainScore
		return nil
	}
}

// WithBanUntilForgotten is WithBanForRetainScore, under the name it had
// first.
//
// Deprecated: Use WithBanForRetainScore, which does the same: the ban
// lasts the RetainScore given, a fixed duration, not until the scorer
// actually forgets the peer (which may be sooner).
func WithBanUntilForgotten(retainScore time.Duration) MonitorOption {
	return WithBanForRetainScore(retainScore)
}

// WithCheckInterval sets how often each connected peer is checked; it must
// be positive, and the checks of a round are spread evenly over it. The
// default is 30 seconds.
func WithCheckInterval(d time.Duration) MonitorOption {
	return option.Positive("WithCheckInterval", d, func(c *monitorConfig) { c.interval = d })
}

// WithBanLimit sets the Monitor's circuit breaker: within any window of
// that length, it bans at most share of its established peers (rounded
// down, but at least one per window). share must be in (0, 1], and 1
// turns the limit off; window must be positive. A peer is established
// once the Monitor has seen it score above zero while connected; the
// share is of the established peers connected when a round of checks
// begins plus those the Monitor banned in the window before it.
//
// The limit is for one failure: a node at fault itself (behind the chain,
// a wrong clock, a validation bug) sees peers that served it well turn
// bad at once and, with no limit, bans them all within one check interval
// (OffchainLabs/prysm#17166: a devnet node banned its whole peer set for
// blocks it had not imported itself). With the default, 10% per 10
// minutes, it loses at most a tenth of them each 10 minutes, which leaves
// an operator, and its peer discovery, time to act, while the error log
// says previously good peers turned bad. Ten minutes is twenty rounds of
// the default 30-second check, and Lighthouse's reconnection timeout.
//
// Peers that never scored above zero are a different failure, throw-away
// identities that misbehave from the start, and the limit does not hold
// their bans back: counted against it, a swarm of them would spend the
// budget and keep a real attacker connected. A window with more such bans
// than the share of all connected peers is logged at warn level, as a
// flood of fresh identities, and Stats counts them (FreshBans). A node
// broken from its very start, whose peers never scored above zero, is not
// protected by the limit: that warning, repeated, is its sign.
//
// A peer the limit holds back stays connected and unbanned; it is checked
// again in the next round and banned once the window has room. The limit
// logs at error level when it trips and counts in Stats (HeldBack,
// LimitReached). A held-back ban costs little: the router already ignores
// a peer below its GraylistThreshold; the ban only frees its connection, a
// little later. Bans made by hand (Gater.Ban) are neither limited nor
// counted.
func WithBanLimit(share float64, window time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		switch {
		case !(share > 0 && share <= 1):
			return fmt.Errorf("WithBanLimit: share %v is not in (0, 1]", share)
		case window <= 0:
			return fmt.Errorf("WithBanLimit: window %v is not positive", window)
		}
		c.limitShare, c.limitWindow = share, window
		return nil
	}
}

// WithIPBanAbove has the Monitor ban an address, in the Gater, once more
// than peers of the peers it banned were connected from it, for as long
// as more than that many of their bans last. Lighthouse does this with 5.
// peers must be at least 1. Without this option the Monitor bans no
// address.
//
// Only the addresses of a peer's connections when it is banned count, and
// never a relay's (a relayed connection), a loopback or an unspecified
// address. Peers already connected from an address when it is banned stay
// connected: they are judged by their own scores.
//
// It is off by default because an address ban turns away every peer
// behind the address, the honest ones too (a carrier-grade NAT, a VPN
// exit, a shared host), and the scorer's IP colocation factor (P6)
// already charges peers crowding onto one address. Turn it on when peers
// that are banned come back under new IDs from the same address.
func WithIPBanAbove(peers int) MonitorOption {
	return option.Check(peers >= 1, fmt.Sprintf("WithIPBanAbove: %d is less than 1", peers),
		func(c *monitorConfig) { c.ipBanAbove = peers })
}

// WithProtected marks peers that are never banned: a peer for which
// protected returns true stays, whatever its score. Given more than once,
// a peer is protected if any of the callbacks says so. The callbacks are
// asked only about peers below the minimum score, from the Monitor's
// goroutine; they must be safe to call from it.
func WithProtected(protected func(peer.ID) bool) MonitorOption {
	return option.Check(protected != nil, "WithProtected: nil function",
		func(c *monitorConfig) { c.protected = append(c.protected, protected) })
}

// WithOnBan has the Monitor call fn after each ban, with the peer, the score
// that got it banned and the time its ban ends (which may be later than
// this ban asked for, if the peer was already banned for longer). fn runs on
// the Monitor's goroutine holding no lock, after the peer's connections
// were closed; a slow fn delays the next checks. fn may call Close (see
// Monitor.Close).
func WithOnBan(fn func(p peer.ID, score float64, until time.Time)) MonitorOption {
	return option.Check(fn != nil, "WithOnBan: nil function",
		func(c *monitorConfig) { c.onBan = fn })
}

// WithLogger sets where the Monitor logs: bans at info level, protected
// peers spared at debug level, failures to close connections and floods of
// fresh identities at warn level, the ban limit tripping at error level
// (and each ban it then holds back at debug level, its release at warn
// level). The default is slog.Default(), the logger the application chose
// as its default. (The Gater's logger is set with WithGaterLogger.)
func WithLogger(l *slog.Logger) MonitorOption {
	return option.Check(l != nil, "WithLogger: nil logger", func(c *monitorConfig) { c.logger = l })
}
