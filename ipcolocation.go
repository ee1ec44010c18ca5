package peerscore

import (
	"net"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"
)

// peerIP is one address a peer connects from, with its whitelist verdict
// decided once, when the address is learnt.
type peerIP struct {
	addr        string
	whitelisted bool
}

// ipTracker counts the peers behind each IP address, for P6. Retained
// (disconnected) peers keep their addresses until they are forgotten, as in
// pubsub, so that leaving and coming back does not dodge the count.
type ipTracker struct {
	whitelist []*net.IPNet
	threshold int
	peers     map[string]map[*peerState]struct{}
}

func newIPTracker(whitelist []*net.IPNet, threshold int) *ipTracker {
	return &ipTracker{whitelist: whitelist, threshold: threshold, peers: make(map[string]map[*peerState]struct{})}
}

// setIPs gives ps the addresses addrs and republishes every score whose P6
// that changes.
func (s *Scorer) setIPs(ps *peerState, addrs []string) {
	if sameAddrs(ps.ips, addrs) {
		return
	}
	affected, crowded := s.ips.set(ps, addrs)
	for _, other := range affected {
		s.publish(other)
	}
	s.publish(ps)
	if s.rules.colocationWeight != 0 {
		s.counters.charge(PenaltyIPColocation, float64(crowded))
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
	for _, ps := range s.peers.all {
		if ps.connected {
			connected = append(connected, ps)
		}
	}
	s.mu.Unlock()

	fresh := make([][]string, len(connected))
	for i, ps := range connected {
		fresh[i] = hostIPs(s.host, ps.id)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for i, ps := range connected {
		if ps.connected && !ps.forgotten {
			s.setIPs(ps, fresh[i])
		}
	}
}

// hostIPs returns the addresses p is connected from, as pubsub counts them:
// one entry per connection, an IPv6 address followed by its /64 (so that a
// Sybil cannot spread over a subnet it controls), loopback and limited
// (relayed) connections left out.
func hostIPs(h host.Host, p peer.ID) []string {
	if h == nil {
		return nil
	}
	var out []string
	for _, c := range h.Network().ConnsToPeer(p) {
		if c.Stat().Limited {
			continue
		}
		ip, err := manet.ToIP(c.RemoteMultiaddr())
		if err != nil || ip.IsLoopback() {
			continue
		}
		if ip.To4() != nil {
			out = append(out, ip.String())
			continue
		}
		out = append(out, ip.String(), ip.Mask(net.CIDRMask(64, 128)).String())
	}
	return out
}

// set replaces ps's addresses with addrs and returns the other peers whose
// P6 changed with it (everyone sharing an address ps joined or left), and
// how many of the addresses ps joined are crowded beyond the threshold.
func (t *ipTracker) set(ps *peerState, addrs []string) (affected []*peerState, crowded int) {
	for _, a := range addrs {
		if !hasAddr(ps.ips, a) && t.join(ps, a) {
			affected = t.appendPeers(affected, a, ps)
			if len(t.peers[a]) > t.threshold && !t.whitelisted(a) {
				crowded++
			}
		}
	}
	for _, old := range ps.ips {
		if !contains(addrs, old.addr) && t.leave(ps, old.addr) {
			affected = t.appendPeers(affected, old.addr, ps)
		}
	}
	ips := make([]peerIP, len(addrs))
	for i, a := range addrs {
		ips[i] = peerIP{addr: a, whitelisted: t.whitelisted(a)}
	}
	ps.ips = ips
	return affected, crowded
}

// remove drops all of ps's addresses and returns the peers affected.
func (t *ipTracker) remove(ps *peerState) []*peerState {
	affected, _ := t.set(ps, nil)
	return affected
}

func (t *ipTracker) join(ps *peerState, addr string) bool {
	set, ok := t.peers[addr]
	if !ok {
		set = make(map[*peerState]struct{})
		t.peers[addr] = set
	}
	if _, in := set[ps]; in {
		return false
	}
	set[ps] = struct{}{}
	return true
}

func (t *ipTracker) leave(ps *peerState, addr string) bool {
	set, ok := t.peers[addr]
	if !ok {
		return false
	}
	if _, in := set[ps]; !in {
		return false
	}
	delete(set, ps)
	if len(set) == 0 {
		delete(t.peers, addr)
	}
	return true
}

func (t *ipTracker) appendPeers(dst []*peerState, addr string, except *peerState) []*peerState {
	for other := range t.peers[addr] {
		if other != except {
			dst = append(dst, other)
		}
	}
	return dst
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

// factor is P6 before weighting: for each of ps's addresses shared by more
// than threshold peers, the square of the surplus. An address listed twice
// (two connections from it) counts twice, as in pubsub.
func (t *ipTracker) factor(ps *peerState, threshold int) float64 {
	var sum float64
	for _, ip := range ps.ips {
		if ip.whitelisted {
			continue
		}
		if n := len(t.peers[ip.addr]); n > threshold {
			surplus := float64(n - threshold)
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

func hasAddr(ips []peerIP, addr string) bool {
	for _, ip := range ips {
		if ip.addr == addr {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
