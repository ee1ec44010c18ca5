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
// without waiting for the previous one to land. It keeps no goroutine of
// its own: a write arms one timer for the head of its queue, and the
// timer's function writes what is due and re-arms itself for the rest.
// Most streams in a run never write (every stream's reading end, and
// every silent Sybil's), and at full scale there are over a million, so
// an idle stream costs only this struct.
type delayStream struct {
	network.Stream
	delay time.Duration

	mu      sync.Mutex
	space   sync.Cond     // signalled when the queue shrinks or the stream ends
	queue   []delayed     // in arrival order, at most delayQueue
	timer   *time.Timer   // armed for queue[0] while queue is not empty
	writing bool          // a flush is writing, outside mu
	closing bool          // CloseWrite (or Close, Reset) was called
	broken  bool          // reset, or the underlying write failed
	closed  bool          // the underlying stream's write side is closed
	drained chan struct{} // made by CloseWrite; closed when closed is set
	rng     *mrand.Rand
	last    time.Time // arrival of the latest write
}

type delayed struct {
	data []byte
	at   time.Time
}

// delayQueue bounds the writes in flight on one stream; a writer beyond it
// waits, as it would on a full flow-control window (yamux's 256 KiB holds
// 128 of the evaluation's 2 KiB messages).
const delayQueue = 128

func newDelayStream(s network.Stream, delay time.Duration) *delayStream {
	d := &delayStream{Stream: s, delay: delay}
	d.space.L = &d.mu
	return d
}

func (d *delayStream) Write(b []byte) (int, error) {
	data := make([]byte, len(b))
	copy(data, b)
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.queue) >= delayQueue && !d.closing && !d.broken {
		d.space.Wait()
	}
	if d.closing || d.broken {
		return 0, network.ErrReset
	}
	d.queue = append(d.queue, delayed{data: data, at: d.arrival()})
	if len(d.queue) == 1 && !d.writing {
		d.arm()
	}
	return len(b), nil
}

// arm sets the timer for the queue's head. Call with mu held and the
// queue not empty.
func (d *delayStream) arm() {
	wait := time.Until(d.queue[0].at)
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.flush)
		return
	}
	d.timer.Reset(wait)
}

// flush writes every write that is due, in order, then re-arms the timer
// for the next one, or finishes a close that was waiting for the queue.
func (d *delayStream) flush() {
	d.mu.Lock()
	now := time.Now()
	n := 0
	for n < len(d.queue) && !d.queue[n].at.After(now) {
		n++
	}
	due := d.queue[:n:n]
	d.queue = d.queue[n:]
	if len(d.queue) == 0 {
		d.queue = nil // let the backing array go
	}
	d.writing = true
	d.space.Broadcast()
	d.mu.Unlock()

	failed := false
	for _, w := range due {
		if _, err := d.Stream.Write(w.data); err != nil {
			failed = true
			break
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	d.writing = false
	if failed {
		d.broken = true
		d.queue = nil
		d.space.Broadcast()
	}
	if len(d.queue) > 0 && !d.broken {
		d.arm()
		return
	}
	if d.closing {
		d.finishClose()
	}
}

// finishClose closes the underlying write side once. Call with mu held,
// the queue empty or abandoned, and no flush writing.
func (d *delayStream) finishClose() {
	if d.closed {
		return
	}
	d.closed = true
	if !d.broken {
		_ = d.Stream.CloseWrite()
	}
	if d.drained != nil {
		close(d.drained)
	}
}

// arrival is when a write made now lands: the link's delay plus netem's
// jitter drawn per write, as the evaluation's netem drew it per packet,
// but never before the previous write (a stream does not reorder).
// Per-write jitter matters: without it, which neighbour delivers a
// source's messages first never changes, and in a small network honest
// mesh peers that are never first fall below the P3 threshold. Call with
// mu held.
func (d *delayStream) arrival() time.Time {
	if d.rng == nil {
		d.rng = mrand.New(mrand.NewPCG(mrand.Uint64(), 0x71)) // #nosec: netem's dice
	}
	at := time.Now().Add(d.delay + time.Duration(d.rng.Int64N(int64(jitterMax))))
	if at.Before(d.last) {
		at = d.last
	}
	d.last = at
	return at
}

// CloseWrite returns once what was written before it has arrived (or the
// stream broke), as a flow-controlled stream's close would.
func (d *delayStream) CloseWrite() error {
	d.mu.Lock()
	d.closing = true
	d.space.Broadcast()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	if len(d.queue) == 0 && !d.writing {
		d.finishClose()
		d.mu.Unlock()
		return nil
	}
	if d.drained == nil {
		d.drained = make(chan struct{})
	}
	drained := d.drained
	d.mu.Unlock()
	<-drained
	return nil
}

func (d *delayStream) Close() error {
	_ = d.CloseWrite()
	return d.Stream.Close()
}

func (d *delayStream) Reset() error {
	d.mu.Lock()
	d.closing, d.broken = true, true
	d.queue = nil
	if d.timer != nil {
		d.timer.Stop()
	}
	d.space.Broadcast()
	if !d.writing {
		d.finishClose()
	}
	d.mu.Unlock()
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
