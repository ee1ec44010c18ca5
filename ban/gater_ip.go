package ban

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// BanIP keeps out the address ip until the given time: the host neither
// dials it nor accepts a connection from it, whichever peer is there. An
// IPv4 address given in its IPv6 form (::ffff:192.0.2.1) bans the IPv4
// address, and an IPv6 zone is ignored. How bans meet the other forms of
// an address is in the Gater's documentation (Address forms). As with Ban, a ban only ever grows
// and a time that has already passed does nothing; one after Forever is
// refused. ip must be valid.
//
// The address is the first IP address in the connection's multiaddr, as
// for go-libp2p's own conngater: for a connection through a relay, the
// relay's. Connections already open from ip stay; close them if you must
// (the Monitor leaves them, to be judged by their own scores).
func (g *Gater) BanIP(ip netip.Addr, until time.Time) error {
	if !ip.IsValid() {
		return fmt.Errorf("%s: BanIP: invalid address", errPrefix)
	}
	if err := checkUntil("BanIP", until); err != nil {
		return err
	}
	ip = ip.Unmap().WithZone("")
	g.banPrefix(netip.PrefixFrom(ip, ip.BitLen()), until)
	return nil
}

// BanSubnet keeps out every address in subnet until the given time, as
// BanIP does for one: an IPv6 /64 is a usual choice, since one host often
// has the whole of one. Host bits are ignored (192.0.2.7/24 bans
// 192.0.2.0/24), and an IPv4 subnet in its IPv6 form (::ffff:192.0.2.0/120)
// bans the IPv4 subnet. A ban only ever grows: banning a subnet that is
// banned until later does nothing. subnet must be valid and no wider than
// WithMinPrefixLen allows (IPv4 /16, IPv6 /32 by default), and until no
// later than Forever; otherwise BanSubnet returns an error and changes
// nothing.
func (g *Gater) BanSubnet(subnet netip.Prefix, until time.Time) error {
	p, ok := canonicalPrefix(subnet)
	if !ok {
		return fmt.Errorf("%s: BanSubnet: invalid prefix %v", errPrefix, subnet)
	}
	if err := g.widest.check(p); err != nil {
		return fmt.Errorf("%s: BanSubnet: %w", errPrefix, err)
	}
	if err := checkUntil("BanSubnet", until); err != nil {
		return err
	}
	g.banPrefix(p, until)
	return nil
}

// banPrefix bans a canonical prefix until the given time, unless it is
// banned until later already.
func (g *Gater) banPrefix(p netip.Prefix, until time.Time) {
	now := time.Now()
	if !until.After(now) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.ips.bans[p]; ok && !cur.Before(until) {
		return
	}
	g.ips.set(p, until)
	g.maybeSweepLocked(now)
}

// UnbanIP lifts the ban of the address ip, if it has one, at once. A ban of
// a subnet that holds ip stays.
func (g *Gater) UnbanIP(ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	ip = ip.Unmap().WithZone("")
	g.unbanPrefix(netip.PrefixFrom(ip, ip.BitLen()))
}

// UnbanSubnet lifts the ban of exactly subnet (host bits ignored, as in
// BanSubnet), if it has one, at once. Bans of larger or smaller subnets,
// and of single addresses in it, stay.
func (g *Gater) UnbanSubnet(subnet netip.Prefix) {
	if p, ok := canonicalPrefix(subnet); ok {
		g.unbanPrefix(p)
	}
}

func (g *Gater) unbanPrefix(p netip.Prefix) {
	g.mu.Lock()
	g.ips.remove(p)
	g.mu.Unlock()
}

// BannedIP reports whether ip is banned now, by a ban of its own or of a
// subnet that holds it (or, for the NAT64 and 6to4 forms of an IPv4
// address, of that address), and if so until when: the latest end among
// those bans.
func (g *Gater) BannedIP(ip netip.Addr) (until time.Time, ok bool) {
	if !ip.IsValid() {
		return time.Time{}, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(g.ips.bans) == 0 {
		return time.Time{}, false
	}
	ip, now := ip.Unmap().WithZone(""), time.Now()
	until, ok = g.ips.lookup(ip, now)
	if v4, embeds := embeddedIPv4(ip); embeds {
		if u, found := g.ips.lookup(v4, now); found && u.After(until) {
			until, ok = u, true
		}
	}
	return until, ok
}

// The IPv6 prefixes whose addresses carry an IPv4 address of the same
// host: NAT64's well-known prefix (RFC 6052), the IPv4 address in its
// last 32 bits, and 6to4 (RFC 3056), in bits 16 to 47.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address of NAT64's
// well-known prefix or of 6to4 stands for.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	b := ip.As16()
	switch {
	case !ip.Is6():
		return netip.Addr{}, false
	case nat64Prefix.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// check refuses a canonical prefix wider than the Gater bans.
func (w widest) check(p netip.Prefix) error {
	least, family := w.v6, "IPv6"
	if p.Addr().Is4() {
		least, family = w.v4, "IPv4"
	}
	if p.Bits() < least {
		return fmt.Errorf("%v is wider than the widest %s subnet this Gater bans (/%d; see WithMinPrefixLen)", p, family, least)
	}
	return nil
}

// allowedAddr reports whether the IP address of addr is not banned now.
// An address without one (a DNS name) is allowed: the dialler resolves it,
// and gates the addresses it resolves to.
func (g *Gater) allowedAddr(addr ma.Multiaddr) bool {
	g.mu.RLock()
	none := len(g.ips.bans) == 0
	g.mu.RUnlock()
	if none {
		return true // no address bans: no parsing either
	}
	ip, ok := firstIP(addr)
	if !ok {
		return true
	}
	_, banned := g.BannedIP(ip)
	return !banned
}

// allowedRemote reports whether the remote address of a connection is not
// banned now.
func (g *Gater) allowedRemote(addrs network.ConnMultiaddrs) bool {
	if addrs == nil {
		return true
	}
	return g.allowedAddr(addrs.RemoteMultiaddr())
}

// firstIP returns the first IP address in a multiaddr (after an IPv6
// zone, if any), unmapped: the address a connection comes from or goes
// to.
func firstIP(addr ma.Multiaddr) (netip.Addr, bool) {
	for _, c := range addr {
		switch c.Code() {
		case ma.P_IP6ZONE: // the address follows
		case ma.P_IP4, ma.P_IP6:
			ip, ok := netip.AddrFromSlice(c.RawValue())
			return ip.Unmap(), ok
		default:
			return netip.Addr{}, false
		}
	}
	return netip.Addr{}, false
}

// canonicalPrefix is subnet as the table keys it: host bits cleared, no
// zone, an IPv4 subnet in its IPv4 form.
func canonicalPrefix(subnet netip.Prefix) (netip.Prefix, bool) {
	if !subnet.IsValid() {
		return netip.Prefix{}, false
	}
	ip, bits := subnet.Addr().WithZone(""), subnet.Bits()
	if ip.Is4In6() && bits >= 96 {
		ip, bits = ip.Unmap(), bits-96
	}
	return netip.PrefixFrom(ip, bits).Masked(), true
}

// ipTable holds the address bans: canonical prefixes and the time each
// ends, and how many prefixes of each length it holds, so that an address
// is looked up once per length in use rather than once per ban.
type ipTable struct {
	bans  map[netip.Prefix]time.Time
	lens4 [33]int32
	lens6 [129]int32
}

func newIPTable() ipTable { return ipTable{bans: make(map[netip.Prefix]time.Time)} }

func (t *ipTable) lens(p netip.Prefix) *int32 {
	if p.Addr().Is4() {
		return &t.lens4[p.Bits()]
	}
	return &t.lens6[p.Bits()]
}

func (t *ipTable) set(p netip.Prefix, until time.Time) {
	if _, ok := t.bans[p]; !ok {
		*t.lens(p)++
	}
	t.bans[p] = until
}

func (t *ipTable) remove(p netip.Prefix) {
	if _, ok := t.bans[p]; ok {
		delete(t.bans, p)
		*t.lens(p)--
	}
}

// sweep drops the bans that have expired by now.
func (t *ipTable) sweep(now time.Time) {
	for p, until := range t.bans {
		if !now.Before(until) {
			t.remove(p)
		}
	}
}

// lookup returns the latest end among the bans in force that hold ip.
func (t *ipTable) lookup(ip netip.Addr, now time.Time) (until time.Time, ok bool) {
	lens := t.lens6[:]
	if ip.Is4() {
		lens = t.lens4[:]
	}
	for bits, n := range lens {
		if n == 0 {
			continue
		}
		p, err := ip.Prefix(bits)
		if err != nil {
			continue
		}
		if u, found := t.bans[p]; found && now.Before(u) && u.After(until) {
			until, ok = u, true
		}
	}
	return until, ok
}
