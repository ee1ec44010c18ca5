package ban

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerscore/peerscore/internal/option"
)

// errPrefix starts every error of the package, once.
const errPrefix = "peerscore/ban"

// Gater is a connmgr.ConnectionGater that keeps banned peers out: while a
// peer's ban lasts, the host neither dials it nor accepts a connection from
// it. A Monitor bans the peers whose score falls too low; Ban, Unban and
// Bans let an application or an operator do the same by hand.
//
// A Gater needs nothing but itself, so the host can be built with it
// (libp2p.ConnectionGater) before the scorer and the router exist; the
// Monitor is given the same Gater later.
//
// Bans expire by themselves: a ban is a deadline, compared with time.Now
// whenever a connection is gated, so nothing has to run to lift it. Expired
// entries are dropped lazily by later calls to Ban, so the table stays in
// proportion to the bans in force however many peers were ever banned.
// Bans are kept in memory only; they do not survive a restart.
//
// A Gater may wrap another gater (WithNext), which is asked too: a
// connection passes only if both allow it. All methods are safe for
// concurrent use; the checks take a read lock and a map lookup.
type Gater struct {
	next connmgr.ConnectionGater

	mu   sync.RWMutex
	bans map[peer.ID]time.Time
	// sweepAt is the table size at which Ban next drops expired entries.
	// It is reset to twice the live size after each sweep, so sweeping is
	// amortised O(1) per Ban and the table is at most about twice the
	// number of bans in force (plus minSweep).
	sweepAt int
}

// minSweep is the smallest table size at which Ban bothers to sweep.
const minSweep = 64

var _ connmgr.ConnectionGater = (*Gater)(nil)

// NewGater returns a Gater with no bans. It needs neither a host nor a
// scorer, so that it can be handed to libp2p.New before either exists. Nil
// options are skipped.
func NewGater(opts ...GaterOption) *Gater {
	var cfg gaterConfig
	// No GaterOption can fail (WithNext takes nil for "no next gater"), so
	// Apply returns nil here; it is used for its handling of nil options,
	// the same as in every constructor of the module.
	_ = option.Apply(errPrefix, &cfg, opts)
	return &Gater{next: cfg.next, bans: make(map[peer.ID]time.Time), sweepAt: minSweep}
}

// Ban keeps p out until the given time. A ban only ever grows: if p is
// already banned until later, Ban leaves it alone, so that a short
// automatic ban (a Monitor's) cannot cut short a longer one set by an
// operator or an earlier offence. To shorten a ban, Unban and Ban again. A
// time that has already passed does nothing.
//
// Ban does not touch connections p already has; the Monitor closes them
// after banning (h.Network().ClosePeer).
func (g *Gater) Ban(p peer.ID, until time.Time) {
	now := time.Now()
	if !until.After(now) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.bans[p]; ok && !cur.Before(until) {
		return
	}
	g.bans[p] = until
	if len(g.bans) >= g.sweepAt {
		g.sweepLocked(now)
	}
}

// sweepLocked drops the bans that have expired by now.
func (g *Gater) sweepLocked(now time.Time) {
	for p, until := range g.bans {
		if !now.Before(until) {
			delete(g.bans, p)
		}
	}
	g.sweepAt = max(2*len(g.bans), minSweep)
}

// Unban lifts p's ban, if it has one, at once.
func (g *Gater) Unban(p peer.ID) {
	g.mu.Lock()
	delete(g.bans, p)
	g.mu.Unlock()
}

// Banned reports whether p is banned now, and if so until when.
func (g *Gater) Banned(p peer.ID) (until time.Time, ok bool) {
	g.mu.RLock()
	until, ok = g.bans[p]
	g.mu.RUnlock()
	if !ok || !time.Now().Before(until) {
		return time.Time{}, false
	}
	return until, true
}

// Entry is one ban in force: the peer and the time its ban ends. It
// marshals to JSON as {"peer":"12D3Koo…","until":"2006-01-02T15:04:05Z"},
// the peer ID in its usual text form.
type Entry struct {
	Peer  peer.ID   `json:"peer"`
	Until time.Time `json:"until"`
}

// Bans returns the bans in force now, the soonest to end first (then by
// peer ID), in a slice of the caller's own. An operator's endpoint can
// hand it to encoding/json as it is.
func (g *Gater) Bans() []Entry {
	now := time.Now()
	g.mu.RLock()
	out := make([]Entry, 0, len(g.bans))
	for p, until := range g.bans {
		if now.Before(until) {
			out = append(out, Entry{Peer: p, Until: until})
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int {
		return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.Peer, b.Peer))
	})
	return out
}

// allowed reports whether p is not banned now.
func (g *Gater) allowed(p peer.ID) bool {
	_, banned := g.Banned(p)
	return !banned
}

// InterceptPeerDial refuses to dial a banned peer, then asks the next
// gater.
func (g *Gater) InterceptPeerDial(p peer.ID) bool {
	if !g.allowed(p) {
		return false
	}
	return g.next == nil || g.next.InterceptPeerDial(p)
}

// InterceptAddrDial refuses to dial any address of a banned peer, then asks
// the next gater. (The swarm asks InterceptPeerDial first; checking again
// here covers dials that were under way when the ban began.)
func (g *Gater) InterceptAddrDial(p peer.ID, addr ma.Multiaddr) bool {
	if !g.allowed(p) {
		return false
	}
	return g.next == nil || g.next.InterceptAddrDial(p, addr)
}

// InterceptAccept allows the connection as far as bans go: before the
// security handshake the remote peer's ID is not known yet, so
// InterceptSecured turns banned peers away instead. It asks the next gater.
func (g *Gater) InterceptAccept(addrs network.ConnMultiaddrs) bool {
	return g.next == nil || g.next.InterceptAccept(addrs)
}

// InterceptSecured refuses a connection with a banned peer, now that the
// handshake has authenticated it, then asks the next gater. It refuses
// inbound connections, which is how a banned peer is kept from dialling
// us, and outbound ones too, which catches a dial that began before the
// ban.
func (g *Gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if !g.allowed(p) {
		return false
	}
	return g.next == nil || g.next.InterceptSecured(dir, p, addrs)
}

// InterceptUpgraded leaves the decision to the next gater, allowing the
// connection if there is none: a banned peer has been turned away by
// InterceptSecured already.
func (g *Gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.next == nil {
		return true, 0
	}
	return g.next.InterceptUpgraded(c)
}
