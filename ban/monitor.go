package ban

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/lifecycle"
	"github.com/peerscore/peerscore/internal/option"
)

// Scorer is where a Monitor reads scores: *peerscore.Scorer, or any other
// score (ScoreFunc turns a function into one). Score is called from the
// Monitor's goroutine only, once per connected peer per check interval.
//
// If the Scorer also has a method Thresholds() *peerscore.Thresholds, as
// *peerscore.Scorer does, and it returns thresholds, the Monitor's
// minimum score defaults to their GraylistThreshold (see WithMinScore).
type Scorer interface {
	Score(peer.ID) float64
}

// ScoreFunc is a score function used as a Scorer: a peer's score is
// f(peer).
type ScoreFunc func(peer.ID) float64

// Score returns f(p).
func (f ScoreFunc) Score(p peer.ID) float64 { return f(p) }

// thresholder is the optional part of a Scorer that sets the default
// minimum score.
type thresholder interface {
	Thresholds() *peerscore.Thresholds
}

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
// one check interval (with n peers, one every interval/n, but no more than
// one wake-up per 10ms), then takes a fresh list; so every peer is checked
// once per interval and the work (and any burst of disconnections) is
// spread out. op-node checks one peer a second, however many there are;
// fixing the interval instead bounds how long a bad peer can stay. A peer
// that connects during a round is first checked in the next one, so
// within two intervals.
//
// # Protected peers
//
// Peers for which a WithProtected callback returns true are never banned,
// whatever their score: static peers you configured, the router's direct
// peers, trusted peers. They are still scored; the router's thresholds
// still apply to them.
type Monitor struct {
	host   host.Host
	scorer Scorer
	gater  *Gater
	cfg    monitorConfig

	life lifecycle.Lifecycle
}

// NewMonitor returns a Monitor of the peers connected to h, reading their
// scores from s, usually the *peerscore.Scorer of h's router. g is the
// Gater h was built with: the Monitor bans peers there (with a Gater h
// does not use, banned peers would be disconnected but could come straight
// back). The Monitor does nothing until Start.
//
// The defaults: a minimum score of s's GraylistThreshold if s has
// thresholds, else -100 (WithMinScore); bans of one hour (WithBanDuration,
// WithBanUntilForgotten); every peer checked every 30 seconds
// (WithCheckInterval); no protected peers; no logging.
func NewMonitor(h host.Host, s Scorer, g *Gater, opts ...MonitorOption) (*Monitor, error) {
	switch {
	case h == nil:
		return nil, fmt.Errorf("%s: NewMonitor: nil host", errPrefix)
	case isNil(s):
		return nil, fmt.Errorf("%s: NewMonitor: nil Scorer", errPrefix)
	case g == nil:
		return nil, fmt.Errorf("%s: NewMonitor: nil Gater", errPrefix)
	}
	cfg := monitorConfig{
		minScore:    defaultMinScore,
		banDuration: defaultBanDuration,
		interval:    defaultCheckInterval,
		logger:      slog.New(slog.DiscardHandler),
	}
	if err := option.Apply(errPrefix, &cfg, opts); err != nil {
		return nil, err
	}
	if !cfg.minScoreSet {
		if ts, ok := s.(thresholder); ok {
			if t := ts.Thresholds(); t != nil {
				cfg.minScore = t.GraylistThreshold
			}
		}
	}
	return &Monitor{host: h, scorer: s, gater: g, cfg: cfg}, nil
}

// isNil reports whether s is nil, or a nil pointer or function inside the
// interface, whose Score would panic on the Monitor's goroutine.
func isNil(s Scorer) bool {
	if s == nil {
		return true
	}
	switch v := reflect.ValueOf(s); v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// Start runs the Monitor's checks on a goroutine of its own until ctx is
// done or Close is called. It returns at once. Calling it again, or after
// Close, does nothing.
func (m *Monitor) Start(ctx context.Context) { m.life.Start(ctx, m.run) }

// Close stops the checks and waits until they have stopped, including a
// callback running at the time (the Scorer's Score, WithProtected,
// WithOnBan): once Close returns, none is running and none will start.
// Bans already made stay in the Gater until they expire.
//
// A callback may call Close (of this Monitor, or of a peerscore.Scorer).
// It cannot wait for itself: it stops everything, waits for the rest (but
// for another callback that is inside a Close too, which would be waiting
// for it) and returns, and the Monitor's loop ends as soon as the callback
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
	score := m.scorer.Score(p)
	if !(score < m.cfg.minScore) {
		return // also NaN: no evidence against the peer
	}
	for _, protected := range m.cfg.protected {
		if ctx.Err() != nil {
			return
		}
		if protected(p) {
			m.cfg.logger.Debug("protected peer below minimum score not banned",
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
		m.cfg.logger.Warn("closing banned peer's connections", "peer", p, "err", err)
	}
	m.cfg.logger.Info("banned peer below minimum score",
		"peer", p, "score", score, "min", m.cfg.minScore, "until", until)
	if m.cfg.onBan != nil {
		m.cfg.onBan(p, score, until)
	}
}
