package reputation

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/peerscore/peerscore/internal/option"
)

// Option configures a Reputation in New.
type Option func(*config) error

// The scale and the defaults. The scale, the penalties and the half-life
// are Lighthouse's (and Lodestar's): values from -100 to +100, a fatal
// action to the minimum, the other classes -10, -5 and -1, halved every ten
// minutes.
const (
	// MinValue is the lowest value a peer can have: where Fatal puts it.
	MinValue = -100.0
	// MaxValue bounds WithReward's maximum.
	MaxValue = 100.0

	// DefaultHalfLife is how long a value takes to halve, by default.
	DefaultHalfLife = 10 * time.Minute
	// DefaultMaxPeers bounds the peers tracked, by default.
	DefaultMaxPeers = 4096
	// DefaultMaxReasons is how many distinct reasons are kept per peer,
	// by default.
	DefaultMaxReasons = 4
	// DefaultDecayInterval is how often the loop publishes decayed
	// values, by default.
	DefaultDecayInterval = time.Second
)

// defaultPenalties are the points each penalty takes, by Action.
var defaultPenalties = [Fatal]float64{Low: 1, Mid: 5, High: 10}

type config struct {
	halfLife   time.Duration
	penalties  [Fatal]float64 // by Action; Fatal sets MinValue instead
	reward     float64        // 0: rewards off
	maxCredit  float64
	freezeAt   float64
	freezeFor  time.Duration // 0: no freeze
	maxPeers   int
	maxReasons int
	interval   time.Duration
	logger     *slog.Logger
	limits     stateLimits // of saved states
}

func defaultConfig() config {
	return config{
		halfLife:   DefaultHalfLife,
		penalties:  defaultPenalties,
		maxPeers:   DefaultMaxPeers,
		maxReasons: DefaultMaxReasons,
		interval:   DefaultDecayInterval,
		logger:     slog.Default(),
		limits:     defaultStateLimits,
	}
}

// WithHalfLife sets how long a peer's value takes to halve: it decays
// towards zero exponentially, from either side, continuously (the loop
// publishes it every decay interval). It must be positive. The default is
// ten minutes (Lighthouse's): a peer at -100 is back above -50 after ten
// minutes, above -1 after 67 and forgotten, below 0.01 of a point, after
// 133.
func WithHalfLife(d time.Duration) Option {
	return option.Positive("WithHalfLife", d, func(c *config) { c.halfLife = d })
}

// WithPenalty sets how many points a Low, Mid or High report takes from
// the value; points must be positive and at most 100. The defaults are
// Low 1, Mid 5, High 10. Fatal always sets the value to MinValue and
// takes no points; Useful is a reward (WithReward).
func WithPenalty(a Action, points float64) Option {
	return func(c *config) error {
		if a != Low && a != Mid && a != High {
			return fmt.Errorf("WithPenalty: action %v takes no points (only low, mid and high do)", a)
		}
		if !(points > 0 && points <= MaxValue) { // NaN fails too
			return fmt.Errorf("WithPenalty: %v points for %v is not in (0, 100]", points, a)
		}
		c.penalties[a] = points
		return nil
	}
}

// WithReward turns rewards on: every Useful report adds points to the
// value, which rewards never lift above maximum. Both must be positive,
// maximum at most MaxValue.
//
// Rewards are off by default, as in Lighthouse, which dropped them because
// a peer could pump its score with cheap good deeds and then misbehave on
// credit. The maximum bounds that credit: a peer at the maximum is one
// Fatal, or maximum/10 High reports, from where it would be without it.
// Choose it with the scorer's AppSpecificWeight in mind: maximum ×
// AppSpecificWeight is the most P5 can add to a score, and above the
// router's AcceptPXThreshold or OpportunisticGraftThreshold a reward alone
// makes the router accept the peer's peer exchange or graft it
// opportunistically. While a peer's value is frozen (WithFreeze), rewards
// are ignored.
func WithReward(points, maximum float64) Option {
	return func(c *config) error {
		if !(points > 0 && points <= MaxValue) {
			return fmt.Errorf("WithReward: %v points is not in (0, 100]", points)
		}
		if !(maximum > 0 && maximum <= MaxValue) {
			return fmt.Errorf("WithReward: maximum %v is not in (0, 100]", maximum)
		}
		c.reward, c.maxCredit = points, maximum
		return nil
	}
}

// WithFreeze holds a peer's value without decay for d once a penalty takes
// it to level or below: Lighthouse's "ban before decay", which keeps a
// banned peer banned for a while rather than letting it decay back within
// a half-life. level must be in [-100, 0), d positive. Off by default;
// Lighthouse freezes at -50 for 12 hours, Lodestar at -50 for 30 minutes.
//
// A freeze starts when a penalty leaves the value at or below level and no
// freeze is in force; penalties during a freeze still lower the value but
// do not extend it, so no report stream keeps a peer frozen forever, and
// rewards are ignored. When the freeze ends the value decays as usual, and
// a new penalty while it is still at or below level freezes it again.
func WithFreeze(level float64, d time.Duration) Option {
	return func(c *config) error {
		if !(level >= MinValue && level < 0) {
			return fmt.Errorf("WithFreeze: level %v is not in [-100, 0)", level)
		}
		if d <= 0 {
			return fmt.Errorf("WithFreeze: duration %v is not positive", d)
		}
		c.freezeAt, c.freezeFor = level, d
		return nil
	}
}

// WithMaxPeers bounds the number of peers tracked, so that reports about
// throw-away identities cannot grow memory without limit. A peer is
// tracked from its first report until its value decays below 0.01 of a
// point. At the bound, n/16 peers at a time are forgotten, so that a
// report costs O(1) amortised: those decayed to nothing, then the least
// severe, never a frozen one (the order is in the package documentation,
// Bounds and cost); the worst offenders stay. n must be positive. The
// default is 4096. What a tracked peer costs, with one reason or four of
// up to 64 bytes each, is measured by BenchmarkMemory: see docs/memory.md
// in the module's source.
func WithMaxPeers(n int) Option {
	return option.Positive("WithMaxPeers", n, func(c *config) { c.maxPeers = n })
}

// maxReasonsLimit is the most reasons WithMaxReasons allows per peer, and
// so the most a saved peer may have.
const maxReasonsLimit = 64

// WithMaxReasons sets how many distinct reasons are kept per peer, the
// most recent; a reason reported again is counted, not repeated. n must be
// in [1, 64]. The default is 4.
func WithMaxReasons(n int) Option {
	return option.Check(n >= 1 && n <= maxReasonsLimit,
		fmt.Sprintf("WithMaxReasons: %d is not in [1, %d]", n, maxReasonsLimit),
		func(c *config) { c.maxReasons = n })
}

// WithDecayInterval sets how often the loop (Start) publishes the decayed
// values that Score returns, and forgets peers whose value decayed to
// nothing. It must be positive. The default is one second: with the
// default half-life a value moves by 0.12% between steps. Each step costs
// O(tracked peers); BenchmarkDecayStep measures it (docs/performance.md).
func WithDecayInterval(d time.Duration) Option {
	return option.Positive("WithDecayInterval", d, func(c *config) { c.interval = d })
}

// WithLogger sets where the Reputation logs: at Error, a saved file that
// LoadFile found damaged and moved aside; at Warn, a report with an
// unknown Action (a bug in the caller), which it ignores, the first report
// about a new peer it could not keep because every tracked peer was
// frozen, and saved peers that did not fit (Save, Load); at Debug, what
// Load restored. The default is slog.Default(), the logger the application
// chose as its default.
func WithLogger(l *slog.Logger) Option {
	return option.Check(l != nil, "WithLogger: nil logger", func(c *config) { c.logger = l })
}

// negligible is the value below which (in magnitude) a peer is forgotten:
// a hundredth of a Low report's default point.
const negligible = 0.01

func isNegligible(v float64) bool { return math.Abs(v) < negligible }
