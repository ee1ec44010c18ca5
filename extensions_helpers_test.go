package peerscore_test

// A stand-in host for the repeated-extensions rules: the scorer asks a host
// for a peer's connections, their streams (ID, protocol, direction, when
// opened) and whether the peer is connected, and nothing else. Every name
// here starts with "ext".

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

const (
	extV13 = protocol.ID("/meshsub/1.3.0")
	extV12 = protocol.ID("/meshsub/1.2.0")
)

// extHost is a host whose network holds, per peer, one connection with
// the streams the test opens and closes. Only Network is implemented.
type extHost struct {
	host.Host
	net *extNet
}

func newExtHost() *extHost { return &extHost{net: &extNet{peers: map[peer.ID]*extConn{}}} }

func (h *extHost) Network() network.Network { return h.net }

// open adds a stream from p, opened now; its protocol is proto and its
// direction inbound unless dir says otherwise.
func (h *extHost) open(p peer.ID, id string, proto protocol.ID, dir ...network.Direction) {
	d := network.DirInbound
	if len(dir) > 0 {
		d = dir[0]
	}
	h.net.add(p, &extStream{id: id, proto: proto, dir: d, opened: time.Now()})
}

// openUnknownTime adds an inbound stream whose opening time the host does
// not report.
func (h *extHost) openUnknownTime(p peer.ID, id string, proto protocol.ID) {
	h.net.add(p, &extStream{id: id, proto: proto, dir: network.DirInbound})
}

func (h *extHost) close(p peer.ID, id string) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	c := h.net.conn(p)
	c.streams = slices.DeleteFunc(c.streams, func(s network.Stream) bool { return s.ID() == id })
}

func (h *extHost) setConnected(p peer.ID, connected bool) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.net.conn(p).gone = !connected
}

type extNet struct {
	network.Network
	mu    sync.Mutex
	peers map[peer.ID]*extConn
	asked func(peer.ID) // if set, called whenever Connectedness is
}

func (n *extNet) conn(p peer.ID) *extConn {
	c, ok := n.peers[p]
	if !ok {
		c = &extConn{}
		n.peers[p] = c
	}
	return c
}

func (n *extNet) add(p peer.ID, s *extStream) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.conn(p)
	c.streams = append(c.streams, s)
}

func (n *extNet) ConnsToPeer(p peer.ID) []network.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.peers[p]
	if !ok || c.gone {
		return nil
	}
	return []network.Conn{&extConn{streams: slices.Clone(c.streams)}}
}

func (n *extNet) Connectedness(p peer.ID) network.Connectedness {
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

type extConn struct {
	network.Conn
	streams []network.Stream
	gone    bool
}

func (c *extConn) GetStreams() []network.Stream { return c.streams }
func (c *extConn) Stat() network.ConnStats      { return network.ConnStats{} }
func (c *extConn) RemoteMultiaddr() ma.Multiaddr {
	return ma.StringCast("/ip4/127.0.0.1/udp/1/quic-v1") // loopback: no IP for P6
}

type extStream struct {
	network.Stream
	id     string
	proto  protocol.ID
	dir    network.Direction
	opened time.Time
}

func (s *extStream) ID() string            { return s.id }
func (s *extStream) Protocol() protocol.ID { return s.proto }
func (s *extStream) Stat() network.Stats   { return network.Stats{Direction: s.dir, Opened: s.opened} }

// extRPC is an RPC from p, carrying an extensions control message or only
// a subscription.
func extRPC(p peer.ID, extensions bool) *pubsub.RPC {
	if extensions {
		return controlFrom(p, &pb.ControlMessage{Extensions: &pb.ControlExtensions{}})
	}
	topic, yes := "t", true
	rpc := &pubsub.RPC{RPC: pb.RPC{Subscriptions: []*pb.RPC_SubOpts{{Subscribe: &yes, Topicid: &topic}}}}
	fzSetFrom(rpc, p)
	return rpc
}
