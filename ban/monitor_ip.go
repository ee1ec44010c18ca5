package ban

import (
	"net/netip"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// maxIPsPerPeer bounds the addresses recorded for one banned peer: a peer
// has one connection, or a few.
const maxIPsPerPeer = 8

// ipTracker records, for WithIPBanAbove, which banned peers were connected
// from each address and until when each is banned. It is used from the
// Monitor's goroutine only. Its size is bounded by the bans in force times
// maxIPsPerPeer: entries go when their ban ends (sweep, once a round).
type ipTracker struct {
	above int // ban an address with more than this many banned peers
	peers map[netip.Addr]map[peer.ID]time.Time
}

// add records that p, connected from ip, is banned until the given time,
// and returns how long ip should be banned for: while more than above of
// its banned peers are still banned, that is until the (above+1)-th latest
// of their bans ends. ok is false while above or fewer are.
func (t *ipTracker) add(ip netip.Addr, p peer.ID, until, now time.Time) (ipUntil time.Time, ok bool) {
	if t.peers == nil {
		t.peers = make(map[netip.Addr]map[peer.ID]time.Time)
	}
	set := t.peers[ip]
	if set == nil {
		set = make(map[peer.ID]time.Time)
		t.peers[ip] = set
	}
	set[p] = until
	for q, u := range set {
		if !now.Before(u) {
			delete(set, q)
		}
	}
	if len(set) <= t.above {
		return time.Time{}, false
	}
	ends := make([]time.Time, 0, len(set))
	for _, u := range set {
		ends = append(ends, u)
	}
	slices.SortFunc(ends, func(a, b time.Time) int { return b.Compare(a) })
	return ends[t.above], true
}

// sweep forgets the bans that have ended by now, and addresses left with
// none.
func (t *ipTracker) sweep(now time.Time) {
	for ip, set := range t.peers {
		for q, u := range set {
			if !now.Before(u) {
				delete(set, q)
			}
		}
		if len(set) == 0 {
			delete(t.peers, ip)
		}
	}
}

// remoteIPs returns the distinct addresses p's connections come from, at
// most maxIPsPerPeer of them, leaving out what must not be banned for p's
// faults: relayed connections (the address is the relay's, shared by
// every peer it relays), loopback and unspecified addresses (local peers,
// tests and proxies all share them).
func (m *Monitor) remoteIPs(p peer.ID) []netip.Addr {
	var ips []netip.Addr
	for _, c := range m.host.Network().ConnsToPeer(p) {
		addr := c.RemoteMultiaddr()
		if relayed(addr) {
			continue
		}
		ip, ok := firstIP(addr)
		if !ok || ip.IsLoopback() || ip.IsUnspecified() || slices.Contains(ips, ip) {
			continue
		}
		ips = append(ips, ip)
		if len(ips) == maxIPsPerPeer {
			break
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}

// relayed reports whether addr goes through a circuit relay.
func relayed(addr ma.Multiaddr) bool {
	for _, c := range addr {
		if c.Code() == ma.P_CIRCUIT {
			return true
		}
	}
	return false
}

// banIPs bans each of ips that more than the configured number of banned
// peers came from, p (banned until the given time) included.
func (m *Monitor) banIPs(p peer.ID, ips []netip.Addr, until time.Time) {
	now := time.Now()
	for _, ip := range ips {
		ipUntil, ok := m.ips.add(ip, p, until, now)
		if !ok {
			continue
		}
		if cur, banned := m.gater.BannedIP(ip); banned && !cur.Before(ipUntil) {
			continue
		}
		_ = m.gater.BanIP(ip, ipUntil) // valid: it came from a connection
		m.ipBans.Add(1)
		m.cfg.logger.Info("banned address shared by banned peers",
			"ip", ip, "banned_peers", len(m.ips.peers[ip]), "above", m.ips.above, "until", ipUntil)
	}
}
