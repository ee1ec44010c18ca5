// Package rawpeer is a gossipsub peer without a router: it sends whatever
// RPCs it is told to and never answers on its own. Tests and the attack demo
// use it to misbehave in ways a real GossipSub router never would, such as
// advertising messages with IHAVE and ignoring the IWANTs that follow.
package rawpeer

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"google.golang.org/protobuf/proto"
)

// Protocol is the gossipsub version the raw peer claims unless
// WithProtocol says otherwise: v1.1, the first with scoring, backoffs and
// peer exchange.
const Protocol = protocol.ID("/meshsub/1.1.0")

// Option configures a Peer in New.
type Option func(*Peer)

// WithProtocol makes the peer speak proto (say /meshsub/1.3.0, whose
// streams may carry an extensions control message) instead of Protocol.
func WithProtocol(proto protocol.ID) Option {
	return func(p *Peer) { p.proto = proto }
}

const maxRPCSize = 1 << 20

// readBuffer is the read buffer of each inbound stream: enough for the
// RPCs a test peer sees (a larger one is read past it), and small because
// the attack lab holds hundreds of thousands of these streams at once.
const readBuffer = 512

// WithOnStream makes the peer call fn on each stream another peer opens
// to it, before anything is read from the stream, on the stream's
// goroutine. If fn returns an error the stream is reset unread. The attack
// lab's Sybil uses it to open its own stream back at once, as the
// evaluation's attacker did.
func WithOnStream(fn func(s network.Stream) error) Option {
	return func(p *Peer) { p.onStream = fn }
}

// Peer is a raw gossipsub peer on a libp2p host.
type Peer struct {
	host     host.Host
	proto    protocol.ID
	mu       sync.Mutex
	out      map[peer.ID]network.Stream
	recv     func(from peer.ID, rpc *pb.RPC)
	onStream func(s network.Stream) error

	gateMu sync.Mutex
	gate   chan struct{} // closed while reading is allowed
}

// New makes h speak gossipsub (v1.1 unless WithProtocol) as a raw peer.
// recv, if not nil, sees every RPC other peers send it (IWANTs, PRUNEs,
// messages); it runs on the stream's goroutine.
func New(h host.Host, recv func(from peer.ID, rpc *pb.RPC), opts ...Option) *Peer {
	p := &Peer{host: h, proto: Protocol, out: make(map[peer.ID]network.Stream), recv: recv, gate: make(chan struct{})}
	close(p.gate)
	for _, opt := range opts {
		opt(p)
	}
	h.SetStreamHandler(p.proto, p.read)
	return p
}

// Stall stops reading what other peers send until Resume. Their writes
// then block once the stream's flow-control window is full, as they would
// towards a peer too slow to keep up.
func (p *Peer) Stall() {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already stalled
	}
}

// Resume reads again after Stall.
func (p *Peer) Resume() {
	p.gateMu.Lock()
	defer p.gateMu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// waitGate blocks while the peer is stalled.
func (p *Peer) waitGate() {
	p.gateMu.Lock()
	gate := p.gate
	p.gateMu.Unlock()
	<-gate
}

// gatedReader holds every read of an inbound stream while the peer is
// stalled, so that nothing more is taken off the stream.
type gatedReader struct {
	p *Peer
	r io.Reader
}

func (g gatedReader) Read(b []byte) (int, error) {
	g.p.waitGate()
	return g.r.Read(b)
}

// Host returns the peer's host.
func (p *Peer) Host() host.Host { return p.host }

// Frame returns rpc as it goes on the wire: its length as a uvarint, then
// the RPC. Marshalling once lets a sender write the same bytes to many
// streams.
func Frame(rpc *pb.RPC) ([]byte, error) {
	size := proto.Size(rpc)
	frame := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+size), uint64(size))
	return proto.MarshalOptions{}.MarshalAppend(frame, rpc)
}

// Send sends rpc to the peer to, opening a stream on first use. Sends to
// all peers are serialized: one that waits on a full stream holds up the
// others.
func (p *Peer) Send(to peer.ID, rpc *pb.RPC) error {
	frame, err := Frame(rpc)
	if err != nil {
		return err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.out[to]
	if !ok {
		s, err = p.host.NewStream(context.Background(), to, p.proto)
		if err != nil {
			return fmt.Errorf("rawpeer: open stream to %s: %w", to, err)
		}
		p.out[to] = s
	}
	if _, err := s.Write(frame); err != nil {
		_ = s.Reset()
		delete(p.out, to)
		return fmt.Errorf("rawpeer: write to %s: %w", to, err)
	}
	return nil
}

// Close closes the streams the peer opened.
func (p *Peer) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, s := range p.out {
		_ = s.Close()
		delete(p.out, id)
	}
}

func (p *Peer) read(s network.Stream) {
	if p.onStream != nil {
		if err := p.onStream(s); err != nil {
			_ = s.Reset()
			return
		}
	}
	defer s.Close()
	r := bufio.NewReaderSize(gatedReader{p: p, r: s}, readBuffer)
	for {
		size, err := binary.ReadUvarint(r)
		if err != nil {
			return
		}
		if size > maxRPCSize {
			_ = s.Reset()
			return
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		rpc := new(pb.RPC)
		if err := proto.Unmarshal(buf, rpc); err != nil {
			_ = s.Reset()
			return
		}
		if p.recv != nil {
			p.recv(s.Conn().RemotePeer(), rpc)
		}
	}
}

// Subscribe returns an RPC announcing a subscription to topic.
func Subscribe(topic string) *pb.RPC {
	yes := true
	return &pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &topic}}}
}

// IHave returns an RPC advertising message IDs in topic.
func IHave(topic string, ids ...string) *pb.RPC {
	return &pb.RPC{Control: &pb.ControlMessage{Ihave: []*pb.ControlIHave{{TopicID: &topic, MessageIDs: ids}}}}
}

// Graft returns an RPC asking to join the receiver's mesh for topic.
func Graft(topic string) *pb.RPC {
	return &pb.RPC{Control: &pb.ControlMessage{Graft: []*pb.ControlGraft{{TopicID: &topic}}}}
}

// Prune returns an RPC leaving the receiver's mesh for topic, asking for a
// backoff of backoffSecs seconds.
func Prune(topic string, backoffSecs uint64) *pb.RPC {
	return &pb.RPC{Control: &pb.ControlMessage{Prune: []*pb.ControlPrune{{TopicID: &topic, Backoff: &backoffSecs}}}}
}

// WithExtensions adds an (empty) extensions control message to rpc and
// returns it. gossipsub v1.3 allows one, in the first RPC of a stream; the
// router charges every later one as a protocol violation.
func WithExtensions(rpc *pb.RPC) *pb.RPC {
	if rpc.Control == nil {
		rpc.Control = &pb.ControlMessage{}
	}
	rpc.Control.Extensions = &pb.ControlExtensions{}
	return rpc
}
