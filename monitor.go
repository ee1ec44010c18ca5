package peerscore

import (
	"context"
	"errors"
	"fmt"
	"github.com/peerscore/peerscore/internal/lifecycle"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Defaults of a Monitor. The minimum score and the ban duration are those
// of Optimism's op-node (its --p2p.ban.threshold and --p2p.ban.duration).
const (
	// DefaultMonitorMinScore is the score below which a Monitor bans a peer
	// unless WithMinScore says otherwise. Choose it with the router's
	// Thresholds in mind: at or below GraylistThreshold, the router already
	// ignores the peer, so banning it only frees the connection.
	DefaultMonitorMinScore = -100.0

	// DefaultBanDuration is how long a Monitor's ban lasts unless
	// WithBanDuration or WithBanForRetainScore says otherwise.
	DefaultBanDuration = time.Hour

	// DefaultCheckInterval is how often a Monitor checks each connected
	// peer unless WithCheckInterval says otherwise.
	DefaultCheckInterval = 30 * time.Second
)

// minCheckStep bounds how often a Monitor wakes up: with more peers than
// interval/minCheckStep, it checks several per wake-up rather than waking
// more often.
const minCheckStep = 10 * time.Millisecond

// Monitor bans the peers whose score has fallen below a minimum: it reads
// the score of each connected peer once per check interval and, for a peer
// below the minimum that is not protected, bans it in a Gater, which keeps
// it from reconnecting in either direction until the ban ends, and closes
// its connections. It does for any scorer what Optimism op-node's peer
// monitor does for its own.
//
// The router alone does not do this: it stops talking to a low-scoring
// peer (no gossip, then graylisting) but keeps the connection open, so the
// peer goes on holding one of the host's connection slots.
//
// # Spreading the checks
//
// A Monitor does not check every peer at the same moment. Each round it
// takes the list of connected peers and spreads their checks evenly over
// one check interval (with n peers, one every interval/n), then takes a
// fresh list; so every peer is checked once per interval and the work (and
// any burst of disconnections) is spread out. op-node checks one peer a
// second, however many there are; fixing the interval instead bounds how
// long a bad peer can stay. A peer that connects during a round is first
// checked in the next one, so within two intervals.
//
// # Protected peers
//
// Peers for which a WithProtected callback returns true are never banned,
// whatever their score: static peers you configured, the router's direct
// peers, trusted peers. They are still scored; the router's thresholds
// still apply to them.
//
// # Wiring
//
// The host needs the Gater when it is built, and the Scorer needs the
// host, so the Gater comes first:
//
//	g := peerscore.NewGater()
//	h, err := libp2p.New(libp2p.ConnectionGater(g) /* , ... */)
//	// ...
//	scorer, err := peerscore.New(params, peerscore.WithHost(h))
//	// ...
//	opts, err := scorer.GossipSubOptions(thresholds)
//	// ...
//	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
//	// ...
//	scorer.Start(ctx)
//	defer scorer.Close()
//	mon, err := peerscore.NewMonitor(h, scorer.Score, g,
//		peerscore.WithMinScore(thresholds.GraylistThreshold),
//		peerscore.WithBanForRetainScore(params.RetainScore),
//		peerscore.WithProtected(func(p peer.ID) bool {
//			return h.ConnManager().IsProtected(p, "") // e.g. static peers
//		}),
//	)
//	// ...
//	mon.Start(ctx)
//	defer mon.Close()
type Monitor struct {
	host  host.Host
	score func(peer.ID) float64
	gater *Gater
	cfg   monitorConfig

	life lifecycle.Lifecycle
}

// MonitorOption configures a Monitor in NewMonitor.
type MonitorOption func(*monitorConfig) error

type monitorConfig struct {
	minScore    float64
	banDuration time.Duration
	retain      time.Duration // > 0: bans last this long instead
	interval    time.Duration
	protected   []func(peer.ID) bool
	onBan       func(p peer.ID, score float64, until time.Time)
	logger      *slog.Logger
}

// WithMinScore sets the score below which a peer is banned (a peer exactly
// at the minimum stays). The default is DefaultMonitorMinScore.
func WithMinScore(minimum float64) MonitorOption {
	return func(c *monitorConfig) error {
		if math.IsNaN(minimum) {
			return errors.New("peerscore: WithMinScore: NaN")
		}
		c.minScore = minimum
		return nil
	}
}

// WithBanDuration sets how long a ban lasts. The default is
// DefaultBanDuration. WithBanForRetainScore takes precedence over it.
func WithBanDuration(d time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if d <= 0 {
			return fmt.Errorf("peerscore: WithBanDuration: %v is not positive", d)
		}
		c.banDuration = d
		return nil
	}
}

// WithBanForRetainScore ties the length of a ban to the scorer's memory:
// pass the scorer's Params.RetainScore, and each ban lasts that long,
// whatever WithBanDuration says.
//
// A banned peer is disconnected, and from then on the scorer retains its
// bad score, frozen, for RetainScore (a banned peer's score is below the
// minimum, normally negative, and the scorer retains peers at zero or
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
// retain must be positive: a RetainScore of zero means the scorer forgets
// at once, and a ban for no time would not be a ban.
func WithBanForRetainScore(retain time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if retain <= 0 {
			return fmt.Errorf("peerscore: WithBanForRetainScore: RetainScore %v is not positive", retain)
		}
		c.retain = retain
		return nil
	}
}

// WithCheckInterval sets how often each connected peer is checked; the
// checks of a round are spread evenly over it. The default is
// DefaultCheckInterval.
func WithCheckInterval(d time.Duration) MonitorOption {
	return func(c *monitorConfig) error {
		if d <= 0 {
			return fmt.Errorf("peerscore: WithCheckInterval: %v is not positive", d)
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
			return errors.New("peerscore: WithProtected: nil function")
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
// Close).
func WithOnBan(fn func(p peer.ID, score float64, until time.Time)) MonitorOption {
	return func(c *monitorConfig) error {
		if fn == nil {
			return errors.New("peerscore: WithOnBan: nil function")
		}
		c.onBan = fn
		return nil
	}
}

// WithMonitorLogger sets where the Monitor logs: bans at info level,
// protected peers spared at debug level, failures to close connections at
// warn level. The default discards.
func WithMonitorLogger(l *slog.Logger) MonitorOption {
	return func(c *monitorConfig) error {
		if l == nil {
			return errors.New("peerscore: WithMonitorLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// NewMonitor returns a Monitor of the peers connected to h. score gives a
// peer's score, usually a Scorer's Score method; any function will do, and
// it is called from the Monitor's goroutine only, once per peer per check
// interval. g is the Gater h was built with: the Monitor bans peers there
// (with a Gater h does not use, banned peers would be disconnected but could
// come straight back). The Monitor does nothing until Start.
func NewMonitor(h host.Host, score func(peer.ID) float64, g *Gater, opts ...MonitorOption) (*Monitor, error) {
	switch {
	case h == nil:
		return nil, errors.New("peerscore: NewMonitor: nil host")
	case score == nil:
		return nil, errors.New("peerscore: NewMonitor: nil score function")
	case g == nil:
		return nil, errors.New("peerscore: NewMonitor: nil gater")
	}
	cfg := monitorConfig{
		minScore:    DefaultMonitorMinScore,
		banDuration: DefaultBanDuration,
		interval:    DefaultCheckInterval,
		logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Monitor{host: h, score: score, gater: g, cfg: cfg}, nil
}

// Start runs the Monitor's checks on a goroutine of its own until ctx is
// done or Close is called. It returns at once. Calling it again, or after
// Close, does nothing.
func (m *Monitor) Start(ctx context.Context) { m.life.Start(ctx, m.run) }

// Close stops the checks and waits until they have stopped, including a
// callback running at the time (the score function, WithProtected,
// WithOnBan): once Close returns, none is running and none will start.
// Bans already made stay in the Gater until they expire.
//
// A callback may call Close (of this Monitor, or of a Scorer). It cannot
// wait for itself: it stops everything, waits for the rest (but for
// another callback that is inside a Close too, which would be waiting for
// it) and returns, and the Monitor's loop ends as soon as the callback
// returns, banning no one more. Close from a goroutine that a running
// callback waits for would never return.
//
// Close is safe for concurrent use and may be called any number of times;
// each call waits as described and returns nil.
func (m *Monitor) Close() error {
	m.life.Stop()
	return nil
}

// run checks the connected peers round after round, each round spread
// over one check interval.
func (m *Monitor) run(ctx context.Context) {
	interval := m.cfg.interval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		peers := m.host.Network().Peers()
		n := len(peers)
		ticks := 1 // no peers: look again after an interval
		if n > 0 {
			ticks = min(n, max(1, int(interval/minCheckStep)))
		}
		tick.Reset(interval / time.Duration(ticks))
		for i := range ticks {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// Tick i checks the i-th of ticks even slices of the list.
			for _, p := range peers[i*n/ticks : (i+1)*n/ticks] {
				if ctx.Err() != nil {
					return
				}
				m.check(ctx, p)
			}
		}
	}
}

// check bans p if its score is below the minimum and it is not protected.
// A peer that has disconnected since the round began is still judged: a
// bad peer should not dodge the ban by leaving first. Once ctx is done (a
// callback may have called Close) it bans no one.
func (m *Monitor) check(ctx context.Context, p peer.ID) {
	score := m.score(p)
	if !(score < m.cfg.minScore) {
		return // also NaN: no evidence against the peer
	}
	for _, protected := range m.cfg.protected {
		if ctx.Err() != nil {
			return
		}
		if protected(p) {
			m.cfg.logger.Debug("peerscore: protected peer below minimum score not banned",
				"peer", p, "score", score, "min", m.cfg.minScore)
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	d := m.cfg.banDuration
	if m.cfg.retain > 0 {
		d = m.cfg.retain
	}
	want := time.Now().Add(d)
	m.gater.Ban(p, want)
	until, ok := m.gater.Banned(p)
	if !ok {
		until = want // unbanned in between: report what we asked for
	}
	// Ban first, then disconnect, so that the peer cannot slip back in
	// between.
	if err := m.host.Network().ClosePeer(p); err != nil {
		m.cfg.logger.Warn("peerscore: closing banned peer's connections", "peer", p, "err", err)
	}
	m.cfg.logger.Info("peerscore: banned peer below minimum score",
		"peer", p, "score", score, "min", m.cfg.minScore, "until", until)
	if m.cfg.onBan != nil {
		m.cfg.onBan(p, score, until)
	}
}
