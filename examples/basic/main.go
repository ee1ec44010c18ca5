// Command basic wires peerscore into a GossipSub router: host, scorer, router, loop.
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/peerscore/peerscore"
)

func main() {
	ctx := context.Background()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	check(err)
	defer h.Close()

	params := &peerscore.Params{ // your topics go in Topics; see derive.Params and ethereum.Preset
		AppSpecificScore:  func(peer.ID) float64 { return 0 }, // your own opinion of a peer (P5)
		AppSpecificWeight: 1,                                  // without it P5 counts for nothing
		DecayInterval:     time.Second,
		DecayToZero:       0.01,
		RetainScore:       time.Hour,
	}
	thresholds := &peerscore.Thresholds{GossipThreshold: -10, PublishThreshold: -50, GraylistThreshold: -80}
	scorer, err := peerscore.New(params, peerscore.WithHost(h), peerscore.WithThresholds(thresholds))
	check(err)
	scorer.Start(ctx)
	defer scorer.Close()

	opts, err := scorer.GossipSubOptions()
	check(err)
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	check(err)
	_, err = ps.Join("/example/1")
	check(err)
	fmt.Println("scoring peers of", h.ID(), "- a stranger scores", scorer.Score("stranger"))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
