package lab

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
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

// mockNet is go-libp2p's mocknet with the latency applied by the lab's
// own stream wrapper: mocknet's links deliver one write per latency per
// stream, which under load queues messages for seconds; the wrapper
// delays each write by the sender's egress latency and pipelines them.
// mocknet also refuses the write deadlines pubsub sets, which the wrapper
// accepts (and ignores: nothing here blocks for long).
type mockNet struct {
	mn     mocknet.Mocknet
	mu     sync.Mutex
	egress map[peer.ID]time.Duration
	linked map[[2]peer.ID]bool
}

func newMockNet() *mockNet {
	return &mockNet{mn: mocknet.New(), egress: make(map[peer.ID]time.Duration), linked: make(map[[2]peer.ID]bool)}
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
	n.mu.Lock()
	n.egress[h.ID()] = egress
	n.mu.Unlock()
	return &delayHost{Host: h, net: n}, nil
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

func (n *mockNet) close() { _ = n.mn.Close() }

// delay is how long a write from a to b takes to arrive, before jitter.
func (n *mockNet) delay(a, b peer.ID) time.Duration {
	n.mu.Lock()
	d := n.egress[a]
	n.mu.Unlock()
	return d
}

// delayHost hands out streams that delay writes (see mockNet).
type delayHost struct {
	host.Host
	net *mockNet
}

func (h *delayHost) wrap(s network.Stream) network.Stream {
	return newDelayStream(s, h.net.delay(h.ID(), s.Conn().RemotePeer()))
}

func (h *delayHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	return h.wrap(s), nil
}

func (h *delayHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	h.Host.SetStreamHandler(pid, func(s network.Stream) { handler(h.wrap(s)) })
}

func (h *delayHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	h.Host.SetStreamHandlerMatch(pid, match, func(s network.Stream) { handler(h.wrap(s)) })
}

// delayStream delivers each write delay after it was made, in order,
// without waiting for the previous one to land.
type delayStream struct {
	network.Stream
	delay time.Duration

	queue   chan delayed
	done    chan struct{} // closed by CloseWrite, Close and Reset
	once    sync.Once
	reset   atomic.Bool
	stopped chan struct{} // closed when deliver returns

	mu   sync.Mutex
	rng  *mrand.Rand
	last time.Time // arrival of the latest write
}

type delayed struct {
	data []byte
	at   time.Time
}

// delayQueue bounds the writes in flight on one stream; a writer beyond it
// waits, as it would on a full flow-control window (yamux's 256 KiB holds
// 128 of the evaluation's 2 KiB messages). It is most of the lab's memory
// per link: 1,024 took 48 KiB a stream, four fifths of the heap of a run
// with 8,000 Sybil links.
const delayQueue = 128

func newDelayStream(s network.Stream, delay time.Duration) *delayStream {
	d := &delayStream{Stream: s, delay: delay, queue: make(chan delayed, delayQueue),
		done: make(chan struct{}), stopped: make(chan struct{}),
		rng: mrand.New(mrand.NewPCG(mrand.Uint64(), 0x71)), // #nosec: netem's dice
	}
	go d.deliver()
	return d
}

func (d *delayStream) deliver() {
	defer close(d.stopped)
	for {
		select {
		case w := <-d.queue:
			if !d.send(w) {
				return
			}
		case <-d.done:
			for { // what was written before the close still arrives
				select {
				case w := <-d.queue:
					if !d.send(w) {
						return
					}
				default:
					if !d.reset.Load() {
						_ = d.Stream.CloseWrite()
					}
					return
				}
			}
		}
	}
}

// send delivers w at its time; false if the stream is reset or broken.
func (d *delayStream) send(w delayed) bool {
	time.Sleep(time.Until(w.at))
	if d.reset.Load() {
		return false
	}
	_, err := d.Stream.Write(w.data)
	return err == nil
}

func (d *delayStream) Write(b []byte) (int, error) {
	select {
	case <-d.done:
		return 0, network.ErrReset
	case <-d.stopped:
		return 0, network.ErrReset
	default:
	}
	data := make([]byte, len(b))
	copy(data, b)
	select {
	case d.queue <- delayed{data: data, at: d.arrival()}:
		return len(b), nil
	case <-d.done:
		return 0, network.ErrReset
	case <-d.stopped:
		return 0, network.ErrReset
	}
}

// arrival is when a write made now lands: the link's delay plus netem's
// jitter drawn per write, as the evaluation's netem drew it per packet,
// but never before the previous write (a stream does not reorder).
// Per-write jitter matters: without it, which neighbour delivers a
// source's messages first never changes, and in a small network honest
// mesh peers that are never first fall below the P3 threshold.
func (d *delayStream) arrival() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := time.Now().Add(d.delay + time.Duration(d.rng.Int64N(int64(jitterMax))))
	if at.Before(d.last) {
		at = d.last
	}
	d.last = at
	return at
}

func (d *delayStream) CloseWrite() error {
	d.once.Do(func() { close(d.done) })
	<-d.stopped
	return nil
}

func (d *delayStream) Close() error {
	_ = d.CloseWrite()
	return d.Stream.Close()
}

func (d *delayStream) Reset() error {
	d.reset.Store(true)
	d.once.Do(func() { close(d.done) })
	return d.Stream.Reset()
}

func (d *delayStream) SetDeadline(time.Time) error      { return nil }
func (d *delayStream) SetReadDeadline(time.Time) error  { return nil }
func (d *delayStream) SetWriteDeadline(time.Time) error { return nil }

// ipOf returns a distinct public IPv4 address for index i.
func ipOf(i int) netip.Addr {
	a, _ := netip.AddrFromSlice(simnet.IntToPublicIPv4(i).To4())
	return a
}
