package peerscore

import (
	"net"
	"sync/atomic"

	"github.com/peerscore/peerscore/internal/peerips"
)

// addrCount is how many known peers share one address, for P6. Score reads
// it without a lock; writers hold Scorer.mu.
type addrCount struct {
	peers       atomic.Int64
	whitelisted bool // decided once, when the address is first seen
}

// peerIP is one address a peer connects from, with the shared count of
// that address.
type peerIP struct {
	addr  string
	count *addrCount
}

// ipTracker counts the peers behind each IP address, for P6. Retained
// (disconnected) peers keep their addresses until they are forgotten, as in
// pubsub, so that leaving and coming back does not dodge the count.
//
// A peer's P6 is computed when its score is read, from the counts of its
// own addresses, rather than cached: a peer joining or leaving an address
// then costs one counter update however many peers share it. Caching it
// would mean re-scoring every co-located peer on each change, which a swarm
// of Sybil IDs behind one address turns into quadratic work under the lock.
type ipTracker struct {
	whitelist []*net.IPNet
	counts    map[string]*addrCount
}

func newIPTracker(whitelist []*net.IPNet) *ipTracker {
	return &ipTracker{whitelist: whitelist, counts: make(map[string]*addrCount)}
}

// ipList is a peer's addresses as Score reads them, replaced whole when
// they change. Most peers have one address (IPv4) or two (IPv6 and its
// /64), which fit in the list itself: one allocation per change.
type ipList struct {
	ips    []peerIP
	inline [2]peerIP
}

func newIPList(n int) *ipList {
	l := new(ipList)
	if n <= len(l.inline) {
		l.ips = l.inline[:n]
	} else {
		l.ips = make([]peerIP, n)
	}
	return l
}

// addrs returns the addresses counted for ps. Safe without a lock.
func (ps *peerState) addrs() []peerIP {
	if list := ps.ips.Load(); list != nil {
		return list.ips
	}
	return nil
}

// setIPs gives ps the addresses addrs. Nothing is republished, neither
// for ps nor for the peers it joins or leaves: P6 is read live.
func (s *Scorer) setIPs(ps *peerState, addrs []string) {
	if sameAddrs(ps.addrs(), addrs) {
		return
	}
	crowded := s.ips.set(ps, addrs, s.rules.colocationThreshold)
	if s.rules.colocationWeight != 0 {
		s.counters.charge(penIPColocation, float64(crowded))
	}
}

// refreshIPs re-reads the addresses of connected peers from the host, as
// connections come and go without a stream opening or closing.
func (s *Scorer) refreshIPs() {
	if s.host == nil {
		return
	}
	s.mu.Lock()
	var connected []*peerState
	for _, ps := range s.peers.All() {
		if ps.connected {
			connected = append(connected, ps)
		}
	}
	s.mu.Unlock()

	fresh := make([][]string, len(connected))
	for i, ps := range connected {
		fresh[i] = peerips.Of(s.host, ps.ID)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ps := range connected {
		if ps.connected && !ps.forgotten {
			s.setIPs(ps, fresh[i])
		}
	}
}

// set replaces ps's addresses with addrs, counting ps once on each distinct
// address however many connections come from it, and returns how many of
// the addresses ps joined are now crowded beyond threshold. It costs
// O(len(addrs) + len(old)), whatever the number of peers on an address.
func (t *ipTracker) set(ps *peerState, addrs []string, threshold int) (crowded int) {
	old := ps.addrs()
	var list *ipList
	var next []peerIP
	if len(addrs) > 0 {
		list = newIPList(len(addrs))
		next = list.ips
	}
	for i, a := range addrs {
		if j := indexAddr(old, a); j >= 0 {
			next[i] = old[j] // counted already
			continue
		}
		if j := indexAddr(next[:i], a); j >= 0 {
			next[i] = next[j] // a second connection from a new address
			continue
		}
		c := t.join(a)
		next[i] = peerIP{addr: a, count: c}
		if c.peers.Load() > int64(threshold) && !c.whitelisted {
			crowded++
		}
	}
	for i, ip := range old {
		if indexAddr(old[:i], ip.addr) < 0 && indexAddr(next, ip.addr) < 0 {
			t.leave(ip)
		}
	}
	ps.ips.Store(list) // nil when ps has no address left
	return crowded
}

// remove drops all of ps's addresses.
func (t *ipTracker) remove(ps *peerState) {
	if len(ps.addrs()) > 0 {
		t.set(ps, nil, 0)
	}
}

func (t *ipTracker) join(addr string) *addrCount {
	c, ok := t.counts[addr]
	if !ok {
		c = &addrCount{whitelisted: t.whitelisted(addr)}
		t.counts[addr] = c
	}
	c.peers.Add(1)
	return c
}

// leave takes one peer off ip's address. The last one out deletes the
// count; a reader still holding it sees zero, and a later peer on the
// address gets a fresh one.
func (t *ipTracker) leave(ip peerIP) {
	if ip.count.peers.Add(-1) == 0 && t.counts[ip.addr] == ip.count {
		delete(t.counts, ip.addr)
	}
}

func (t *ipTracker) whitelisted(addr string) bool {
	if len(t.whitelist) == 0 {
		return false
	}
	ip := net.ParseIP(addr)
	for _, n := range t.whitelist {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// colocationFactor is P6 before weighting: for each of ips shared by more
// than threshold peers, the square of the surplus. An address listed twice
// (two connections from it) counts twice, as in pubsub. Safe without a
// lock.
func colocationFactor(ips []peerIP, threshold int) float64 {
	var sum float64
	for _, ip := range ips {
		if ip.count.whitelisted {
			continue
		}
		if n := ip.count.peers.Load(); n > int64(threshold) {
			surplus := float64(n - int64(threshold))
			sum += surplus * surplus
		}
	}
	return sum
}

func sameAddrs(ips []peerIP, addrs []string) bool {
	if len(ips) != len(addrs) {
		return false
	}
	for i, ip := range ips {
		if ip.addr != addrs[i] {
			return false
		}
	}
	return true
}

func indexAddr(ips []peerIP, addr string) int {
	for i, ip := range ips {
		if ip.addr == addr {
			return i
		}
	}
	return -1
}
