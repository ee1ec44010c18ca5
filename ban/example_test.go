package ban_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

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
	mon, err := ban.NewMonitor(h, scorer, g, ban.WithBanUntilForgotten(params.RetainScore))
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
