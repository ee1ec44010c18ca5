package attacklab

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/libp2p/go-libp2p/x/simlibp2p"
	"github.com/marcopolo/simnet"
	ma "github.com/multiformats/go-multiaddr"
)

// The network model of the evaluation (hardening: netem on each
// container's egress, test/net.go:27-43; templates' latency defaults,
// hardening.md §2.7): a message from A to B takes A's egress latency plus
// up to 10% jitter of the minimum latency. Honest nodes' latency is
// U[25, 50) ms, Sybils' U(5, 25] ms. Bandwidth was 10 GiB/s, in effect
// unlimited. netem draws jitter per packet. On mocknet the lab draws it
// per write, keeping each stream in order; on simnet per ordered pair of
// hosts, so that QUIC's packets are not reordered (QUIC would cope, at a
// cost in CPU that measures nothing).
const (
	honestLatencyMin = 25 * time.Millisecond
	honestLatencyMax = 50 * time.Millisecond
	sybilLatencyMin  = 5 * time.Millisecond
	sybilLatencyMax  = 25 * time.Millisecond
	jitterMax        = 2500 * time.Microsecond
	// hardening: bandwidth_mb 10240, i.e. 10240·2^20 bytes per second.
	linkBitsPerSecond = 10240 << 20 * 8
)

// labNet is a simulated network of hosts: simnet (QUIC) or mocknet.
type labNet interface {
	// addHost adds a host at ip:port whose packets leave it after egress.
	addHost(ip netip.Addr, port uint16, egress time.Duration) (host.Host, error)
	// start starts the network; call after adding every host.
	start()
	// connect dials b from a.
	connect(ctx context.Context, a, b host.Host) error
	// close closes every host and the network.
	close()
}

func newLabNet(t Transport) labNet {
	if t == Mocknet {
		return newMockNet()
	}
	return newSimNet()
}

// pairJitter is a fixed jitter in [0, jitterMax) for packets from a to b.
func pairJitter(a, b []byte) time.Duration {
	h := fnv.New64a()
	h.Write(a)
	h.Write(b)
	return time.Duration(h.Sum64() % uint64(jitterMax))
}

// simNet is QUIC over simnet.
type simNet struct {
	sim    *simnet.Simnet
	egress map[netip.AddrPort]time.Duration // read-only once started
	hosts  []host.Host
}

func newSimNet() *simNet {
	n := &simNet{egress: make(map[netip.AddrPort]time.Duration)}
	n.sim = &simnet.Simnet{
		LatencyFunc: n.latency,
		// Packets in flight to a host that closed are dropped and logged;
		// at the end of a run that is every host.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return n
}

func (n *simNet) latency(p *simnet.Packet) time.Duration {
	from, _ := p.From.(*net.UDPAddr)
	to, _ := p.To.(*net.UDPAddr)
	if from == nil || to == nil {
		return honestLatencyMin
	}
	src := from.AddrPort()
	return n.egress[netip.AddrPortFrom(src.Addr().Unmap(), src.Port())] +
		pairJitter([]byte(from.String()), []byte(to.String()))
}

func (n *simNet) addHost(ip netip.Addr, port uint16, egress time.Duration) (host.Host, error) {
	n.egress[netip.AddrPortFrom(ip, port)] = egress
	link := simnet.NodeBiDiLinkSettings{
		Downlink: simnet.LinkSettings{BitsPerSecond: linkBitsPerSecond},
		Uplink:   simnet.LinkSettings{BitsPerSecond: linkBitsPerSecond},
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", ip, port)),
		simlibp2p.QUICSimnet(n.sim, link),
		// Address discovery through identify stalls synctest.
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.Ping(false),
	)
	if err != nil {
		return nil, err
	}
	n.hosts = append(n.hosts, h)
	return h, nil
}

func (n *simNet) start() { n.sim.Start() }

func (n *simNet) connect(ctx context.Context, a, b host.Host) error {
	return a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
}

func (n *simNet) close() {
	for _, h := range n.hosts {
		_ = h.Close()
	}
	n.sim.Close()
}

// mockNet is go-libp2p's mocknet for connections, with the lab's own
// streams (stream.go) between its hosts. mocknet's links deliver one write
// per latency per stream, which under load queues messages for seconds,
// and keep a goroutine per stream end; the lab's pipes deliver each write
// the sender's egress latency after it was made, pipelined, and keep none.
// mocknet also refuses the write deadlines pubsub sets, which the pipes
// accept (and ignore: nothing here blocks for long).
//
// Connections, identify and the peerstore stay mocknet's: a pipe's ends
// belong to the mocknet connections between their hosts, so routers see
// the same peers, addresses and connection events as before.
type mockNet struct {
	mn     mocknet.Mocknet
	mu     sync.Mutex
	hosts  map[peer.ID]*delayHost
	linked map[[2]peer.ID]bool
	pipes  map[network.Conn][]*pipe // to break when the connection closes
}

func newMockNet() *mockNet {
	return &mockNet{mn: mocknet.New(), hosts: make(map[peer.ID]*delayHost),
		linked: make(map[[2]peer.ID]bool), pipes: make(map[network.Conn][]*pipe)}
}

func (n *mockNet) addHost(ip netip.Addr, port uint16, egress time.Duration) (host.Host, error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/%s/tcp/%d", ip, port))
	if err != nil {
		return nil, err
	}
	h, err := n.mn.AddPeer(sk, addr)
	if err != nil {
		return nil, err
	}
	dh := &delayHost{Host: h, net: n, egress: egress}
	n.mu.Lock()
	n.hosts[h.ID()] = dh
	n.mu.Unlock()
	h.Network().Notify(&network.NotifyBundle{
		DisconnectedF: func(_ network.Network, c network.Conn) { n.breakPipes(c) },
	})
	return dh, nil
}

func (n *mockNet) start() {}

func (n *mockNet) connect(ctx context.Context, a, b host.Host) error {
	key := [2]peer.ID{a.ID(), b.ID()}
	if b.ID() < a.ID() {
		key = [2]peer.ID{b.ID(), a.ID()}
	}
	n.mu.Lock()
	need := !n.linked[key]
	n.linked[key] = true
	n.mu.Unlock()
	if need {
		if _, err := n.mn.LinkPeers(a.ID(), b.ID()); err != nil {
			return err
		}
	}
	return a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
}

func (n *mockNet) close() {
	n.mu.Lock()
	all := n.pipes
	n.pipes = make(map[network.Conn][]*pipe)
	n.mu.Unlock()
	for _, ps := range all {
		for _, p := range ps {
			p.breakOff()
		}
	}
	_ = n.mn.Close()
}

func (n *mockNet) host(id peer.ID) *delayHost {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[id]
}

// track remembers that p runs over the connections cs.
func (n *mockNet) track(p *pipe, cs ...network.Conn) {
	n.mu.Lock()
	for _, c := range cs {
		n.pipes[c] = append(n.pipes[c], p)
	}
	n.mu.Unlock()
	for _, c := range cs {
		if c.IsClosed() { // closed before it was tracked: breakPipes may have run
			n.breakPipes(c)
		}
	}
}

// breakPipes resets the streams of a connection that closed.
func (n *mockNet) breakPipes(c network.Conn) {
	n.mu.Lock()
	ps := n.pipes[c]
	delete(n.pipes, c)
	n.mu.Unlock()
	for _, p := range ps {
		p.breakOff()
	}
}

// delayHost opens the lab's streams to other lab hosts and hands the
// streams they open to the handlers set on it. The handlers are also set
// on the mocknet host, so that identify announces the protocols; a stream
// that arrives there came from outside the lab's network and is passed on
// as mocknet made it.
type delayHost struct {
	host.Host
	net    *mockNet
	egress time.Duration // how long its writes take to arrive, before jitter

	mu       sync.Mutex
	handlers []streamHandler
}

type streamHandler struct {
	pid     protocol.ID
	match   func(protocol.ID) bool // nil: pid only
	handler network.StreamHandler
}

func (h *delayHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.setHandler(streamHandler{pid: pid, handler: handler})
	h.Host.SetStreamHandler(pid, handler)
}

func (h *delayHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.setHandler(streamHandler{pid: pid, match: match, handler: handler})
	h.Host.SetStreamHandlerMatch(pid, match, handler)
}

func (h *delayHost) RemoveStreamHandler(pid protocol.ID) {
	h.mu.Lock()
	h.handlers = slices.DeleteFunc(h.handlers, func(sh streamHandler) bool { return sh.pid == pid })
	h.mu.Unlock()
	h.Host.RemoveStreamHandler(pid)
}

func (h *delayHost) setHandler(sh streamHandler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = slices.DeleteFunc(h.handlers, func(old streamHandler) bool { return old.pid == sh.pid })
	h.handlers = append(h.handlers, sh)
}

// handlerFor returns the handler for the first of pids this host speaks,
// as multistream-select would settle on it.
func (h *delayHost) handlerFor(pids []protocol.ID) (protocol.ID, network.StreamHandler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, pid := range pids {
		for _, sh := range h.handlers {
			if sh.pid == pid || sh.match != nil && sh.match(pid) {
				return pid, sh.handler
			}
		}
	}
	return "", nil
}

// NewStream opens a lab stream to p, a host of the same network, dialling
// it first if need be; to any other peer, a mocknet stream.
func (h *delayHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	remote := h.net.host(p)
	if remote == nil {
		return h.Host.NewStream(ctx, p, pids...)
	}
	if h.Network().Connectedness(p) != network.Connected {
		if err := h.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
			return nil, err
		}
	}
	local, back := h.Network().ConnsToPeer(p), remote.Network().ConnsToPeer(h.ID())
	if len(local) == 0 || len(back) == 0 {
		return nil, fmt.Errorf("lab: open stream to %s: %w", p, network.ErrNoConn)
	}
	pid, handler := remote.handlerFor(pids)
	if handler == nil {
		return nil, fmt.Errorf("lab: %s speaks none of %v", p, pids)
	}
	mine, theirs := newPipe(h.egress, remote.egress)
	mine.conn, theirs.conn = local[0], back[0]
	mine.proto.Store(pid)
	theirs.proto.Store(pid)
	h.net.track(mine.p, local[0], back[0])
	go handler(theirs)
	return mine, nil
}

// ipOf returns a distinct public IPv4 address for index i.
func ipOf(i int) netip.Addr {
	a, _ := netip.AddrFromSlice(simnet.IntToPublicIPv4(i).To4())
	return a
}
