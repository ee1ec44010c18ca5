// Package testnet builds a network of real go-libp2p hosts on a simulated
// network (github.com/marcopolo/simnet, the one go-libp2p-pubsub's own tests
// use): QUIC over simulated links, any IP address for any host. Under
// testing/synctest it runs on the fake clock, so minutes of protocol time
// take seconds; outside it, it runs in real time, which the attack demo uses.
package testnet

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/x/simlibp2p"
	"github.com/marcopolo/simnet"
)

// Network is a set of hosts on one simulated network.
type Network struct {
	sim   *simnet.Simnet
	link  simnet.NodeBiDiLinkSettings
	Hosts []host.Host
}

// New returns an empty network whose links have latency and 20 Mbit/s of
// bandwidth each way.
func New(latency time.Duration) *Network {
	return &Network{
		sim: &simnet.Simnet{LatencyFunc: simnet.StaticLatency(latency)},
		link: simnet.NodeBiDiLinkSettings{
			Downlink: simnet.LinkSettings{BitsPerSecond: 20 * simlibp2p.OneMbps},
			Uplink:   simnet.LinkSettings{BitsPerSecond: 20 * simlibp2p.OneMbps},
		},
	}
}

// PublicIP returns a distinct public IPv4 address for index i.
func PublicIP(i int) string { return simnet.IntToPublicIPv4(i).String() }

// AddHost adds a host listening on ip:port, with extra libp2p options (a
// connection gater, say). Add every host before Start.
func (n *Network) AddHost(ip string, port int, opts ...libp2p.Option) (host.Host, error) {
	all := append([]libp2p.Option{
		libp2p.ListenAddrStrings(fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", ip, port)),
		simlibp2p.QUICSimnet(n.sim, n.link),
		// address discovery through identify stalls synctest
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
	}, opts...)
	h, err := libp2p.New(all...)
	if err != nil {
		return nil, err
	}
	n.Hosts = append(n.Hosts, h)
	return h, nil
}

// Start starts the simulated links.
func (n *Network) Start() { n.sim.Start() }

// Close closes every host, then the network.
func (n *Network) Close() {
	for _, h := range n.Hosts {
		_ = h.Close()
	}
	n.sim.Close()
}

// Connect connects a to b.
func Connect(ctx context.Context, a, b host.Host) error {
	return a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()})
}
