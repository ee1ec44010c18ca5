package ban

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/netip"
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

// Gater is a connmgr.ConnectionGater that keeps banned peers and
// addresses out: while a peer's ban lasts, the host neither dials it nor
// accepts a connection from it, and while an address or a subnet is banned
// (BanIP, BanSubnet), neither dials to it nor connections from it. A
// Monitor bans the peers whose score falls too low; Ban, BanIP, BanSubnet,
// their Unban counterparts and Bans let an application or an operator do
// the same by hand.
//
// A Gater needs nothing but itself, so the host can be built with it
// (libp2p.ConnectionGater) before the scorer and the router exist; the
// Monitor is given the same Gater later.
//
// Bans expire by themselves: a ban is a deadline, compared with time.Now
// whenever a connection is gated, so nothing has to run to lift it. Expired
// entries are dropped lazily by later bans, so the table stays in
// proportion to the bans in force however many were ever made. The table
// lives in memory; Save and SaveFile write it, and Load and LoadFile read
// it back after a restart (or package dsstore keeps it in the node's
// datastore), so that a banned peer does not get back in when the node
// restarts.
//
// # Address forms
//
// An address is judged in the form the gater reads it in: an
// IPv4-mapped address (::ffff:192.0.2.1) is the IPv4 address, so IPv4
// bans cover it and IPv6 bans, even of ::/0, do not (ban 0.0.0.0/0 for
// that). An IPv4 ban also covers the address's NAT64 form (64:ff9b::/96,
// RFC 6052) and its 6to4 form (2002::/16, RFC 3056), which reach the same
// host, so a banned host cannot come back through them. Other embeddings
// are not unwrapped: Teredo's (2001::/32) carries the address of the
// client's NAT, not the client's, and local NAT64 prefixes place the IPv4
// address where only their network knows. Subnets wider than
// WithMinPrefixLen allows (IPv4 /16, IPv6 /32 by default) are refused.
//
// A Gater may wrap another gater (WithNext), which is asked too: a
// connection passes only if both allow it. All methods are safe for
// concurrent use; the checks take a read lock and a map lookup (one per
// prefix length in use, for an address, when there are address bans).
type Gater struct {
	next   connmgr.ConnectionGater
	logger *slog.Logger
	limits stateLimits
	widest widest

	mu   sync.RWMutex
	bans map[peer.ID]time.Time
	ips  ipTable
	// sweepAt is the table size (peers and addresses) at which a ban next
	// drops expired entries. It is reset to twice the live size after each
	// sweep, so sweeping is amortised O(1) per ban and the table is at
	// most about twice the number of bans in force (plus minSweep).
	sweepAt int
}

// minSweep is the smallest table size at which Ban bothers to sweep.
const minSweep = 64

// Forever is the latest time a ban can end: the last instant of the year
// 9999, in UTC. A saved table writes times in RFC 3339, whose years have
// four digits, so a later end could not be saved, and one such ban would
// make every save of the table fail. Ban a peer until Forever to ban it
// for good.
var Forever = maxUntil

// maxUntil is Forever as the package checks it, whatever a caller does
// to the exported variable.
var maxUntil = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)

// checkUntil refuses an end of a ban that a saved table cannot hold.
func checkUntil(op string, until time.Time) error {
	if until.After(maxUntil) {
		return fmt.Errorf("%s: %s: the ban would end at %v, after year 9999 (UTC), which a saved table cannot hold; "+
			"use ban.Forever for a ban for good", errPrefix, op, until)
	}
	return nil
}

var _ connmgr.ConnectionGater = (*Gater)(nil)

// NewGater returns a Gater with no bans. It needs neither a host nor a
// scorer, so that it can be handed to libp2p.New before either exists. Nil
// options are skipped.
func NewGater(opts ...GaterOption) *Gater {
	cfg := gaterConfig{
		logger: slog.Default(),
		limits: defaultStateLimits,
		widest: widest{v4: defaultMinPrefixLen4, v6: defaultMinPrefixLen6},
	}
	// No GaterOption can fail (WithNext takes nil for "no next gater",
	// WithGaterLogger nil for the default, WithMinPrefixLen holds lengths
	// to their range), so Apply returns nil here; it
	// is used for its handling of nil options, the same as in every
	// constructor of the module.
	_ = option.Apply(errPrefix, &cfg, opts)
	return &Gater{
		next:    cfg.next,
		logger:  cfg.logger,
		limits:  cfg.limits,
		widest:  cfg.widest,
		bans:    make(map[peer.ID]time.Time),
		ips:     newIPTable(),
		sweepAt: minSweep,
	}
}

// Ban keeps p out until the given time. A ban only ever grows: if p is
// already banned until later, Ban leaves it alone, so that a short
// automatic ban (a Monitor's) cannot cut short a longer one set by an
// operator or an earlier offence. To shorten a ban, Unban and Ban again. A
// time that has already passed does nothing. A time after Forever is
// refused with an error, and nothing changes.
//
// Ban does not touch connections p already has; the Monitor closes them
// after banning (h.Network().ClosePeer).
func (g *Gater) Ban(p peer.ID, until time.Time) error {
	if err := checkUntil("Ban", until); err != nil {
		return err
	}
	g.ban(p, until)
	return nil
}

// ban bans p until a time checkUntil accepted.
func (g *Gater) ban(p peer.ID, until time.Time) {
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
	g.maybeSweepLocked(now)
}

// maybeSweepLocked drops the bans that have expired by now, if the table
// has grown to sweepAt.
func (g *Gater) maybeSweepLocked(now time.Time) {
	if g.sizeLocked() < g.sweepAt {
		return
	}
	for p, until := range g.bans {
		if !now.Before(until) {
			delete(g.bans, p)
		}
	}
	g.ips.sweep(now)
	g.sweepAt = max(2*g.sizeLocked(), minSweep)
}

// sizeLocked is how many entries the table holds, expired ones included.
func (g *Gater) sizeLocked() int { return len(g.bans) + len(g.ips.bans) }

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

// Entry is one ban in force: of a peer, or of an address or subnet, and
// the time it ends. It marshals to JSON as
// {"peer":"12D3Koo…","until":"2006-01-02T15:04:05Z"} for a peer, the peer
// ID in its usual text form, and as
// {"prefix":"192.0.2.0/24","until":"2006-01-02T15:04:05Z"} for a subnet (a
// single address is a /32 or, for IPv6, a /128).
type Entry struct {
	Peer   peer.ID      `json:"peer,omitempty"`
	Prefix netip.Prefix `json:"prefix,omitzero"`
	Until  time.Time    `json:"until"`
}

// Bans returns the bans in force now, peers and addresses, the soonest to
// end first (then peers by ID before subnets by address), in a slice of
// the caller's own. An operator's endpoint can hand it to encoding/json as
// it is.
func (g *Gater) Bans() []Entry {
	now := time.Now()
	g.mu.RLock()
	out := make([]Entry, 0, g.sizeLocked())
	for p, until := range g.bans {
		if now.Before(until) {
			out = append(out, Entry{Peer: p, Until: until})
		}
	}
	for pfx, until := range g.ips.bans {
		if now.Before(until) {
			out = append(out, Entry{Prefix: pfx, Until: until})
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(out, compareEntries)
	return out
}

// compareEntries orders entries by the end of their ban, then peers before
// subnets, peers by ID and subnets by address.
func compareEntries(a, b Entry) int {
	isSubnet := func(e Entry) int {
		if e.Prefix.IsValid() {
			return 1
		}
		return 0
	}
	return cmp.Or(
		a.Until.Compare(b.Until),
		cmp.Compare(isSubnet(a), isSubnet(b)),
		cmp.Compare(a.Peer, b.Peer),
		a.Prefix.Compare(b.Prefix),
	)
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

// InterceptAddrDial refuses to dial any address of a banned peer, and a
// banned address of any peer, then asks the next gater. (The swarm asks
// InterceptPeerDial first; checking the peer again here covers dials that
// were under way when the ban began.)
func (g *Gater) InterceptAddrDial(p peer.ID, addr ma.Multiaddr) bool {
	if !g.allowed(p) || !g.allowedAddr(addr) {
		return false
	}
	return g.next == nil || g.next.InterceptAddrDial(p, addr)
}

// InterceptAccept refuses a connection from a banned address, then asks
// the next gater. Before the security handshake the remote peer's ID is
// not known yet, so InterceptSecured turns banned peers away instead.
func (g *Gater) InterceptAccept(addrs network.ConnMultiaddrs) bool {
	if !g.allowedRemote(addrs) {
		return false
	}
	return g.next == nil || g.next.InterceptAccept(addrs)
}

// InterceptSecured refuses a connection with a banned peer, now that the
// handshake has authenticated it, or with a banned address, then asks the
// next gater. It refuses inbound connections, which is how a banned peer is
// kept from dialling us, and outbound ones too, which catches a dial that
// began before the ban.
func (g *Gater) InterceptSecured(dir network.Direction, p peer.ID, addrs network.ConnMultiaddrs) bool {
	if !g.allowed(p) || !g.allowedRemote(addrs) {
		return false
	}
	return g.next == nil || g.next.InterceptSecured(dir, p, addrs)
}

// InterceptUpgraded leaves the decision to the next gater, allowing the
// connection if there is none: a banned peer or address has been turned
// away by InterceptSecured already.
func (g *Gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.next == nil {
		return true, 0
	}
	return g.next.InterceptUpgraded(c)
}
