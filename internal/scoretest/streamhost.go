package scoretest

// A stand-in host for the repeated-extensions rules: the scorer asks a host
// for a peer's connections, their streams (ID, protocol, direction, when
// opened) and whether the peer is connected, and nothing else.

import (
	"slices"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// StreamHost is a host whose network holds, per peer, one connection with
// the streams the test opens and closes. Only Network is implemented: a
// call to any other method of host.Host panics.
type StreamHost struct {
	host.Host
	net *streamNet
}

// NewStreamHost returns a StreamHost with no peers.
func NewStreamHost() *StreamHost {
	return &StreamHost{net: &streamNet{peers: map[peer.ID]*streamConn{}}}
}

// Network returns the host's stand-in network.
func (h *StreamHost) Network() network.Network { return h.net }

// Open adds a stream from p, opened now; its protocol is proto and its
// direction inbound unless dir says otherwise.
func (h *StreamHost) Open(p peer.ID, id string, proto protocol.ID, dir ...network.Direction) {
	d := network.DirInbound
	if len(dir) > 0 {
		d = dir[0]
	}
	h.net.add(p, &stream{id: id, proto: proto, dir: d, opened: time.Now()})
}

// OpenUnknownTime adds an inbound stream whose opening time the host does
// not report.
func (h *StreamHost) OpenUnknownTime(p peer.ID, id string, proto protocol.ID) {
	h.net.add(p, &stream{id: id, proto: proto, dir: network.DirInbound})
}

// CloseStream removes p's stream id.
func (h *StreamHost) CloseStream(p peer.ID, id string) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	c := h.net.conn(p)
	c.streams = slices.DeleteFunc(c.streams, func(s network.Stream) bool { return s.ID() == id })
}

// SetConnected connects or disconnects p, keeping its streams for when it
// is connected again.
func (h *StreamHost) SetConnected(p peer.ID, connected bool) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.net.conn(p).gone = !connected
}

// OnConnectedness, if set, is called whenever the scorer asks the network
// whether a peer is connected, before the answer is taken. Set it only
// while nothing else uses the host.
func (h *StreamHost) OnConnectedness(fn func(peer.ID)) { h.net.asked = fn }

type streamNet struct {
	network.Network
	mu    sync.Mutex
	peers map[peer.ID]*streamConn
	asked func(peer.ID) // if set, called whenever Connectedness is
}

func (n *streamNet) conn(p peer.ID) *streamConn {
	c, ok := n.peers[p]
	if !ok {
		c = &streamConn{}
		n.peers[p] = c
	}
	return c
}

func (n *streamNet) add(p peer.ID, s *stream) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.conn(p)
	c.streams = append(c.streams, s)
}

func (n *streamNet) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.peers[p]
	if !ok || c.gone {
		return nil
	}
	return []network.Conn{&streamConn{streams: slices.Clone(c.streams)}}
}

func (n *streamNet) Connectedness(p peer.ID) network.Connectedness {
	if n.asked != nil {
		n.asked(p)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.peers[p]; ok && !c.gone {
		return network.Connected
	}
	return network.NotConnected
}

type streamConn struct {
	network.Conn
	streams []network.Stream
	gone    bool
}

func (c *streamConn) GetStreams() []network.Stream { return c.streams }
func (c *streamConn) Stat() network.ConnStats      { return network.ConnStats{} }
func (c *streamConn) RemoteMultiaddr() ma.Multiaddr {
	return ma.StringCast("/ip4/127.0.0.1/udp/1/quic-v1") // loopback: no IP for P6
}

type stream struct {
	network.Stream
	id     string
	proto  protocol.ID
	dir    network.Direction
	opened time.Time
}

func (s *stream) ID() string            { return s.id }
func (s *stream) Protocol() protocol.ID { return s.proto }
func (s *stream) Stat() network.Stats   { return network.Stats{Direction: s.dir, Opened: s.opened} }

// ExtensionsRPC is an RPC from p carrying an extensions control message,
// or, if extensions is false, only a subscription.
func ExtensionsRPC(p peer.ID, extensions bool) *pubsub.RPC {
	if extensions {
		return ControlRPC(p, &pb.ControlMessage{Extensions: &pb.ControlExtensions{}})
	}
	topic, yes := "t", true
	rpc := &pubsub.RPC{RPC: pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &topic}}}}
	SetFrom(rpc, p)
	return rpc
}
