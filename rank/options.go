package rank

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/option"
)

// Option configures a Tagger in NewTagger.
type Option func(*config) error

// Defaults of a Tagger.
const (
	// go-libp2p's connection manager trims at most once per silence period,
	// 10 seconds by default: re-tagging more often would change nothing a
	// trim sees.
	defaultInterval = 10 * time.Second
	defaultTag      = "peerscore"
	defaultScale    = 1.0
	defaultLimit    = 1000
	// maxLimit keeps the tag values small enough that the connection
	// manager's sum of a peer's tags (an int, 32 bits on some platforms)
	// has room for thousands of tags as large as ours.
	maxLimit = 1_000_000
)

type config struct {
	interval    time.Duration
	tag         string
	scale       float64
	limit       int
	protectBest int
	protected   []func(peer.ID) bool
	logger      *slog.Logger
}

// WithInterval sets how often the Tagger re-reads every connected peer's
// score and updates its tag and protections; it must be positive. The
// default is 10 seconds, the connection manager's default silence period
// (it trims at most that often). Each round costs one Score call per
// connected peer and one connection-manager call per peer whose tag value
// or protection changed.
func WithInterval(d time.Duration) Option {
	return option.Positive("WithInterval", d, func(c *config) { c.interval = d })
}

// WithTag sets the name under which the Tagger tags and protects peers in
// the connection manager; the default is "peerscore". The Tagger owns the
// name: it overwrites and removes tags and protections under it, and no
// other. Use another name for a second Tagger on the same host.
func WithTag(name string) Option {
	return option.Check(name != "", "WithTag: empty name", func(c *config) { c.tag = name })
}

// WithTagScale sets how a score becomes a tag value: the score times
// scale, rounded to the nearest integer, clamped to [-limit, +limit]. A NaN
// score gets -limit. The default is scale 1, limit 1000: one tag unit per
// point of score.
//
// The mapping is monotonic (a higher score never gets a lower value), so
// the connection manager, which trims the peers with the lowest sum of
// tag values first, trims the lowest scorers first. Choose scale so that
// the score differences that matter to you are whole units apart: with
// scores of a few points either side of zero, scale 10 or 100; with
// Ethereum's parameters (good peers up to about +100, graylisted at
// -16000) the default keeps every point and clamps the graylisted. Choose
// limit against the other tags on your host: go-libp2p-pubsub adds up to
// 15 per topic for first deliveries (a decaying tag), op-node tags peers
// 42 on discovery, Lodestar 100; a limit well above those lets a bad
// score outweigh them.
//
// scale must be positive and finite; limit between 1 and 1,000,000.
func WithTagScale(scale float64, limit int) Option {
	return func(c *config) error {
		if !(scale > 0) || math.IsInf(scale, 1) {
			return fmt.Errorf("WithTagScale: scale %v is not positive and finite", scale)
		}
		if limit < 1 || limit > maxLimit {
			return fmt.Errorf("WithTagScale: limit %d is not between 1 and %d", limit, maxLimit)
		}
		c.scale, c.limit = scale, limit
		return nil
	}
}

// WithProtectBest protects the n connected peers with the best scores
// (ranked as Best ranks them) from trimming, as long as they stay among
// the best n, whatever else is tagged on the host and whatever their score
// (if every peer has fallen below zero, the best of them are still the
// ones to keep). n must be zero or more; the default is 0, none.
func WithProtectBest(n int) Option {
	return option.Check(n >= 0, fmt.Sprintf("WithProtectBest: %d is negative", n),
		func(c *config) { c.protectBest = n })
}

// WithProtected marks peers the Tagger protects from trimming, whatever
// their score: static and trusted peers, the same function you give
// ban.WithProtected. Given more than once, a peer is protected if any of
// the callbacks says so. Each round asks them about every connected peer
// that is not among the best (WithProtectBest), from the Tagger's
// goroutine (or the one calling Refresh), holding no lock.
func WithProtected(protected func(peer.ID) bool) Option {
	return option.Check(protected != nil, "WithProtected: nil function",
		func(c *config) { c.protected = append(c.protected, protected) })
}

// WithLogger sets where the Tagger logs: a summary of each round (peers,
// tags changed, protections added and removed) at debug level. The default
// is slog.Default(), the logger the application chose as its default.
func WithLogger(l *slog.Logger) Option {
	return option.Check(l != nil, "WithLogger: nil logger", func(c *config) { c.logger = l })
}
