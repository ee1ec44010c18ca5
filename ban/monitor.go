package ban

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/internal/lifecycle"
	"github.com/peerscore/peerscore/internal/option"
	"github.com/peerscore/peerscore/internal/scoresource"
)

// Scorer is where a Monitor reads scores: anything with a method
// Score(peer.ID) float64, such as *peerscore.Scorer (ScoreFunc turns a
// function into one). Score is called from the Monitor's goroutine only,
// once per connected peer per check interval.
//
// If the Scorer also has a method Thresholds() *peerscore.Thresholds, as
// *peerscore.Scorer does, and it returns thresholds, the Monitor's
// minimum score defaults to their GraylistThreshold (see WithMinScore).
//
// It is the same type as rank.Scorer.
type Scorer = scoresource.Scorer

// ScoreFunc is a score function used as a Scorer: its Score(p) returns
// f(p). It is the same type as rank.ScoreFunc.
type ScoreFunc = scoresource.Func

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
//
// # The ban limit
//
// A node that is itself at fault (behind the chain, with a wrong clock or
// a validation bug) can see every peer that served it well score badly at
// once, and banning them all would leave it with no peers, as happened to
// Prysm nodes in OffchainLabs/prysm#17166. So a Monitor bans at most a
// share of its established peers, those it has seen score above zero,
// within any window of time (WithBanLimit; by default 10% per 10 minutes,
// at least one). When the limit holds a ban back, the Monitor logs it at
// error level, once until it can ban again, counts it (Stats), and leaves
// the peer connected; the peer is checked again in the next round and
// banned once the window has room. A held-back peer costs little: the
// router already ignores a peer below its GraylistThreshold. Peers never
// seen above zero are banned without limit: a swarm of throw-away
// identities must not spend the budget and shield a real attacker; a burst
// of them is logged at warn level as what it is.
//
// # Address bans
//
// With WithIPBanAbove(k), the Monitor also bans an address once more than
// k of the peers it banned came from it, as Lighthouse does (k = 5), for as
// long as more than k of those bans last. It is off by default: an address
// ban also turns away the honest peers behind it (a carrier-grade NAT, a
// VPN exit, a shared host), and the scorer's IP colocation factor (P6)
// already charges peers that crowd onto one address.
type Monitor struct {
	host   host.Host
	scorer Scorer
	gater  *Gater
	cfg    monitorConfig

	// Owned by the Monitor's goroutine.
	limiter banLimiter
	fresh   freshBans
	ips     ipTracker
	// good holds the connected peers the Monitor has seen score above
	// zero: the established peers, whose bans the limit counts. It is
	// pruned to the connected peers at each round.
	good      map[peer.ID]struct{}
	connected int // peers connected when the round began

	bans, freshBans, ipBans, held, limitReached atomic.Uint64

	life lifecycle.Lifecycle
}

// MonitorStats counts what a Monitor has done since it was built, for a
// metrics exporter or an operator's endpoint; it marshals to JSON with
// the field names below.
type MonitorStats struct {
	// Bans is how many peers the Monitor has banned.
	Bans uint64 `json:"bans"`
	// FreshBans is how many of them the Monitor had never seen score
	// above zero: bans the limit lets through (see WithBanLimit).
	FreshBans uint64 `json:"fresh_bans"`
	// IPBans is how many address bans it has made or extended
	// (WithIPBanAbove).
	IPBans uint64 `json:"ip_bans"`
	// HeldBack is how many bans the ban limit has held back (WithBanLimit).
	// A peer held back is checked again, and so may be counted again, in
	// each later round until it is banned.
	HeldBack uint64 `json:"held_back"`
	// LimitReached is how many times the ban limit began to hold bans
	// back: once each time it trips, however many it then holds back.
	LimitReached uint64 `json:"limit_reached"`
}

// Stats returns the Monitor's counts. It is safe to call at any time,
// from any goroutine; it takes no lock.
func (m *Monitor) Stats() MonitorStats {
	return MonitorStats{
		Bans:         m.bans.Load(),
		FreshBans:    m.freshBans.Load(),
		IPBans:       m.ipBans.Load(),
		HeldBack:     m.held.Load(),
		LimitReached: m.limitReached.Load(),
	}
}

// NewMonitor returns a Monitor of the peers connected to h, reading their
// scores from s, usually the *peerscore.Scorer of h's router. g is the
// Gater h was built with: the Monitor bans peers there (with a Gater h
// does not use, banned peers would be disconnected but could come straight
// back). The Monitor does nothing until Start.
//
// The defaults: a minimum score of s's GraylistThreshold if s has
// thresholds, else -100 (WithMinScore); bans of one hour (WithBanDuration,
// WithBanForRetainScore); every peer checked every 30 seconds
// (WithCheckInterval); at most 10% of the established peers banned per 10
// minutes (WithBanLimit); no address bans (WithIPBanAbove); no protected
// peers; logs to slog.Default() (WithLogger).
func NewMonitor(h host.Host, s Scorer, g *Gater, opts ...MonitorOption) (*Monitor, error) {
	if err := scoresource.CheckArgs(errPrefix, "NewMonitor", h, s); err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("%s: NewMonitor: nil Gater", errPrefix)
	}
	cfg := monitorConfig{
		minScore:    defaultMinScore,
		banDuration: defaultBanDuration,
		interval:    defaultCheckInterval,
		limitShare:  defaultBanLimitShare,
		limitWindow: defaultBanLimitWindow,
		logger:      slog.Default(),
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
	return &Monitor{
		host: h, scorer: s, gater: g, cfg: cfg,
		limiter: banLimiter{share: cfg.limitShare, window: cfg.limitWindow},
		ips:     ipTracker{above: cfg.ipBanAbove},
		good:    make(map[peer.ID]struct{}),
	}, nil
}

// Start runs the Monitor's checks on a goroutine of its own until ctx is
// done or Close is called. It returns at once. Calling it again, or after
// Close, does nothing.
func (m *Monitor) Start(ctx context.Context) { m.life.Start(ctx, m.run) }

// Close stops the checks. Bans already made stay in the Gater until they
// expire.
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
// The callbacks are the Scorer's Score, WithProtected and WithOnBan: once
// one of them runs at a Close, the Monitor bans no one more. The ban
// itself (the Gater, closing the peer's connections, the log) is the
// Monitor's work, which Close waits for. Close returns nil.
func (m *Monitor) Close() error {
	m.life.Close()
	return nil
}

// run checks the connected peers round after round, each round spread
// over one check interval.
func (m *Monitor) run(r *lifecycle.Run) {
	interval := m.cfg.interval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		peers := m.host.Network().Peers()
		n := len(peers)
		now := time.Now()
		m.limiter.startRound(m.keepGood(peers), now)
		m.connected = n
		m.ips.sweep(now)
		ticks := 1 // no peers: look again after an interval
		if n > 0 {
			ticks = min(n, max(1, int(interval/minCheckStep)))
		}
		tick.Reset(interval / time.Duration(ticks))
		for i := range ticks {
			select {
			case <-r.Done():
				return
			case <-tick.C:
			}
			// Tick i checks the i-th of ticks even slices of the list.
			for _, p := range peers[i*n/ticks : (i+1)*n/ticks] {
				if !m.check(r, p) {
					return
				}
			}
		}
	}
}

// keepGood forgets the good peers no longer connected, and returns how
// many of the connected peers are good.
func (m *Monitor) keepGood(connected []peer.ID) int {
	now := make(map[peer.ID]struct{}, len(m.good))
	for _, p := range connected {
		if _, ok := m.good[p]; ok {
			now[p] = struct{}{}
		}
	}
	m.good = now
	return len(now)
}

// check bans p if its score is below the minimum and it is not protected.
// A peer that has disconnected since the round began is still judged: a
// bad peer should not dodge the ban by leaving first. It calls the user's
// code through r.Call, and reports false, having banned no one, once the
// run is stopped (a callback may have called Close).
func (m *Monitor) check(r *lifecycle.Run, p peer.ID) bool {
	var score float64
	if !r.Call(func() { score = m.scorer.Score(p) }) {
		return false
	}
	if score > 0 {
		m.good[p] = struct{}{}
	}
	if !(score < m.cfg.minScore) {
		return true // also NaN: no evidence against the peer
	}
	for _, protected := range m.cfg.protected {
		var yes bool
		if !r.Call(func() { yes = protected(p) }) {
			return false
		}
		if yes {
			m.cfg.logger.Debug("protected peer below minimum score not banned",
				"peer", p, "score", score, "min", m.cfg.minScore)
			return true
		}
	}
	now := time.Now()
	var until time.Time
	if _, established := m.good[p]; !established {
		until = m.ban(p, score, now)
		m.noteFresh(now)
	} else {
		if !m.limiter.allow(now) {
			m.holdBack(p, score)
			return true
		}
		m.limiter.record(now)
		until = m.ban(p, score, now)
		if m.limiter.tripped {
			m.cfg.logger.Warn("ban limit no longer reached; banning again",
				"held_back", m.limiter.held, "window", m.limiter.window)
			m.limiter.tripped, m.limiter.held = false, 0
		}
	}
	if m.cfg.onBan == nil {
		return true
	}
	return r.Call(func() { m.cfg.onBan(p, score, until) })
}

// noteFresh counts a ban of a peer never seen above zero, and says so
// when a window holds more of them than the limit's share of the peers:
// that is a flood of fresh identities, not the node's own fault.
func (m *Monitor) noteFresh(now time.Time) {
	m.freshBans.Add(1)
	budget := banLimiter{share: m.limiter.share, base: m.connected}
	if m.fresh.record(now, m.limiter.window, budget.budget()) {
		m.cfg.logger.Warn("banned many peers that never scored above zero: a flood of fresh identities (Sybils), "+
			"not a fault of this node; the ban limit does not hold such bans back",
			"fresh_bans_in_window", len(m.fresh.recent), "peers", m.connected, "window", m.limiter.window)
	}
}

// ban bans p, whose score is below the minimum, and closes its
// connections; it returns when the ban ends.
func (m *Monitor) ban(p peer.ID, score float64, now time.Time) time.Time {
	d := m.cfg.banDuration
	if m.cfg.retain > 0 {
		d = m.cfg.retain
	}
	var ips []netip.Addr
	if m.ips.above > 0 {
		ips = m.remoteIPs(p) // before the connections close
	}
	want := now.Add(d)
	if want.After(maxUntil) {
		want = maxUntil // a ban as long as a Duration allows, from a far future clock
	}
	m.gater.ban(p, want)
	delete(m.good, p)
	m.bans.Add(1)
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
	if len(ips) > 0 {
		m.banIPs(p, ips, until)
	}
	return until
}

// holdBack leaves p, below the minimum, unbanned because the ban limit is
// reached, and says so: at error level when the limit trips, for the
// operator to look at, then at debug level for each peer.
func (m *Monitor) holdBack(p peer.ID, score float64) {
	m.held.Add(1)
	m.limiter.held++
	if !m.limiter.tripped {
		m.limiter.tripped = true
		m.limitReached.Add(1)
		m.cfg.logger.Error("ban limit reached: peers that scored above zero turned bad at once; "+
			"holding back their bans until the window has room; suspect this node (clock, sync, validation) rather than them",
			"banned_in_window", len(m.limiter.recent), "limit", m.limiter.budget(),
			"established_peers", m.limiter.base, "window", m.limiter.window, "peer", p, "score", score)
		return
	}
	m.cfg.logger.Debug("ban held back by the ban limit", "peer", p, "score", score, "min", m.cfg.minScore)
}
