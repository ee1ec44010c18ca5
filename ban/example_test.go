package ban_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/ban"
)

// A node wires the gater into its host, then a monitor on top of its
// scorer; an operator can ban a peer by hand, and the host refuses to
// dial it.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The gater first: the host is built with it.
	g := ban.NewGater()
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.ConnectionGater(g))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	// The scorer, with thresholds, and a GossipSub router reading it.
	params := &peerscore.Params{
		Topics:            map[string]*peerscore.TopicParams{},
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 1,
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
	}
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -20, GraylistThreshold: -30}
	scorer, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
	if err != nil {
		log.Fatal(err)
	}
	opts, err := scorer.GossipSubOptions()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pubsub.NewGossipSub(ctx, h, opts...); err != nil {
		log.Fatal(err)
	}
	scorer.Start(ctx)
	defer scorer.Close()

	// The monitor on top: it bans connected peers whose score falls below
	// the GraylistThreshold (-30), for as long as the scorer remembers
	// them.
	mon, err := ban.NewMonitor(h, scorer, g, ban.WithBanForRetainScore(params.RetainScore))
	if err != nil {
		log.Fatal(err)
	}
	mon.Start(ctx)
	defer mon.Close()

	// An operator bans a peer by hand.
	p, err := peer.Decode("12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN")
	if err != nil {
		log.Fatal(err)
	}
	g.Ban(p, time.Date(2099, time.January, 1, 0, 0, 0, 0, time.UTC))

	until, banned := g.Banned(p)
	fmt.Println("banned:", banned, "until", until.Format(time.DateOnly))
	_, err = h.Network().DialPeer(ctx, p)
	fmt.Println("dial refused by the gater:", errors.Is(err, swarm.ErrGaterDisallowedConnection))
	table, err := json.Marshal(g.Bans())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(table))
	// Output:
	// banned: true until 2099-01-01
	// dial refused by the gater: true
	// [{"peer":"12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN","until":"2099-01-01T00:00:00Z"}]
}

// remote is a connection's two ends as a gater sees them.
type remote struct{ addr ma.Multiaddr }

func (r remote) LocalMultiaddr() ma.Multiaddr  { return ma.StringCast("/ip4/198.51.100.1/tcp/9000") }
func (r remote) RemoteMultiaddr() ma.Multiaddr { return r.addr }

// An operator bans an address and an IPv6 /64: the gater refuses
// connections from them, and dials to them, whatever the peer.
func ExampleGater_BanIP() {
	g := ban.NewGater()
	until := time.Date(2099, time.January, 1, 0, 0, 0, 0, time.UTC)
	if err := g.BanIP(netip.MustParseAddr("192.0.2.7"), until); err != nil {
		log.Fatal(err)
	}
	if err := g.BanSubnet(netip.MustParsePrefix("2001:db8:1:2::/64"), until); err != nil {
		log.Fatal(err)
	}

	for _, a := range []string{"/ip4/192.0.2.7/tcp/4001", "/ip4/192.0.2.8/tcp/4001", "/ip6/2001:db8:1:2::99/udp/4001/quic-v1"} {
		fmt.Printf("accept from %s: %v\n", a, g.InterceptAccept(remote{ma.StringCast(a)}))
	}
	table, err := json.Marshal(g.Bans())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(table))
	// Output:
	// accept from /ip4/192.0.2.7/tcp/4001: false
	// accept from /ip4/192.0.2.8/tcp/4001: true
	// accept from /ip6/2001:db8:1:2::99/udp/4001/quic-v1: false
	// [{"prefix":"192.0.2.7/32","until":"2099-01-01T00:00:00Z"},{"prefix":"2001:db8:1:2::/64","until":"2099-01-01T00:00:00Z"}]
}

// The ban table survives a restart: Save it on the way down, Load it into
// the new Gater on the way up (SaveFile and LoadFile do the same with a
// file, atomically).
func ExampleGater_Save() {
	until := time.Date(2099, time.January, 1, 0, 0, 0, 0, time.UTC)
	p, err := peer.Decode("12D3KooWJfKHZhqTTTL2vbX1vzm5AQ38WJGFXDT8syUrzCyUEQUN")
	if err != nil {
		log.Fatal(err)
	}
	before := ban.NewGater()
	before.Ban(p, until)
	if err := before.BanSubnet(netip.MustParsePrefix("198.51.100.0/24"), until); err != nil {
		log.Fatal(err)
	}
	var saved bytes.Buffer
	if err := before.Save(&saved); err != nil {
		log.Fatal(err)
	}

	after := ban.NewGater()
	if err := after.Load(&saved); err != nil {
		log.Fatal(err)
	}
	_, banned := after.Banned(p)
	_, subnetBanned := after.BannedIP(netip.MustParseAddr("198.51.100.42"))
	fmt.Println("peer banned after the restart:", banned)
	fmt.Println("198.51.100.42 banned after the restart:", subnetBanned)
	// Output:
	// peer banned after the restart: true
	// 198.51.100.42 banned after the restart: true
}
