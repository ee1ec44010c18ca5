package peerscore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore/internal/errprefix"
)

// Option configures a Scorer in New.
type Option func(*config) error

type config struct {
	host        host.Host
	logger      *slog.Logger
	msgID       func(*pb.Message) string
	maxRecords  int
	maxRetain   int
	limits      stateLimits // of saved states
	thresholds  *Thresholds
	inspects    []inspection
	eventFns    []func(ThresholdEvent)
	ipRefresh   time.Duration
	router      routerTimings
	routerOff   bool
	routerCheck time.Duration
	direct      []peer.AddrInfo
	appReasons  func(peer.ID) []string
	specP3      bool
	clock       *ManualClock
}

// defaultMaxDeliveryRecords: see WithMaxDeliveryRecords.
const defaultMaxDeliveryRecords = 1 << 19

// ipRefreshInterval is how often the background loop re-reads the IP
// addresses of connected peers from the host, as pubsub does.
const ipRefreshInterval = time.Minute

func defaultConfig() config {
	return config{
		logger:      slog.Default(),
		msgID:       pubsub.DefaultMsgIdFn,
		maxRecords:  defaultMaxDeliveryRecords,
		maxRetain:   defaultMaxRetainedPeers,
		limits:      defaultStateLimits,
		ipRefresh:   ipRefreshInterval,
		router:      timingsFrom(pubsub.DefaultGossipSubParams()),
		routerCheck: defaultRouterCheckPeriod,
	}
}

// WithHost tells the Scorer which host the router runs on. The host's
// connections are where peers' IP addresses come from, for the IP
// colocation factor (P6), and its streams tell a peer's repeated extensions
// control message from the hello of a new stream; without a host, P6 is
// always 0 and repeated extensions are not charged.
func WithHost(h host.Host) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("WithHost: nil host")
		}
		c.host = h
		return nil
	}
}

// WithLogger sets where the Scorer logs: at Debug, unexpected event
// sequences and loads; at Warn, doubtful parameters (New), peers Save left
// out to stay within 64 MiB and stale temporary files removed; at
// Error, a damaged state file moved aside and a router that does not score
// with peerscore's score alone (see GossipSubOptions). The default is
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithMsgIDFn sets how a message's ID is computed when the router has not
// already set Message.ID (it normally has). Use the same function as the
// router's pubsub.WithMessageIdFn. The default is pubsub.DefaultMsgIdFn.
func WithMsgIDFn(fn func(*pb.Message) string) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("WithMsgIDFn: nil function")
		}
		c.msgID = fn
		return nil
	}
}

// WithMaxDeliveryRecords bounds the number of message delivery records, so a
// flood of distinct messages cannot grow memory without limit. At the
// bound, the oldest record is dropped to make room: a late duplicate of
// that message then earns no mesh delivery credit and a late copy of it,
// if it was invalid, no penalty. n must be positive.
//
// The default is 524,288 (2^19); a node would need to see over 4,000
// distinct messages per second for two minutes to reach it. What a record
// costs (its message ID, map entry and ring slot, and more once a ninth
// peer sent the message), and so what the default bounds, is measured by
// BenchmarkDeliveryRecordMemory: see docs/memory.md in the module's source
// for the figures.
func WithMaxDeliveryRecords(n int) Option {
	return positiveOption("WithMaxDeliveryRecords", n, func(c *config) { c.maxRecords = n })
}

// positiveOption is the option named option: it refuses a non-positive n,
// and otherwise sets it with set.
func positiveOption(option string, n int, set func(*config)) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%s: %d is not positive", option, n)
		}
		set(c)
		return nil
	}
}

// defaultMaxRetainedPeers: see WithMaxRetainedPeers.
const defaultMaxRetainedPeers = 1 << 13

// WithMaxRetainedPeers bounds the number of retained peers: disconnected
// peers whose score is zero or less, kept for RetainScore so that they
// cannot wash their score by reconnecting. Without a bound, every
// throw-away identity that connects and disconnects would cost memory for
// RetainScore. At the bound, the retained peer with the least negative
// conduct (its score without P6, which measures the crowd on an address, P5
// counted as it was when the peer disconnected) is forgotten first, so the
// worst offenders are the ones kept; among equal scores, the one whose
// retention ends first. Stats.RetainedEvicted counts them. n must be
// positive.
//
// A fixed bound always falls to enough peers that are strictly worse: n
// Sybils, each scoring a little below an offender at -1000, push the
// offender out, and it returns with a clean score. The bound is what
// keeps memory in check, not what keeps offenders out: ban them, with
// package ban's Monitor and ban.WithBanForRetainScore, whose ban lasts
// RetainScore in the gater whatever happens to the retained set (the ban
// limit does not let a flood of fresh identities delay it). Stats and the
// metric peerscore_retained_evicted_total show when the bound is reached.
//
// The default is 8,192 (2^13). A retained peer costs a fixed amount plus
// an amount for each topic it has counters in, as
// BenchmarkRetainedPeerMemory measures; docs/memory.md in the module's
// source has the figures, for peers with counters in one topic up to all
// 75 of Ethereum's. Save writes at most 64 MiB of them, the worst first
// (see Save).
func WithMaxRetainedPeers(n int) Option {
	return positiveOption("WithMaxRetainedPeers", n, func(c *config) { c.maxRetain = n })
}

// WithThresholds gives the Scorer the score thresholds at which the router
// acts on a peer, validated and copied. They are the Scorer's from then on:
// GossipSubOptions gives them to the router, and threshold events
// (WithThresholdEvents), the metrics package and the ban monitor read them
// from the Scorer (Thresholds), so they are written in one place.
// GossipSubOptions and WithThresholdEvents need them.
func WithThresholds(t *Thresholds) Option {
	return func(c *config) error {
		if t == nil {
			return errors.New("WithThresholds: nil thresholds")
		}
		if err := t.Validate(); err != nil {
			return errprefix.Mark("peerscore", err) // a ParamError prints the prefix itself
		}
		cp := *t
		c.thresholds = &cp
		return nil
	}
}

// inspection is one WithInspect callback and its period.
type inspection struct {
	fn     func(*Scorer)
	period time.Duration
}

// WithInspect has the background loop hand every peer's score to fn once
// per period, as pubsub.WithPeerScoreInspect does. fn may be any of:
//
//	func(map[peer.ID]float64)                    // pubsub.PeerScoreInspectFn
//	func(map[peer.ID]*pubsub.PeerScoreSnapshot)  // pubsub.ExtendedPeerScoreInspectFn
//	func(map[peer.ID]Snapshot), func(PeerSnapshots) // peerscore's itemised scores
//
// fn runs on a goroutine of its own, holding no lock of the Scorer, so it
// may call back into it, Close included (see Close); a slow fn delays only
// its own next inspection. Several may be given, each with its period.
func WithInspect(fn any, period time.Duration) Option {
	return func(c *config) error {
		if period <= 0 {
			return fmt.Errorf("WithInspect: period %v is not positive", period)
		}
		nilFunc := errors.New("WithInspect: nil callback")
		var inspect func(*Scorer)
		switch f := fn.(type) {
		case func(map[peer.ID]float64):
			if f == nil {
				return nilFunc
			}
			inspect = func(s *Scorer) { f(s.scores()) }
		case func(map[peer.ID]*pubsub.PeerScoreSnapshot):
			if f == nil {
				return nilFunc
			}
			inspect = func(s *Scorer) { f(pubsubSnapshots(s.Snapshots())) }
		case func(map[peer.ID]Snapshot):
			if f == nil {
				return nilFunc
			}
			inspect = func(s *Scorer) { f(s.Snapshots()) }
		case func(PeerSnapshots):
			if f == nil {
				return nilFunc
			}
			inspect = func(s *Scorer) { f(s.Snapshots()) }
		default:
			return fmt.Errorf("WithInspect: unsupported callback type %T", fn)
		}
		c.inspects = append(c.inspects, inspection{fn: inspect, period: period})
		return nil
	}
}

// WithGossipSubParams gives the Scorer the router's GossipSubParams, whose
// timings the rebuilt router penalties follow: HeartbeatInterval,
// IWantFollowupTime, PruneBackoff and GraftFloodThreshold, and
// HeartbeatInitialDelay: Start's loop charges broken promises at the
// router's heartbeats, the first HeartbeatInitialDelay after Start, so
// call Start when the router starts (just before pubsub.NewGossipSub) for
// the charges to land when the router's do. The default is
// pubsub.DefaultGossipSubParams().
func WithGossipSubParams(p pubsub.GossipSubParams) Option {
	return func(c *config) error {
		if p.HeartbeatInterval <= 0 || p.IWantFollowupTime <= 0 || p.PruneBackoff <= 0 {
			return errors.New("WithGossipSubParams: HeartbeatInterval, IWantFollowupTime and PruneBackoff must be positive")
		}
		c.router = timingsFrom(p)
		return nil
	}
}

// WithoutRouterPenalties turns off the rebuilding of the router's behaviour
// penalties (broken IWANT promises, GRAFTs during backoff, repeated
// extensions control messages): P7 then grows only with AddPenalty.
func WithoutRouterPenalties() Option {
	return func(c *config) error {
		c.routerOff = true
		return nil
	}
}

// WithRouterCheck sets how often the Scorer checks that the router wired
// by GossipSubOptions scores with peerscore's score and nothing else, and
// reports it within one period when it does not: an Error in the log, and
// Stats.RouterMismatches (peerscore_router_mismatches_total) counting up
// once per period and detector. What it catches:
//
//   - Topic.SetScoreParams called on the router, which arms the router's
//     own scorer with real weights on top of peerscore's score (found by
//     the router's score inspection, once the router has scored an event
//     in that topic);
//   - pubsub.WithPeerScore given after GossipSubOptions' options, which
//     replaces the router's scorer (found by the Scorer's loop, started
//     with Start: RPCs from connected peers arrive, but the router never
//     asks for peerscore's score).
//
// The default is 10 s. 0 turns both checks off:
// GossipSubOptions then leaves out its pubsub.WithPeerScoreInspect, and the
// loop does not watch. The router never asks for a direct peer's score:
// name direct peers with WithDirectPeers, so that their RPCs are not
// counted against it. Negative periods are an error.
func WithRouterCheck(period time.Duration) Option {
	return func(c *config) error {
		if period < 0 {
			return fmt.Errorf("WithRouterCheck: period %v is negative", period)
		}
		c.routerCheck = period
		return nil
	}
}

// WithDirectPeers names the router's direct peers, as pubsub.WithDirectPeers
// does; GossipSubOptions passes them on to the router, so give them here
// and not to the router as well. The router never meshes with a direct
// peer and never charges its GRAFTs (it answers them with a PRUNE), and
// handles every RPC of a direct peer whatever its score; the rebuilt router
// penalties and the router check (WithRouterCheck) follow it: a direct
// peer's GRAFT during a backoff costs nothing, its RPCs count towards the
// repeated-extensions penalty even below the graylist threshold, and the
// router check does not expect the router to ask for its score.
func WithDirectPeers(peers []peer.AddrInfo) Option {
	return func(c *config) error {
		for _, pi := range peers {
			if pi.ID == "" {
				return errors.New("WithDirectPeers: a peer without an ID")
			}
		}
		c.direct = append(c.direct, peers...)
		return nil
	}
}

// WithAppReasons gives the Scorer a function that explains the
// application's score (P5) of a peer: every Snapshot of the peer carries
// what it returns in AppReasons. The reputation package's Reasons is one
// ("invalid block (high x3)"). fn is called outside the Scorer's lock,
// once per peer per Snapshot or Snapshots, never by Score; it must be safe
// for concurrent use, and the Scorer keeps the slice it returns.
func WithAppReasons(fn func(peer.ID) []string) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("WithAppReasons: nil function")
		}
		c.appReasons = fn
		return nil
	}
}

// WithSpecP3 scores P3 as the gossipsub v1.1 specification reads it, and as
// rust-libp2p and js-libp2p-gossipsub do: a peer that leaves a topic's mesh,
// by PRUNE or by disconnecting, loses its P3 activation there. It pays the
// sticky P3b for the deficit it owed when it left, and no P3 until it is
// grafted again and has served a new MeshMessageDeliveriesActivation.
//
// Without it, P3 is go-libp2p-pubsub's, as every release from v0.17.0 to
// v0.19.0 computes it: the activation survives the PRUNE and the
// disconnect, so the peer goes on paying the P3 deficit on top of the P3b,
// and the deficit grows as its mesh-delivery counter decays (out of the
// mesh, it earns no mesh deliveries), until a GRAFT resets it. A retained
// peer keeps paying it too, and a second PRUNE of a peer already out of
// the mesh charges P3b again.
//
// What it changes for a network: under pubsub's reading, a free-rider that
// was pruned keeps sinking and stays below zero, so the router does not
// graft it again; under the specification's, its score recovers as P3b
// decays, and it may be grafted again sooner. The gossipsub v1.1
// evaluation tuned and validated its parameters on go-libp2p-pubsub, so
// the default keeps what those parameters assume; the option is for nodes
// that want to judge peers as the other implementations do. Nodes of a
// network need not agree: it changes only how this node scores its peers.
func WithSpecP3() Option {
	return func(c *config) error {
		c.specP3 = true
		return nil
	}
}
